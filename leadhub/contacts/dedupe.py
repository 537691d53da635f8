"""Is this the same person? Blocking keys (so only plausible pairs are ever compared) and a field-by-field
comparison that explains itself.

Pure functions over a ``Profile`` (the comparable parts of a contact, normalized once). The comparison
adds evidence points per field (positive: agreement, negative: disagreement) and maps their sum to a 0..1
score with a logistic curve; every point comes with a reason naming the field and the rule that fired.
The weights were tuned on bench/duplicates (see bench/duplicates/RESULTS.md and docs/duplicates.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import jellyfish
from anyascii import anyascii
from nameparser import HumanName
from nicknames import NickNamer
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.fuzz import token_set_ratio

# Mailboxes that ignore dots in the local part (besides everyone's plus-tags).
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
# Webmail providers: their domain says nothing about a person's company.
FREE_EMAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "ymail.com",
        "hotmail.com", "hotmail.co.uk", "hotmail.fr", "outlook.com", "live.com", "msn.com", "aol.com",
        "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "gmx.net",
        "web.de", "yandex.ru", "yandex.com", "mail.ru", "qq.com", "163.com", "126.com", "zoho.com",
        "fastmail.com", "hey.com", "tutanota.com", "comcast.net", "verizon.net", "att.net", "orange.fr",
        "free.fr", "laposte.net", "libero.it", "t-online.de", "btinternet.com", "naver.com", "rediffmail.com",
    }
)  # fmt: skip
# Shared mailboxes: the same "info@" at two companies is no evidence of one person.
ROLE_LOCAL_PARTS = frozenset(
    {
        "info", "sales", "contact", "admin", "office", "hello", "support", "team", "marketing", "billing",
        "noreply", "mail", "enquiries", "inquiries", "hr", "jobs", "careers", "press", "help", "service",
        "webmaster", "accounts", "orders", "hi", "test", "user", "post",
    }
)  # fmt: skip
# Legal forms dropped from company names: "ACME, Inc." and "Acme" are one company.
_LEGAL_SUFFIXES = frozenset(
    {
        "inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "corp", "corporation", "co", "company",
        "gmbh", "ag", "kg", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "plc", "pty", "pte", "oy", "ab",
        "as", "aps", "kk", "sl", "sro", "sp", "zoo", "pvt", "lda", "ltda", "se", "ohg", "ug",
    }
)  # fmt: skip
_GENERATIONAL = {"jr": "jr", "junior": "jr", "sr": "sr", "senior": "sr", "ii": "ii", "iii": "iii", "iv": "iv"}
_NON_LETTERS = re.compile(r"[^a-z ]+")
_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")
_LOCAL_SEPARATORS = re.compile(r"[._\-]+")
_DIGITS = re.compile(r"\d+")

# Evidence points (see the module docstring). Positive agrees, negative disagrees.
W_SAME_MAILBOX = 7.0
W_SAME_LOCAL_PART = 3.0
# The same local part when it is only the person's name spelled out (john.smith@…): namesakes share it too.
W_SAME_NAME_LOCAL_PART = 1.0
W_SIMILAR_LOCAL_PART = 1.5
W_EMAILS_DIFFER = -0.5
# jsmith@acme.com and jsmith2@acme.com: the company itself told two namesakes apart.
W_NUMBERED_NAMESAKE = -3.0
W_SAME_NUMBER = 7.0
W_PHONES_DIFFER = -1.0
W_FIRST_SAME = 2.0
W_FIRST_NICKNAME = 2.0
W_FIRST_SHARED_FORMAL = 1.0
W_FIRST_TYPO = 1.5
W_FIRST_INITIAL = 1.5
W_FIRST_SIMILAR = 0.0
W_FIRST_DIFFER = -4.0
W_LAST_SAME = 2.5
W_LAST_TYPO = 2.0
W_LAST_PART = 1.0
W_LAST_DIFFER = -5.0
W_SWAPPED_ORDER = 0.0
W_MIDDLE_DIFFER = -2.0
W_GENERATION_DIFFER = -5.0
W_COMPANY_SAME = 2.0
W_COMPANY_SIMILAR = 1.5
W_COMPANY_DIFFER = -1.5
W_DOMAIN_SAME = 2.0
# A company name agreeing with a domain already shared is the same evidence told twice.
W_COMPANY_ALSO_SAME = 0.5
W_DOB_SAME = 1.5
W_DOB_DIFFER = -6.0
W_COUNTRY_DIFFER = -1.0
# Names few contacts of the workspace share say more than names many share (term-frequency weighting).
W_RARE_NAME = 1.0
RARE_NAME_AT_MOST = 3
# Where the logistic curve crosses 0.5, in points.
MIDPOINT = 4.6
TYPO_SIMILARITY = 0.9
SIMILAR_FIRST_NAME = 0.8


@dataclass(frozen=True)
class EmailParts:
    address: str
    canonical: str  # the mailbox as the provider delivers it (plus-tag dropped, gmail dots dropped)
    local_key: str  # local part without tag and separators, for matching across domains
    domain: str


@dataclass
class Profile:
    """The comparable parts of one contact, normalized."""

    id: str
    first: str = ""
    middle: str = ""
    last: str = ""
    generation: str = ""
    emails: list[EmailParts] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)  # digits only, E.164 without "+"
    company: str = ""
    domains: set[str] = field(default_factory=set)
    date_of_birth: date | None = None
    country: str = ""


@dataclass(frozen=True)
class Reason:
    """One field's contribution to a score."""

    field: str
    rule: str
    detail: str
    points: float

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "rule": self.rule, "detail": self.detail, "points": self.points}


