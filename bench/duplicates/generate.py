"""Realistic messy duplicates: people drawn with realistic name and company collisions, and copies of some
of them spelled the ways people really mistype, abbreviate and re-enter contacts.

A copy always varies the name (typo, nickname, swapped order, case and spacing, an initial, transliteration)
and keeps at least one link a person checking by hand would use: the mailbox (often aliased: gmail dots,
+tags, the same local part at another provider), the company (with or without its legal suffix, by name or
by domain), or the phone number (in another country-code form). What a workspace can never hold twice, the
copy never repeats exactly: leadhub refuses a second owner of one normalized email or phone at the door.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field, replace


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony "
    "mark donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan "
    "jacob gary nicholas eric jonathan stephen larry justin scott brandon benjamin samuel gregory alexander "
    "patrick frank raymond jack dennis jerry tyler aaron jose adam nathan henry douglas zachary peter kyle "
    "mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty margaret sandra "
    "ashley kimberly emily donna michelle carol amanda dorothy melissa deborah stephanie rebecca sharon laura "
    "cynthia kathleen amy angela shirley anna brenda pamela emma nicole helen samantha katherine christine "
    "debra rachel carolyn janet catherine maria heather diane ruth julie olivia joyce virginia victoria kelly "
    "wei li priya rahul aisha fatima mohammed omar yuki hiro sofia lucas mateo chloe noah liam mia elena "
    "jurgen francois zoe ines bjorn soren anja lena nikolai olga ivan svetlana chidi ngozi kwame amara"
)
NICKNAMES = {
    "james": ["jim", "jimmy"], "john": ["jack", "johnny"], "robert": ["bob", "rob", "bobby"],
    "michael": ["mike", "mick"], "william": ["bill", "will", "billy"], "david": ["dave"], "richard": ["rick", "dick"],
    "joseph": ["joe", "joey"], "thomas": ["tom", "tommy"], "charles": ["charlie", "chuck"],
    "christopher": ["chris"], "daniel": ["dan", "danny"], "matthew": ["matt"], "anthony": ["tony"],
    "steven": ["steve"], "andrew": ["andy", "drew"], "kenneth": ["ken", "kenny"], "timothy": ["tim"],
    "edward": ["ed", "eddie", "ted"], "jeffrey": ["jeff"], "nicholas": ["nick"], "jonathan": ["jon"],
    "benjamin": ["ben"], "samuel": ["sam"], "gregory": ["greg"], "alexander": ["alex"], "patrick": ["pat"],
    "jacob": ["jake"], "zachary": ["zach"], "elizabeth": ["liz", "beth", "betsy"], "margaret": ["maggie", "peggy"],
    "jennifer": ["jen", "jenny"], "patricia": ["pat", "patty"], "susan": ["sue"], "kimberly": ["kim"],
    "rebecca": ["becky"], "katherine": ["kate", "kathy"], "catherine": ["cathy", "kate"], "deborah": ["debbie"],
    "stephanie": ["steph"], "samantha": ["sam"], "victoria": ["vicky"], "pamela": ["pam"], "christine": ["chris"],
}  # fmt: skip
LAST = _words(
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson "
    "anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis "
    "robinson walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall "
    "rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker cruz edwards collins reyes "
    "stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard "
    "ramos kim cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price "
    "alvarez castillo sanders patel myers long ross foster jimenez muller schmidt schneider fischer weber "
    "meyer wagner becker schulz hoffmann dubois durand lefebvre moreau rossi russo ferrari esposito bianchi "
    "kowalski nowak wisniewski ivanov petrov smirnov zhang wang chen liu yang huang zhao wu zhou xu sato "
    "suzuki takahashi tanaka okafor adeyemi mensah okonkwo haddad khalil nasser singh kumar sharma gupta "
    "garcia-lopez van-der-berg o'neil mcdonald macleod"
)
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark Industries",
    "Wayne Enterprises",
    "Wonka",
    "Cyberdyne",
    "Soylent",
    "Vandelay",
    "Prestige Worldwide",
    "Dunder Mifflin",
    "Pied Piper",
    "Massive Dynamic",
    "Aperture Science",
    "Black Mesa",
    "Tyrell",
    "Oscorp",
    "Gringotts",
    "Monarch Solutions",
    "Blue Sun",
    "Weyland Yutani",
    "Virtucon",
    "Nakatomi",
    "Gekko & Co",
    "Bluth Company",
    "Sterling Cooper",
    "Los Pollos Hermanos",
    "Krusty Krab",
    "Planet Express",
    "Ollivanders",
    "Rekall",
    "Spacely Sprockets",
    "Cogswell Cogs",
    "Northwind Traders",
    "Contoso",
    "Fabrikam",
    "Tailspin Toys",
    "Adventure Works",
    "Litware",
    "Proseware",
    "Wingtip Toys",
    "Coho Winery",
    "Alpine Ski House",
    "Blue Yonder Airlines",
    "Lucerne Publishing",
    "Margie's Travel",
    "Trey Research",
    "Fourth Coffee",
    "Humongous Insurance",
    "Woodgrove Bank",
    "Graphic Design Institute",
    "School of Fine Art",
    "Datum Corporation",
    "Bellows College",
    "Consolidated Messenger",
    "Southridge Video",
    "Wide World Importers",
    "Fischer Bau",
    "Muller Logistik",
    "Rossi Costruzioni",
    "Dubois Conseil",
    "Nowak Transport",
    "Tanaka Seiki",
    "Okafor Foods",
    "Haddad Trading",
    "Patel Pharma",
    "Zhang Electronics",
    "Lopez Abogados",
    "Kim Robotics",
    "Nguyen Textiles",
    "Adeyemi Energy",
]
SUFFIXES = ["Inc", "Inc.", "LLC", "Ltd", "GmbH", "Corp", "Corporation", "S.A.", "BV", "PLC", "Co."]
FREE = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "proton.me", "gmx.de", "aol.com"]
TRANSLIT = {"muller": "Müller", "jurgen": "Jürgen", "francois": "François", "bjorn": "Björn", "soren": "Søren",
            "ivanov": "Иванов", "petrov": "Петров", "ines": "Inés", "zoe": "Zoë", "dubois": "Dubois"}  # fmt: skip


@dataclass
class Record:
    """One contact as a door would send it; ``person`` says who it really is (the ground truth)."""

    key: int
    person: int
    first: str
    last: str
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    company: str | None = None
    website: str | None = None


_SYLLABLES = _words(
    "ba be bo ca da de do fa ga ha ka ke la le li lo ma me mi mo na ne ni no pa ra re ri ro sa se si so ta te to va "
    "ve vi wa za zo"
)
_ENDINGS = [
    "son",
    "sen",
    "ton",
    "man",
    "er",
    "ez",
    "ov",
    "ski",
    "ini",
    "elli",
    "ard",
    "ley",
    "well",
    "berg",
    "stein",
    "ford",
]
_WORDS = _words(
    "north south east west blue red green silver golden iron stone river lake harbor summit pioneer atlas "
    "vertex quantum nova apex orbit prime bright clear swift bold true first united general royal civic "
    "metro urban rural coastal alpine desert forest prairie valley canyon"
)
_TRADES = _words(
    "logistics systems labs software analytics foods energy health dental legal partners capital media "
    "studios consulting robotics pharma textiles motors builders designs outfitters markets ventures"
)


def _synthetic_surname(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 2))) + rng.choice(_ENDINGS)


def _synthetic_company(rng: random.Random) -> str:
    return f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS).title()} {rng.choice(_TRADES).title()}"


def _zipf_choice(rng: random.Random, items: list[str], s: float = 1.0) -> str:
    # Realistic collisions: a few names and companies are very common, most are rare.
    weights = [1 / (i + 1) ** s for i in range(len(items))]
    return rng.choices(items, weights)[0]


def _domain(company: str) -> str:
    """The company's web domain: its name without the legal suffix, squashed."""
    tokens = company.replace(",", "").split()
    while len(tokens) > 1 and tokens[-1] in SUFFIXES:
        tokens.pop()
    base = "".join(c for c in "".join(tokens).lower() if c.isalnum())
    return base + rng_tld(base)


