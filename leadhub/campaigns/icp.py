"""The ideal customer profile: weighted criteria over contact and company fields, disqualifiers, and the
explainable score of one prospect against them.

Each criterion comes out ``matched``, ``not_matched`` or ``unknown`` (the field has no value, so the
prospect can be neither credited nor blamed). The score is the matched share of the weight whose data is
known, so missing data never lowers it; ``confidence`` is the known share of all the weight, so missing
data lowers that instead. Everything here is pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from leadhub.core.validation import TRIMMED_NOT_BLANK, ValidationFailure, normalize_country

Kind = Literal["text", "number", "list", "bool"]
Op = Literal["equals", "one_of", "contains", "range", "exists"]
Result = Literal["matched", "not_matched", "unknown"]

# Every field a criterion may name, and its kind. Company fields come from the linked company (signals
# included); contact fields from the contact and the lead's profile (seniority, department).
FIELDS: dict[str, Kind] = {
    "company.industry": "text",
    "company.sub_industry": "text",
    "company.employee_count": "number",
    "company.annual_revenue": "number",
    "company.funding_stage": "text",
    "company.country": "text",
    "company.founded_year": "number",
    "company.technologies": "list",
    "company.domain": "text",
    "company.hiring": "bool",
    "company.open_roles": "number",
    "company.employee_growth": "number",
    "company.revenue_growth": "number",
    "company.recent_funding_amount": "number",
    "contact.title": "text",
    "contact.seniority": "text",
    "contact.department": "text",
    "contact.country": "text",
    "contact.timezone": "text",
    "contact.tags": "list",
}
COUNTRY_FIELDS = {"company.country", "contact.country"}
OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "text": ("equals", "one_of", "contains", "exists"),
    "number": ("equals", "one_of", "range", "exists"),
    "list": ("equals", "one_of", "contains", "exists"),
    "bool": ("equals", "exists"),
}
TIERS = (("A", 80), ("B", 60), ("C", 40), ("D", 0))
MAX_CRITERIA = 50
MAX_VALUES = 100

Scalar = str | int | float | bool
# The pattern admits no surrounding whitespace, so there is nothing to trim.
Slug = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,60}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200), TRIMMED_NOT_BLANK]
FieldName = Literal[
    "company.industry",
    "company.sub_industry",
    "company.employee_count",
    "company.annual_revenue",
    "company.funding_stage",
    "company.country",
    "company.founded_year",
    "company.technologies",
    "company.domain",
    "company.hiring",
    "company.open_roles",
    "company.employee_growth",
    "company.revenue_growth",
    "company.recent_funding_amount",
    "contact.title",
    "contact.seniority",
    "contact.department",
    "contact.country",
    "contact.timezone",
    "contact.tags",
]


class Rule(BaseModel):
    """One test of one field. ``value`` is a scalar for ``equals``, a list for ``one_of``, a keyword or
    list of keywords for ``contains``, a boolean (default true) for ``exists``; ``range`` uses ``min`` /
    ``max`` (inclusive, either may be left out). Text compares case-insensitively."""

    model_config = ConfigDict(extra="forbid")

    id: Slug | None = None
    label: Label | None = None
    field: FieldName
    op: Op
    value: Scalar | Annotated[list[Scalar], Field(max_length=MAX_VALUES)] | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _fits_field(self) -> Rule:
        kind = FIELDS[self.field]
        if self.op not in OPS_BY_KIND[kind]:
            raise ValueError(f"op '{self.op}' does not apply to {kind} field {self.field}; use {OPS_BY_KIND[kind]}")
        value = self.value
        if self.op == "range":
            if self.min is None and self.max is None:
                raise ValueError("range needs min, max or both")
            if self.min is not None and self.max is not None and self.min > self.max:
                raise ValueError("range min must not exceed max")
            if value is not None:
                raise ValueError("range takes min and max, not value")
            return self
        if self.min is not None or self.max is not None:
            raise ValueError(f"min and max belong to op 'range', not '{self.op}'")
        if self.op == "exists":
            if value is None:
                self.value = True
            elif not isinstance(value, bool):
                raise ValueError("exists takes value true or false")
            return self
        if value is None or value == [] or value == "":
            raise ValueError(f"op '{self.op}' needs a value")
        if self.op == "equals" and isinstance(value, list):
            raise ValueError("equals takes one value; use one_of for several")
        if self.op == "one_of" and not isinstance(value, list):
            self.value = value = [value]
        values = value if isinstance(value, list) else [value]
        if self.op == "contains" and not all(isinstance(v, str) and v.strip() for v in values):
            raise ValueError("contains takes a keyword or a list of keywords")
        if kind == "number" and not all(_is_number(v) for v in values):
            raise ValueError(f"{self.field} is a number field: give numbers")
        if kind == "bool" and not all(isinstance(v, bool) for v in values):
            raise ValueError(f"{self.field} is a true/false field: give true or false")
        if self.field in COUNTRY_FIELDS:
            try:
                countries = [normalize_country(str(v)) for v in values]
            except ValidationFailure as exc:
                raise ValueError(exc.message) from None
            self.value = list[Scalar](countries) if isinstance(value, list) else countries[0]
        return self


class Criterion(Rule):
    """A rule that earns ``weight`` points when it matches."""

    weight: Annotated[int, Field(ge=1, le=100)] = 10


class Disqualifier(Rule):
    """A rule that, when it matches, disqualifies the prospect whatever its score."""


@dataclass(frozen=True)
class Score:
    score: int
    tier: str
    confidence: int
    disqualified: bool
    breakdown: dict[str, Any]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any) -> str:
    """Text as compared: case-folded, ``_``/``-`` read as spaces, whitespace collapsed ("Series-B" = "series b")."""
    return " ".join(str(value).casefold().replace("_", " ").replace("-", " ").split())


def _same(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return _text(a) == _text(b)


def _known(value: Any) -> bool:
    return value is not None and value != "" and value != []


def evaluate(rule: Rule, value: Any) -> Result:
    """Whether ``value`` (the prospect's value of ``rule.field``) meets the rule."""
    if rule.op == "exists":
        return "matched" if _known(value) == rule.value else "not_matched"
    if not _known(value):
        return "unknown"
    items = value if isinstance(value, list) else [value]
    expected = rule.value if isinstance(rule.value, list) else [rule.value]
    hit: bool
    if rule.op in ("equals", "one_of"):
        hit = any(_same(item, e) for item in items for e in expected)
    elif rule.op == "contains":
        hit = any(_text(e) in _text(item) for item in items for e in expected)
    else:  # range
        numbers = [item for item in items if _is_number(item)]
        if not numbers:
            return "unknown"
        hit = any((rule.min is None or n >= rule.min) and (rule.max is None or n <= rule.max) for n in numbers)
    return "matched" if hit else "not_matched"


def describe(rule: Rule) -> str:
    """A reader's label for a rule without one: ``company.employee_count between 50 and 500``."""
    if rule.label:
        return rule.label
    if rule.op == "range":
        lo, hi = (_num(rule.min), _num(rule.max))
        if lo is not None and hi is not None:
            return f"{rule.field} between {lo} and {hi}"
        return f"{rule.field} at least {lo}" if lo is not None else f"{rule.field} at most {hi}"
    if rule.op == "exists":
        return f"{rule.field} is known" if rule.value else f"{rule.field} is unknown"
    shown = ", ".join(str(v) for v in rule.value) if isinstance(rule.value, list) else str(rule.value)
    words = {"equals": "is", "one_of": "is one of", "contains": "contains"}[rule.op]
    return f"{rule.field} {words} {shown}"


def _num(value: float | None) -> int | float | None:
    return int(value) if value is not None and value == int(value) else value


def _expected(rule: Rule) -> Any:
    if rule.op == "range":
        return {"min": _num(rule.min), "max": _num(rule.max)}
    return rule.value


def _percent(part: int, whole: int) -> int:
    """``100 * part / whole`` rounded half up, in integers (no float surprises at .5)."""
    return (200 * part + whole) // (2 * whole) if whole else 0


def tier_of(score: int) -> str:
    return next(tier for tier, floor in TIERS if score >= floor)


def score(criteria: Sequence[Criterion], disqualifiers: Sequence[Disqualifier], facts: Mapping[str, Any]) -> Score:
    """The prospect's fit: 0-100 score, tier A-D, confidence 0-100 and the breakdown that explains them."""
    rows = []
    matched_weight = known_weight = total_weight = 0
    for n, rule in enumerate(criteria, start=1):
        seen = facts.get(rule.field)
        result = evaluate(rule, seen)
        points = rule.weight if result == "matched" else 0
        total_weight += rule.weight
        if result != "unknown":
            known_weight += rule.weight
        matched_weight += points
        rows.append(
            {
                "id": rule.id or f"c{n}",
                "label": describe(rule),
                "field": rule.field,
                "op": rule.op,
                "expected": _expected(rule),
                "value": seen if _known(seen) else None,
                "result": result,
                "weight": rule.weight,
                "points": points,
            }
        )
    vetoes = []
    for n, veto in enumerate(disqualifiers, start=1):
        seen = facts.get(veto.field)
        vetoes.append(
            {
                "id": veto.id or f"d{n}",
                "label": describe(veto),
                "field": veto.field,
                "op": veto.op,
                "expected": _expected(veto),
                "value": seen if _known(seen) else None,
                "result": evaluate(veto, seen),
            }
        )
    disqualified = any(v["result"] == "matched" for v in vetoes)
    fit = 0 if disqualified else _percent(matched_weight, known_weight)
    confidence = _percent(known_weight, total_weight)
    breakdown = {
        "criteria": rows,
        "disqualifiers": vetoes,
        "matched_weight": matched_weight,
        "known_weight": known_weight,
        "total_weight": total_weight,
        "disqualified": disqualified,
    }
    return Score(score=fit, tier=tier_of(fit), confidence=confidence, disqualified=disqualified, breakdown=breakdown)


def _signal(signals: Sequence[Any], kind: str, key: str) -> Any:
    for item in signals:
        if isinstance(item, dict) and item.get("type") == kind and key in item:
            return item[key]
    return None


def facts(contact: Mapping[str, Any], company: Mapping[str, Any] | None, profile: Mapping[str, Any]) -> dict[str, Any]:
    """The values criteria see, by field name, from plain views of the contact, the company (or None)
    and the prospect's profile (``profile["contact"]`` holds seniority and department)."""
    person = profile.get("contact") or {}
    firm = company or {}
    signals = firm.get("signals") or []
    return {
        "company.industry": firm.get("industry"),
        "company.sub_industry": firm.get("sub_industry"),
        "company.employee_count": firm.get("employee_count"),
        "company.annual_revenue": firm.get("annual_revenue"),
        "company.funding_stage": firm.get("funding_stage"),
        "company.country": firm.get("country"),
        "company.founded_year": firm.get("founded_year"),
        "company.technologies": list(firm.get("technologies") or []),
        "company.domain": firm.get("domain"),
        "company.hiring": _signal(signals, "hiring", "is_hiring"),
        "company.open_roles": _signal(signals, "hiring", "open_roles"),
        "company.employee_growth": _signal(signals, "growth", "employee_growth"),
        "company.revenue_growth": _signal(signals, "growth", "revenue_growth"),
        "company.recent_funding_amount": _signal(signals, "recent_funding", "amount"),
        "contact.title": contact.get("title"),
        "contact.seniority": person.get("seniority"),
        "contact.department": person.get("department"),
        "contact.country": contact.get("country"),
        "contact.timezone": contact.get("timezone"),
        "contact.tags": list(contact.get("tags") or []),
    }