@dataclass
class Comparison:
    score: float
    points: float
    reasons: list[Reason]


# ---------------------------------------------------------------- normalizing


def plain(text: str | None) -> str:
    """Lower-case ASCII letters and single spaces: transliterated (Jürgen → jurgen, Мюллер → myuller)."""
    if not text:
        return ""
    return " ".join(_NON_LETTERS.sub(" ", anyascii(text).lower()).split())


def company_key(name: str | None) -> str:
    """A company name without case, punctuation, a leading "the" and trailing legal forms."""
    if not name:
        return ""
    tokens = _NON_ALNUM.sub(" ", anyascii(name).lower().replace("&", " and ").replace(".", "")).split()
    if tokens and tokens[0] == "the":
        tokens = tokens[1:]
    while len(tokens) > 1 and tokens[-1] in _LEGAL_SUFFIXES:
        tokens.pop()
    return " ".join(tokens)


def email_parts(address: str) -> EmailParts:
    local, _, domain = address.lower().rpartition("@")
    local = local.split("+", 1)[0]
    dotless = _DOTLESS_DOMAINS.get(domain)
    if dotless:
        domain, local = dotless, local.replace(".", "")
    return EmailParts(address, f"{local}@{domain}", _LOCAL_SEPARATORS.sub("", local), domain)


def website_domain(url: str | None) -> str:
    if not url:
        return ""
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    return host.removeprefix("www.")


@cache
def _nicknamer() -> NickNamer:
    return NickNamer()


def first_name_forms(first: str) -> set[str]:
    """The name and the formal names it may be short for (Bill → william, robert …)."""
    if len(first) < 2:
        return set()
    return {first} | {plain(c) for c in _nicknamer().canonicals_of(first)}


def _nickname_of(a: str, b: str) -> bool:
    nicknames = _nicknamer()
    return b in nicknames.nicknames_of(a) or a in nicknames.nicknames_of(b)


def _related_forms(first: str) -> set[str]:
    """The name, its formal names and its nicknames: Katie and Katherine meet at "katy"."""
    return first_name_forms(first) | {plain(n) for n in _nicknamer().nicknames_of(first)}


def may_name_a_generation(name: str | None) -> bool:
    """Whether the name parse (~300 µs, only to find a generational suffix such as "Jr") can find one: the
    parsed suffix is made of the name's own whitespace/comma-separated pieces, so its letter runs are among
    the name's; with none of them generational the parse finds nothing."""
    return bool(name) and any(token in _GENERATIONAL for token in plain(name).split())