def rng_tld(company: str) -> str:
    return [".com", ".io", ".de", ".co.uk", ".fr", ".net"][sum(map(ord, company)) % 6]


def _phone(rng: random.Random) -> str:
    country = rng.choice(["1", "1", "1", "44", "49", "33", "61"])
    digits = "".join(rng.choice(string.digits) for _ in range(9 if country != "1" else 7))
    area = str(rng.randint(201, 989)) if country == "1" else str(rng.randint(1, 9))
    return f"+{country}{area}{digits}"


def person(rng: random.Random, key: int, taken: set[str]) -> Record:
    # Real surname frequencies have a long tail: the common list for most, an invented rare name for the rest.
    first = _zipf_choice(rng, FIRST, 0.7)
    last = _zipf_choice(rng, LAST, 0.6) if rng.random() < 0.6 else _synthetic_surname(rng)
    record = Record(key=key, person=key, first=first.title(), last=last.title())
    if rng.random() < 0.75:
        # A few big named companies, then many small ones.
        record.company = _zipf_choice(rng, COMPANIES, 0.6) if rng.random() < 0.15 else _synthetic_company(rng)
        if rng.random() < 0.4:
            record.company += " " + rng.choice(SUFFIXES)
    local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}{last}", f"{first}", f"{first}_{last}"])
    local = local.replace("'", "")
    company_domain = _domain(record.company) if record.company else None
    if company_domain and rng.random() < 0.6:
        address = f"{local}@{company_domain}"
        n = 2
        while address in taken:  # a company gives its second Jane Smith another address
            address, n = f"{local}{n}@{company_domain}", n + 1
        record.emails.append(address)
        if rng.random() < 0.3:
            record.website = f"https://www.{company_domain}"
    elif rng.random() < 0.85:
        address = f"{local}{key}@{rng.choice(FREE)}"
        if address not in taken:
            record.emails.append(address)
    taken.update(record.emails)
    if rng.random() < 0.6:
        record.phones.append(_phone(rng))
    return record


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "double", "replace"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeiou") + word[i + 1 :]


