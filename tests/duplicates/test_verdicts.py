"""The detector's verdict on a hand-written table of true and false pairs, at the default threshold.

Each side is a contact as leadhub stores it (emails normalized, phones in E.164); the verdict is whether
the pair scores at or above the default threshold."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from leadhub.contacts import dedupe
from leadhub.contacts.dedupe_models import DEFAULT_THRESHOLD
from leadhub.contacts.names import split_name


def person(
    name: str = "",
    *,
    emails: tuple[str, ...] = (),
    phones: tuple[str, ...] = (),
    company: str | None = None,
    website: str | None = None,
    dob: date | None = None,
    country: str | None = None,
    first: str | None = None,
    last: str | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "emails": emails,
        "phones": phones,
        "company": company,
        "website": website,
        "dob": dob,
        "country": country,
        "first": first,
        "last": last,
    }


def as_profile(key: str, p: dict[str, Any]) -> dedupe.Profile:
    """As the service stores it: a name alone is split into parts with the same name parser."""
    first, middle, last = split_name(p["name"]) if p["name"] else (None, None, None)
    if p["first"] is not None or p["last"] is not None:
        first, last = p["first"], p["last"]
    return dedupe.profile(
        key,
        first_name=first,
        middle_name=middle,
        last_name=last,
        name=p["name"] or None,
        emails=p["emails"],
        phones=p["phones"],
        company_name=p["company"],
        website=p["website"],
        date_of_birth=p["dob"],
        country=p["country"],
    )


SAME = [
    # The issue's own example: nickname, company suffix and case; one has an email, the other a phone.
    (
        "nickname and company suffix",
        person("Jon Smith", emails=("jsmith@acme.com",), company="Acme Inc"),
        person("Jonathan Smith", phones=("+14155550100",), company="ACME"),
    ),
    (
        "gmail dots",
        person("Maria Garcia", emails=("maria.garcia@gmail.com",)),
        person("Maria Garcia", emails=("mariagarcia@gmail.com",)),
    ),
    (
        "plus tag",
        person("Wei Zhang", emails=("wei.zhang+crm@example.org",)),
        person("Wei Zhang", emails=("wei.zhang@example.org",)),
    ),
    (
        "googlemail is gmail",
        person("Tom Baker", emails=("tom.baker@googlemail.com",)),
        person("Thomas Baker", emails=("tombaker@gmail.com",)),
    ),
    (
        "swapped name order",
        person("Smith John", first="Smith", last="John", emails=("john.smith@gmail.com",)),
        person("John Smith", emails=("johnsmith@gmail.com",)),
    ),
    (
        "swapped order, same company",
        person(first="Okafor", last="Chidi", company="Globex Corporation"),
        person("Chidi Okafor", company="Globex", emails=("chidi@globex.com",)),
    ),
    (
        "typo in surname, same phone",
        person("Katherine Johnson", phones=("+14155550123",)),
        person("Katherine Jonson", phones=("+14155550123",), emails=("kj@nasa.gov",)),
    ),
    (
        "typo in first name, same company domain",
        person("Jonathon Miller", emails=("jmiller@initech.com",)),
        person("Jonathan Miller", website="https://www.initech.com", company="Initech LLC"),
    ),
    (
        "nickname Bill/William, same company",
        person("Bill Turner", company="Turner & Sons Ltd"),
        person("William Turner", company="Turner and Sons"),
    ),
    (
        "initial and same number",
        person("J Smith", phones=("+442079460958",)),
        person("James Smith", phones=("+442079460958",), emails=("james@smith.co.uk",)),
    ),
    ("transliteration", person("Jürgen Müller", company="Müller GmbH"), person("Jurgen Muller", company="Muller")),
    ("case and spacing", person("  ANNA   KOWALSKA ", company="ACME, INC."), person("anna kowalska", company="acme")),
    (
        "phone with another country code",
        person("Priya Patel", phones=("+919876543210",)),
        person("Priya Patel", phones=("+19876543210",)),
    ),
    (
        "same name, same company website",
        person("Lena Fischer", website="fischer-bau.de"),
        person("Lena Fischer", emails=("l.fischer@fischer-bau.de",)),
    ),
    (
        "company named like the domain",
        person("Omar Haddad", company="Stark"),
        person("Omar Haddad", emails=("omar@stark.io",)),
    ),
    (
        "hyphenated surname vs spaced",
        person("Ana Garcia-Lopez", emails=("ana@garcialopez.es",)),
        person("Ana Garcia Lopez", emails=("ana@garcialopez.es".replace("ana@", "ana.g@"),), company="Garcia Lopez SL"),
    ),
    (
        "same mailbox, one has a middle name",
        person("Mary Ann Jones", emails=("maryann.jones@gmail.com",)),
        person("Mary Jones", emails=("mary.ann.jones@gmail.com",)),
    ),
    (
        "same number, same name, different emails",
        person("Chen Li", phones=("+8613800138000",), emails=("chen@a.cn",)),
        person("Chen Li", phones=("+8613800138000",), emails=("lichen@b.cn",)),
    ),
    (
        "Katie/Katherine and same mailbox",
        person("Katie Brown", emails=("k.brown+news@gmail.com",)),
        person("Katherine Brown", emails=("kbrown@gmail.com",)),
    ),
    (
        "Mike/Michael, same domain and company",
        person("Mike O'Neil", emails=("mike@hooli.com",), company="Hooli"),
        person("Michael ONeil", emails=("moneil@hooli.com",), company="Hooli Inc."),
    ),
    (
        "same dob and name",
        person("Sara Ali", dob=date(1990, 4, 2), company="Umbrella"),
        person("Sarah Ali", dob=date(1990, 4, 2), company="Umbrella Corp"),
    ),
]

# The same name-shaped mailbox handle at two domains (john.smith@acme.com, john.smith@gmail.com): telling
# when few contacts of the workspace bear the name, not when many namesakes could own such a handle.
SAME_WHEN_RARE = [
    (
        "nickname Bob/Robert, same email local part",
        person("Bob Lee", emails=("boblee@yahoo.com",)),
        person("Robert Lee", emails=("boblee@outlook.com",)),
    ),
    (
        "cyrillic surname",
        person("Ivan Petrov", emails=("ivan.petrov@mail.ru",)),
        person("Иван Петров", emails=("ivanpetrov@yandex.ru",)),
    ),
    (
        "email local part across domains",
        person("Sofia Rossi", emails=("sofia.rossi@libero.it",)),
        person("Sofia Rossi", emails=("sofia.rossi@acme.it",)),
    ),
]

DIFFERENT = [
    (
        "same surname and company, other first name",
        person("John Smith", company="Acme"),
        person("Jane Smith", company="Acme Inc"),
    ),
    (
        "same common name, different companies",
        person("John Smith", company="Acme"),
        person("John Smith", company="Globex"),
    ),
    ("same common name, nothing else", person("John Smith"), person("John Smith")),
    (
        "same name, different phones, different emails",
        person("David Kim", phones=("+14155550001",), emails=("dkim@a.com",)),
        person("David Kim", phones=("+12125550002",), emails=("david.kim@b.com",)),
    ),
    (
        "father and son",
        person("Robert Brown Jr.", company="Brown Plumbing"),
        person("Robert Brown Sr.", company="Brown Plumbing"),
    ),
    (
        "same role mailbox at two companies",
        person("Alice Martin", emails=("info@alpha.com",)),
        person("Bob Martin", emails=("info@beta.com",)),
    ),
    (
        "same first name and company, other surname",
        person("Emma Wilson", company="Initech"),
        person("Emma Watson", company="Initech"),
    ),
    (
        "shared family gmail with other names",
        person("Peter Novak", emails=("novak.family@gmail.com",)),
        person("Jana Kral", emails=("novakfamily@gmail.com",)),
    ),
    (
        "same name, different birth dates",
        person("Maria Garcia", dob=date(1980, 1, 1), company="Acme"),
        person("Maria Garcia", dob=date(1992, 7, 9), company="Acme"),
    ),
    (
        "siblings on one phone",
        person("Ali Hassan", phones=("+971501234567",)),
        person("Fatima Hassan", phones=("+971501234567",)),
    ),
    (
        "colleagues, same domain, different people",
        person("Tom Lee", emails=("tom@acme.com",)),
        person("Ann Park", emails=("ann@acme.com",)),
    ),
    (
        "similar names, nothing shared",
        person("Jon Smyth", emails=("jon@smyth.io",)),
        person("John Smith", emails=("john@smith.dev",)),
    ),
    ("only emails, different people", person(emails=("a.b@example.com",)), person(emails=("c.d@example.com",))),
    (
        "same surname at a free provider",
        person("Ken Adams", emails=("kadams@gmail.com",)),
        person("Kim Adams", emails=("kimadams@gmail.com",)),
    ),
    (
        "same local part, different names",
        person("Jane Doe", emails=("jdoe@alpha.com",)),
        person("John Doe", emails=("jdoe@beta.com",)),
    ),
    (
        "same name, different countries and companies",
        person("Luis Fernandez", country="ES", company="Iberia"),
        person("Luis Fernandez", country="MX", company="Aeromexico"),
    ),
    ("nickname but different surnames", person("Bill Gates", company="Acme"), person("William Gaines", company="Acme")),
    (
        "same company, different everything",
        person("Olga Ivanova", company="Acme"),
        person("Pedro Silva", company="Acme"),
    ),
    (
        "one letter apart first names, common surname",
        person("Dan Brown", company="Acme"),
        person("Jan Brown", company="Globex"),
    ),
    ("middle names differ", person("Mary Ann Jones", company="Acme"), person("Mary Beth Jones", company="Acme Co")),
    ("unrelated", person("Hiro Tanaka", emails=("hiro@tanaka.jp",)), person("Noah Berg", emails=("noah@berg.se",))),
    (
        "same phone suffix too short to trust",
        person("Eve Stone", phones=("+1555012",)),
        person("Eve Stein", phones=("+44555012",)),
    ),
]


@pytest.mark.parametrize(("label", "a", "b"), SAME, ids=[s[0] for s in SAME])
def test_the_same_person_under_different_spellings_is_a_duplicate(
    label: str, a: dict[str, Any], b: dict[str, Any]
) -> None:
    result = dedupe.compare(as_profile("a", a), as_profile("b", b))
    assert result.score >= DEFAULT_THRESHOLD, (label, result.points, result.reasons)
    assert dedupe.blocking_keys(as_profile("a", a)) & dedupe.blocking_keys(as_profile("b", b)), "never compared"
    # Symmetric: the order of the pair does not change the score.
    assert dedupe.compare(as_profile("b", b), as_profile("a", a)).score == result.score


@pytest.mark.parametrize(("label", "a", "b"), DIFFERENT, ids=[s[0] for s in DIFFERENT])
def test_different_people_are_not_duplicates(label: str, a: dict[str, Any], b: dict[str, Any]) -> None:
    result = dedupe.compare(as_profile("a", a), as_profile("b", b))
    assert result.score < DEFAULT_THRESHOLD, (label, result.points, result.reasons)


@pytest.mark.parametrize(("label", "a", "b"), SAME_WHEN_RARE, ids=[s[0] for s in SAME_WHEN_RARE])
def test_a_shared_name_handle_counts_only_for_names_rare_in_the_workspace(
    label: str, a: dict[str, Any], b: dict[str, Any]
) -> None:
    rare = dedupe.compare(as_profile("a", a), as_profile("b", b), namesakes=2)
    common = dedupe.compare(as_profile("a", a), as_profile("b", b), namesakes=60)
    assert rare.score >= DEFAULT_THRESHOLD, (label, rare.points, rare.reasons)
    assert ("name", "rare_in_workspace") in {(r.field, r.rule) for r in rare.reasons}
    assert common.score < DEFAULT_THRESHOLD, (label, common.points, common.reasons)


def test_the_table_holds_at_least_40_pairs() -> None:
    assert len(SAME) + len(SAME_WHEN_RARE) + len(DIFFERENT) >= 40


def test_every_reason_names_a_field_and_a_rule() -> None:
    a, b = SAME[0][1], SAME[0][2]
    reasons = dedupe.compare(as_profile("a", a), as_profile("b", b)).reasons
    assert {(r.field, r.rule) for r in reasons} == {
        ("first_name", "nickname"),
        ("last_name", "same"),
        ("company_name", "same"),
    }