def profile(
    id: str,
    *,
    first_name: str | None,
    middle_name: str | None,
    last_name: str | None,
    name: str | None,
    emails: Iterable[str],
    phones: Iterable[str],
    company_name: str | None = None,
    website: str | None = None,
    date_of_birth: date | None = None,
    country: str | None = None,
) -> Profile:
    """A profile from a contact's stored values (emails normalized, phones in E.164)."""
    first, middle, last = plain(first_name), plain(middle_name), plain(last_name)
    generation = ""
    if name and may_name_a_generation(name):
        parsed = HumanName(name)
        generation = next((_GENERATIONAL[s] for s in plain(parsed.suffix).split() if s in _GENERATIONAL), "")
    if first and not last and " " in first:  # a whole name typed into the first-name box
        parsed = HumanName(first)
        first, middle, last = plain(parsed.first), plain(parsed.middle), plain(parsed.last)
    email_list = [email_parts(e) for e in emails]
    domains = {e.domain for e in email_list if e.domain not in FREE_EMAIL_DOMAINS}
    site = website_domain(website)
    if site and site not in FREE_EMAIL_DOMAINS:
        domains.add(site)
    return Profile(
        id=id,
        first=first,
        middle=middle,
        last=last,
        generation=generation,
        emails=email_list,
        phones=[p.lstrip("+") for p in phones],
        company=company_key(company_name),
        domains=domains,
        date_of_birth=date_of_birth,
        country=(country or "").upper(),
    )


# ---------------------------------------------------------------- blocking


def _sound(text: str) -> str:
    return jellyfish.metaphone(text.replace(" ", "")) if text else ""


def blocking_keys(p: Profile) -> set[str]:
    """Keys under which this contact is filed; only contacts sharing one are ever compared."""
    keys: set[str] = set()
    for e in p.emails:
        keys.add(f"e:{e.canonical}")
        if len(e.local_key) >= 4 and e.local_key not in ROLE_LOCAL_PARTS:
            keys.add(f"l:{e.local_key}")
    for digits in p.phones:
        if len(digits) >= 7:
            keys.add(f"p:{digits[-9:]}")
    # A compound surname may have been parsed as middle + last: file under both readings.
    last_sounds = {_sound(p.last), _sound(f"{p.middle}{p.last}") if p.middle and p.last else ""} - {""}
    for last_sound in last_sounds:
        for domain in p.domains:
            keys.add(f"d:{domain}:{last_sound}")
        # A company is filed by its squashed name and by its domains' names, so "Clear River Pharma" and
        # clearriverpharma.com meet.
        for label in {p.company.replace(" ", ""), *(d.split(".")[0] for d in p.domains)} - {""}:
            keys.add(f"c:{label}:{last_sound}")
        for form in sorted(first_name_forms(p.first))[:6]:
            first_sound = _sound(form)
            if first_sound:
                # Sorted, so "Smith John" files under the same key as "John Smith".
                keys.add("n:" + ":".join(sorted((first_sound, last_sound))))
    return {k[:200] for k in keys}


# ---------------------------------------------------------------- comparing


def _similar(a: str, b: str) -> float:
    return float(JaroWinkler.similarity(a, b))


def _first_names(a: str, b: str) -> Reason | None:
    if not a or not b:
        return None
    if a == b:
        return Reason("first_name", "same", a, W_FIRST_SAME)
    if len(a) == 1 or len(b) == 1:
        if a[0] == b[0]:
            return Reason("first_name", "initial", f"{a} ~ {b}", W_FIRST_INITIAL)
        return Reason("first_name", "different", f"{a} ≠ {b}", W_FIRST_DIFFER)
    if _nickname_of(a, b):
        return Reason("first_name", "nickname", f"{a} ~ {b}", W_FIRST_NICKNAME)
    if _similar(a, b) >= TYPO_SIMILARITY or (len(a) >= 4 and jellyfish.damerau_levenshtein_distance(a, b) <= 1):
        return Reason("first_name", "typo", f"{a} ~ {b}", W_FIRST_TYPO)
    if _related_forms(a) & _related_forms(b):
        return Reason("first_name", "related_names", f"{a} ~ {b}", W_FIRST_SHARED_FORMAL)
    if _similar(a, b) >= SIMILAR_FIRST_NAME:
        return Reason("first_name", "similar", f"{a} ~ {b}", W_FIRST_SIMILAR)
    return Reason("first_name", "different", f"{a} ≠ {b}", W_FIRST_DIFFER)


