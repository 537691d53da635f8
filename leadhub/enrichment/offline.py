"""The offline enrichers: deterministic, no network, each a small step over a ``Lead``.

``Normalize`` puts given values into canonical form (and refuses bad ones, naming the field); the others
guess what is missing from what is there: the company domain from a work email, the name parts from a
full name, the country and time zone from a phone number.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

import phonenumbers
from phonenumbers import timezone as phone_timezones

from leadhub.companies.domains import normalize_domain
from leadhub.companies.freemail import is_personal_domain
from leadhub.contacts.names import split_name
from leadhub.core.errors import FieldError, Invalid
from leadhub.core.validation import (
    ValidationFailure,
    kind_of,
    normalize_country,
    normalize_email,
    normalize_phone,
    normalize_timezone,
    phone_region,
)
from leadhub.enrichment.lead import Lead

_LINKEDIN_SECTIONS = {"person": ("in", "pub"), "company": ("company", "school", "showcase")}
_SLUG = re.compile(r"^[^\s/?#]{1,200}$")


def normalize_linkedin(value: str, kind: str) -> str:
    """``linkedin.com/in/JohnSmith/?trk=x`` → ``https://www.linkedin.com/in/johnsmith`` (country hosts such
    as ``uk.linkedin.com`` too); ``kind`` is ``person`` or ``company``."""
    text = value.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:
        host = ""
    if host != "linkedin.com" and not host.endswith(".linkedin.com"):
        raise ValidationFailure("linkedin_url", "is not a linkedin.com URL")
    segments = [s for s in parts.path.split("/") if s]
    sections = _LINKEDIN_SECTIONS[kind]
    if len(segments) < 2 or segments[0].lower() not in sections or not _SLUG.match(unquote(segments[1])):
        example = (
            "https://www.linkedin.com/in/jane-doe" if kind == "person" else "https://www.linkedin.com/company/acme"
        )
        raise ValidationFailure("linkedin_url", f"is not a LinkedIn {kind} URL (e.g. {example})")
    return f"https://www.linkedin.com/{segments[0].lower()}/{segments[1].lower()}"


class Normalize:
    """Canonical forms: email, phone (E.164), countries (ISO 3166-1 alpha-2), time zone (IANA), domain,
    LinkedIn URLs. A bad given value is a 400/422 naming its field; a bad guess is dropped."""

    name = "normalize"

    async def enrich(self, lead: Lead) -> None:
        errors: list[FieldError] = []
        for path, fn in (
            ("contact.email", normalize_email),
            ("contact.phone", lambda v: normalize_phone(v, lead.region)),
            ("contact.country", normalize_country),
            ("company.country", normalize_country),
            ("contact.timezone", normalize_timezone),
            ("company.domain", normalize_domain),
            ("contact.linkedin_url", lambda v: normalize_linkedin(v, "person")),
            ("company.linkedin_url", lambda v: normalize_linkedin(v, "company")),
        ):
            value: Any = lead.get(path)
            if value is None:
                continue
            try:
                lead.normalize(path, fn(value) if isinstance(value, str) else _refuse_type())
            except ValidationFailure as exc:
                if path in lead.given:
                    errors.append(FieldError(path, exc.rule, exc.message, kind_of(value)))
                else:
                    lead.drop(path)
        if errors:
            raise Invalid(errors)


def _refuse_type() -> str:
    raise ValidationFailure("type", "must be a string")


class DomainFromEmail:
    """The company domain from the website, else from a work email; free-mail and disposable domains
    (gmail.com, mailinator.com...) name no company and yield none."""

    name = "domain_from_email"

    async def enrich(self, lead: Lead) -> None:
        if lead.has("company.domain"):
            return
        website = lead.get("company.website")
        if isinstance(website, str):
            try:
                lead.suggest("company.domain", normalize_domain(website), "domain_from_website")
                return
            except ValidationFailure:
                pass
        email = lead.get("contact.email")
        if isinstance(email, str) and "@" in email:
            domain = email.rsplit("@", 1)[1].lower()
            if not is_personal_domain(domain):
                lead.suggest("company.domain", domain, self.name)


class NameParts:
    """First, middle and last name from the full name (nameparser); given parts are kept."""

    name = "name_parts"

    async def enrich(self, lead: Lead) -> None:
        full = lead.get("contact.name")
        if not isinstance(full, str) or any(lead.has(f"contact.{p}") for p in ("first_name", "last_name")):
            return
        first, middle, last = split_name(full)
        lead.suggest("contact.first_name", first, self.name)
        lead.suggest("contact.middle_name", middle, self.name)
        lead.suggest("contact.last_name", last, self.name)


class PhoneDetails:
    """The country and time zone of a normalized phone number, when its numbering plan names exactly one
    (a mobile number of a multi-zone country names no time zone)."""

    name = "phone_details"

    async def enrich(self, lead: Lead) -> None:
        phone = lead.get("contact.phone")
        if not isinstance(phone, str) or not phone.startswith("+"):
            return
        lead.suggest("contact.country", phone_region(phone), self.name)
        try:
            zones = phone_timezones.time_zones_for_number(phonenumbers.parse(phone, None))
        except phonenumbers.NumberParseException:
            return
        if len(zones) == 1 and zones[0] != "Etc/Unknown":
            lead.suggest("contact.timezone", zones[0], self.name)