def _alias(rng: random.Random, address: str) -> str:
    local, domain = address.split("@")
    if domain == "gmail.com" and rng.random() < 0.5:
        dotted = ".".join(local.replace(".", "")) if len(local) < 6 else local.replace(".", "", 1) or local
        return f"{dotted}@gmail.com" if dotted != local else f"{local}+crm@gmail.com"
    if rng.random() < 0.5:
        return f"{local}+{rng.choice(['news', 'work', 'crm', 'x'])}@{domain}"
    return f"{local}@{rng.choice([d for d in FREE if d != domain])}"


def messy_copy(rng: random.Random, original: Record, key: int, taken: set[str]) -> Record:
    """A second record of the same person, spelled differently."""
    copy = replace(original, key=key, emails=[], phones=[])
    first, last = original.first, original.last
    change = rng.choice(["typo_first", "typo_last", "nickname", "swap", "case", "initial", "translit", "none"])
    if change == "typo_first":
        first = _typo(rng, first)
    elif change == "typo_last":
        last = _typo(rng, last)
    elif change == "nickname" and first.lower() in NICKNAMES:
        first = rng.choice(NICKNAMES[first.lower()]).title()
    elif change == "swap":
        first, last = last, first
    elif change == "case":
        first, last = f"  {first.upper()}", f"{last.lower()} "
    elif change == "initial":
        first = first[0] + "."
    elif change == "translit":
        first = TRANSLIT.get(first.lower(), first)
        last = TRANSLIT.get(last.lower(), last)
    copy.first, copy.last = first, last
    anchors = []
    if original.emails:
        anchors.append("email")
    if original.company:
        anchors.append("company")
    if original.phones:
        anchors.append("phone")
    if not anchors:  # nothing a person could check by hand: not a recognisable duplicate
        original.emails.append(f"{original.first.lower()}.{original.last.lower()}@gmail.com")
        anchors.append("email")
    keep = set(rng.sample(anchors, k=rng.randint(1, len(anchors))))
    if "email" in keep:
        alias = _alias(rng, original.emails[0])
        if alias in taken:  # never someone else's address: fall back to a tagged alias of the same mailbox
            local, domain = original.emails[0].split("@")
            alias = f"{local}+{key}@{domain}"
        copy.emails = [alias]
        taken.add(alias)
    if "company" in keep:
        name = original.company or ""
        base = name.rsplit(" ", 1)[0] if name.rsplit(" ", 1)[-1] in SUFFIXES else name
        copy.company = rng.choice([base, base.upper(), f"{base}, {rng.choice(SUFFIXES)}", name, base.lower()])
        if rng.random() < 0.2:
            copy.company, copy.website = None, _domain(name)
    else:
        copy.company, copy.website = None, None
    if "phone" in keep:
        number = original.phones[0]
        # The same subscriber number under another country code: entered in the wrong region.
        copy.phones = ["+1" + number[-10:] if not number.startswith("+1") else "+44" + number[2:]]
    return copy


def dataset(people: int, duplicate_rate: float = 0.3, seed: int = 8) -> list[Record]:
    """``people`` distinct people, about ``duplicate_rate`` of whom also appear once or twice more."""
    rng = random.Random(seed)
    taken: set[str] = set()
    records = [person(rng, i, taken) for i in range(people)]
    key = people
    for original in list(records):
        if rng.random() < duplicate_rate:
            for _ in range(1 if rng.random() < 0.8 else 2):
                records.append(messy_copy(rng, original, key, taken))
                key += 1
    rng.shuffle(records)
    return records