def _last_names(a: str, b: str) -> Reason | None:
    if not a or not b:
        return None
    squashed_a, squashed_b = a.replace(" ", ""), b.replace(" ", "")
    if squashed_a == squashed_b:
        return Reason("last_name", "same", a, W_LAST_SAME)
    if _similar(squashed_a, squashed_b) >= TYPO_SIMILARITY or (
        len(squashed_a) >= 5 and jellyfish.damerau_levenshtein_distance(squashed_a, squashed_b) <= 1
    ):
        return Reason("last_name", "typo", f"{a} ~ {b}", W_LAST_TYPO)
    if set(a.split()) & set(b.split()):  # "garcia" and "garcia lopez"
        return Reason("last_name", "shares_a_part", f"{a} ~ {b}", W_LAST_PART)
    return Reason("last_name", "different", f"{a} ≠ {b}", W_LAST_DIFFER)


def _name_reasons(a: Profile, b: Profile) -> list[Reason]:
    # A compound surname may have been parsed as middle + last ("Ana Garcia Lopez" vs "Ana Garcia-Lopez").
    lasts = [
        _last_names(x, y)
        for x, y in (
            (a.last, b.last),
            (f"{a.middle} {a.last}".strip(), b.last),
            (a.last, f"{b.middle} {b.last}".strip()),
        )
    ]
    last = max((r for r in lasts if r), key=lambda r: r.points, default=None)
    straight = [r for r in (_first_names(a.first, b.first), last) if r]
    swapped = [r for r in (_first_names(a.first, b.last), _last_names(a.last, b.first)) if r]
    if (
        len(swapped) == 2
        and sum(r.points for r in swapped) > sum(r.points for r in straight)
        and all(r.points > 0 for r in swapped)
    ):
        detail = f"{a.first} {a.last} ~ {b.first} {b.last}"
        return [*swapped, Reason("name", "swapped_order", detail, W_SWAPPED_ORDER)]
    reasons = straight
    if a.middle and b.middle and a.middle[0] != b.middle[0]:
        reasons.append(Reason("middle_name", "different", f"{a.middle} ≠ {b.middle}", W_MIDDLE_DIFFER))
    if a.generation and b.generation and a.generation != b.generation:
        reasons.append(Reason("name", "generation_differs", f"{a.generation} ≠ {b.generation}", W_GENERATION_DIFFER))
    return reasons


def _name_handles(p: Profile) -> set[str]:
    """Local parts anyone of this name might have: johnsmith, jsmith, john, smithjohn, johns."""
    first, last = p.first.replace(" ", ""), p.last.replace(" ", "")
    if not first or not last:
        return set()
    return {first + last, first[0] + last, first, last + first, first + last[0], last, last + first[0]}


def _email_reason(a: Profile, b: Profile) -> Reason | None:
    if not a.emails or not b.emails:
        return None
    best: Reason | None = None
    for x in a.emails:
        for y in b.emails:
            if x.canonical == y.canonical:
                why = "one mailbox" + (" (gmail ignores dots and +tags)" if x.domain == "gmail.com" else " (+tag)")
                return Reason("email", "same_mailbox", f"{x.address} ~ {y.address}: {why}", W_SAME_MAILBOX)
            distinctive = len(x.local_key) >= 4 and x.local_key not in ROLE_LOCAL_PARTS
            if distinctive and x.local_key == y.local_key:
                if x.local_key in _name_handles(a) | _name_handles(b):
                    rule, points = "same_name_local_part", W_SAME_NAME_LOCAL_PART
                else:
                    rule, points = "same_local_part", W_SAME_LOCAL_PART
                candidate = Reason("email", rule, f"{x.address} ~ {y.address}", points)
            elif (
                distinctive
                and x.domain == y.domain
                and len(x.local_key) >= 6
                and _similar(x.local_key, y.local_key) >= 0.93
                and _DIGITS.sub("", x.local_key) != _DIGITS.sub("", y.local_key)  # jsmith71 vs jsmith72: two people
            ):
                candidate = Reason("email", "similar_local_part", f"{x.address} ~ {y.address}", W_SIMILAR_LOCAL_PART)
            elif (
                x.domain == y.domain
                and x.domain not in FREE_EMAIL_DOMAINS
                and _DIGITS.sub("", x.local_key) == _DIGITS.sub("", y.local_key)
            ):
                candidate = Reason("email", "numbered_namesake", f"{x.address} ≠ {y.address}", W_NUMBERED_NAMESAKE)
            else:
                continue
            if best is None or abs(candidate.points) > abs(best.points):
                best = candidate
    if best is None and not {x.domain for x in a.emails} & {y.domain for y in b.emails}:
        # Two addresses at one company are common; at unrelated domains they weigh against.
        best = Reason("email", "different", "no address in common", W_EMAILS_DIFFER)
    return best


