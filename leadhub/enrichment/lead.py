"""A lead on its way in: what the caller gave, and what enrichers guessed, kept apart so that a guess
never overwrites given data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The paths a lead may carry. Contact paths beyond the contact columns (seniority, department, bio,
# photo_url, linkedin_url) and company paths beyond the company columns (linkedin_url, description)
# are kept on the prospect's profile.
CONTACT_PATHS = (
    "name",
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "phone",
    "title",
    "country",
    "timezone",
    "city",
    "state",
    "linkedin_url",
    "seniority",
    "department",
    "bio",
    "photo_url",
)
COMPANY_PATHS = (
    "name",
    "domain",
    "website",
    "linkedin_url",
    "description",
    "industry",
    "sub_industry",
    "employee_count",
    "employee_range",
    "annual_revenue",
    "revenue_range",
    "founded_year",
    "funding_stage",
    "headquarters",
    "country",
    "technologies",
    "signals",
)
PATHS = frozenset([f"contact.{p}" for p in CONTACT_PATHS] + [f"company.{p}" for p in COMPANY_PATHS])


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


@dataclass
class Lead:
    """Flat ``contact.*`` / ``company.*`` values. ``given`` names what the caller sent; ``guessed`` maps
    each guessed path to the enricher that filled it; ``region`` reads national phone numbers."""

    values: dict[str, Any] = field(default_factory=dict)
    given: set[str] = field(default_factory=set)
    guessed: dict[str, str] = field(default_factory=dict)
    region: str | None = None
    # Enrichers that could not run (an unreachable provider, say): name → reason. Never fatal.
    skipped: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_given(cls, values: dict[str, Any], region: str | None = None) -> Lead:
        kept = {path: value for path, value in values.items() if path in PATHS and not _empty(value)}
        return cls(values=dict(kept), given=set(kept), region=region)

    def get(self, path: str) -> Any:
        return self.values.get(path)

    def has(self, path: str) -> bool:
        return not _empty(self.values.get(path))

    def suggest(self, path: str, value: Any, source: str) -> bool:
        """Fill ``path`` with a guess unless it already holds a value; True when the guess was taken."""
        if path not in PATHS or _empty(value) or self.has(path):
            return False
        self.values[path] = value
        self.guessed[path] = source
        return True

    def normalize(self, path: str, value: Any) -> None:
        """Replace a value by its normalized form: the same datum, so a given value stays given."""
        self.values[path] = value

    def drop(self, path: str) -> None:
        """Forget a guess that turned out unusable (given values are never dropped)."""
        if path in self.guessed:
            del self.guessed[path]
            self.values.pop(path, None)

    def section(self, prefix: str) -> dict[str, Any]:
        """``contact`` or ``company`` values as a dict without the prefix."""
        start = prefix + "."
        return {path[len(start) :]: v for path, v in self.values.items() if path.startswith(start)}
