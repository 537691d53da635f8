"""The offline enrichers, step by step: each fills only what is missing and never touches given data."""

from __future__ import annotations

import pytest

from leadhub.core.errors import Invalid
from leadhub.enrichment.lead import Lead
from leadhub.enrichment.offline import DomainFromEmail, NameParts, Normalize, PhoneDetails, normalize_linkedin
from leadhub.enrichment.pipeline import Pipeline, from_env


async def enriched(values: dict[str, object], region: str | None = "US") -> Lead:
    return await Pipeline().run(Lead.from_given(dict(values), region))


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("jane@acme.io", "acme.io"),
        ("Jane@Sales.Acme.co.uk", "sales.acme.co.uk"),
        ("jane@gmail.com", None),
        ("jane@mail.yahoo.com", None),
        ("jane@mailinator.com", None),  # disposable
    ],
)
async def test_domain_comes_from_a_work_email_only(email: str, domain: str | None) -> None:
    lead = await enriched({"contact.email": email})
    assert lead.get("company.domain") == domain
    assert ("company.domain" in lead.guessed) is (domain is not None)


async def test_website_names_the_domain_before_the_email() -> None:
    lead = await enriched({"contact.email": "jane@acme.io", "company.website": "https://www.Acme-Corp.com/about"})
    assert lead.get("company.domain") == "acme-corp.com"
    assert lead.guessed["company.domain"] == "domain_from_website"


async def test_given_domain_is_kept_and_normalized() -> None:
    lead = await enriched({"contact.email": "jane@acme.io", "company.domain": "https://WWW.Other.com/"})
    assert lead.get("company.domain") == "other.com" and "company.domain" in lead.given
    assert lead.guessed == {}


async def test_full_name_is_split_unless_parts_are_given() -> None:
    lead = await enriched({"contact.name": "Mr. John Ronald Tolkien Jr."})
    parts = [lead.get(f"contact.{p}") for p in ("first_name", "middle_name", "last_name")]
    assert parts == ["John", "Ronald", "Tolkien"]
    kept = await enriched({"contact.name": "John Tolkien", "contact.first_name": "J.R.R."})
    assert kept.get("contact.first_name") == "J.R.R." and kept.get("contact.last_name") is None


async def test_phone_gives_country_and_time_zone_when_the_plan_names_one() -> None:
    lead = await enriched({"contact.phone": "(212) 555-0123"})
    assert lead.get("contact.phone") == "+12125550123" and "contact.phone" in lead.given
    assert (lead.get("contact.country"), lead.get("contact.timezone")) == ("US", "America/New_York")
    # An Australian mobile number spans several time zones: the country only.
    mobile = await enriched({"contact.phone": "+61 412 345 678"})
    assert (mobile.get("contact.country"), mobile.get("contact.timezone")) == ("AU", None)


async def test_given_country_and_time_zone_beat_the_phone() -> None:
    lead = await enriched(
        {"contact.phone": "+14155550123", "contact.country": "Germany", "contact.timezone": "europe/berlin"}
    )
    assert (lead.get("contact.country"), lead.get("contact.timezone")) == ("DE", "Europe/Berlin")
    assert lead.guessed == {}


async def test_country_names_become_iso_codes() -> None:
    lead = await enriched({"contact.country": "United Kingdom", "company.country": "united states of america"})
    assert (lead.get("contact.country"), lead.get("company.country")) == ("GB", "US")


@pytest.mark.parametrize(
    ("url", "kind", "normalized"),
    [
        ("https://linkedin.com/in/johnsmith", "person", "https://www.linkedin.com/in/johnsmith"),
        ("linkedin.com/in/JohnSmith/?trk=abc#x", "person", "https://www.linkedin.com/in/johnsmith"),
        ("http://uk.linkedin.com/in/jane-doe-123/detail", "person", "https://www.linkedin.com/in/jane-doe-123"),
        ("https://www.linkedin.com/company/acme/", "company", "https://www.linkedin.com/company/acme"),
        ("https://linkedin.com/school/mit", "company", "https://www.linkedin.com/school/mit"),
    ],
)
def test_linkedin_urls_are_normalized(url: str, kind: str, normalized: str) -> None:
    assert normalize_linkedin(url, kind) == normalized


async def test_bad_given_values_name_their_fields() -> None:
    with pytest.raises(Invalid) as caught:
        await enriched(
            {
                "contact.email": "nope",
                "contact.phone": "12",
                "contact.country": "Atlantis",
                "contact.linkedin_url": "https://linkedin.com/company/acme",
            }
        )
    assert {e.field: e.rule for e in caught.value.errors} == {
        "contact.email": "email",
        "contact.phone": "phone",
        "contact.country": "country",
        "contact.linkedin_url": "linkedin_url",
    }


async def test_a_guess_never_overwrites_and_a_bad_guess_is_dropped() -> None:
    lead = Lead.from_given({"contact.title": "CTO"})
    assert not lead.suggest("contact.title", "Intern", "someone")
    assert lead.suggest("contact.country", "Narnia", "someone")
    await Normalize().enrich(lead)
    assert lead.get("contact.title") == "CTO" and lead.get("contact.country") is None
    assert lead.guessed == {}


async def test_each_enricher_runs_alone() -> None:
    lead = Lead.from_given(
        {"contact.email": "a@b-corp.com", "contact.name": "Ann Lee", "contact.phone": "+442079460000"}
    )
    for step in (DomainFromEmail(), NameParts(), PhoneDetails()):
        await step.enrich(lead)
    assert lead.guessed == {
        "company.domain": "domain_from_email",
        "contact.first_name": "name_parts",
        "contact.last_name": "name_parts",
        "contact.country": "phone_details",
        "contact.timezone": "phone_details",
    }
    assert lead.get("contact.timezone") == "Europe/London"


def test_pipeline_from_environment() -> None:
    assert from_env({}).providers == []
    configured = from_env({"LEADHUB_ENRICHMENT_URL": "http://127.0.0.1:9/enrich", "LEADHUB_ENRICHMENT_TOKEN": "t"})
    assert [p.name for p in configured.providers] == ["http_provider"]