def _phone_reason(a: Profile, b: Profile) -> Reason | None:
    if not a.phones or not b.phones:
        return None
    for x in a.phones:
        for y in b.phones:
            if len(x) >= 7 and len(y) >= 7 and x[-9:] == y[-9:]:
                rule = "same_number" if x == y else "same_national_number"
                return Reason("phone", rule, f"+{x} ~ +{y}", W_SAME_NUMBER)
    return Reason("phone", "different", "no number in common", W_PHONES_DIFFER)


def _company_reasons(a: Profile, b: Profile) -> list[Reason]:
    reasons = []
    shared = a.domains & b.domains
    if shared:
        reasons.append(Reason("company_domain", "same", min(shared), W_DOMAIN_SAME))
    if a.company and b.company:
        short, long = sorted((a.company.split(), b.company.split()), key=len)
        if a.company.replace(" ", "") == b.company.replace(" ", ""):
            points = W_COMPANY_ALSO_SAME if shared else W_COMPANY_SAME
            reasons.append(Reason("company_name", "same", f"{a.company} ~ {b.company}", points))
        elif (long[: len(short)] == short and len("".join(short)) >= 4) or token_set_ratio(a.company, b.company) >= 90:
            # "Rossi" for "Rossi Costruzioni", or a misspelling.
            points = W_COMPANY_ALSO_SAME if shared else W_COMPANY_SIMILAR
            reasons.append(Reason("company_name", "similar", f"{a.company} ~ {b.company}", points))
        elif not shared:
            reasons.append(Reason("company_name", "different", f"{a.company} ≠ {b.company}", W_COMPANY_DIFFER))
    elif not shared:
        # A company named like the other's domain ("ACME" and jsmith@acme.com, "Adventure Works" and adventure.com).
        for company, domains in ((a.company, b.domains), (b.company, a.domains)):
            labels = {
                company.replace(" ", ""),
                *(company.split()[:1] if len(company.split()[0] if company else "") >= 4 else []),
            }
            match = next((d for d in sorted(domains) if company and d.split(".")[0] in labels), None)
            if match:
                reasons.append(Reason("company_name", "matches_domain", f"{company} ~ {match}", W_COMPANY_SAME))
                break
    return reasons


def compare(a: Profile, b: Profile, namesakes: int | None = None) -> Comparison:
    """Score in 0..1 that ``a`` and ``b`` are one person, with the reasons field by field. ``namesakes``: how
    many contacts of the workspace are filed under the name key the two share (None: unknown)."""
    reasons: list[Reason] = [*_name_reasons(a, b)]
    names_agree = sum(1 for r in reasons if r.field in ("first_name", "last_name") and r.points > 0) == 2
    if names_agree and namesakes is not None and namesakes <= RARE_NAME_AT_MOST:
        reasons.append(Reason("name", "rare_in_workspace", f"{namesakes} contacts share this name", W_RARE_NAME))
    for reason in (_email_reason(a, b), _phone_reason(a, b)):
        if reason:
            reasons.append(reason)
    reasons.extend(_company_reasons(a, b))
    if a.date_of_birth and b.date_of_birth:
        if a.date_of_birth == b.date_of_birth:
            reasons.append(Reason("date_of_birth", "same", a.date_of_birth.isoformat(), W_DOB_SAME))
        else:
            reasons.append(Reason("date_of_birth", "different", "", W_DOB_DIFFER))
    if a.country and b.country and a.country != b.country:
        reasons.append(Reason("country", "different", f"{a.country} ≠ {b.country}", W_COUNTRY_DIFFER))
    points = round(sum(r.points for r in reasons), 3)
    return Comparison(score=round(1 / (1 + math.exp(MIDPOINT - points)), 4), points=points, reasons=reasons)


def name_keys(keys: set[str]) -> set[str]:
    """The name keys among a contact's blocking keys (their block sizes count namesakes)."""
    return {k for k in keys if k.startswith("n:")}


def ordered_pair(x: Any, y: Any) -> tuple[Any, Any]:
    return (x, y) if x < y else (y, x)


def reasons_json(reasons: Sequence[Reason]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in reasons]
