"""Explainable ICP scoring, checked against scores computed by hand: 24 prospects over three criteria sets,
unknown versus no match, rounding, disqualifiers and the rules a criterion must follow."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from leadhub.campaigns import icp

# B2B SaaS sales leaders (weights sum to 100), with a competitor disqualified.
SAAS = [
    {"id": "industry", "field": "company.industry", "op": "one_of", "value": ["Software", "SaaS"], "weight": 30},
    {"id": "size", "field": "company.employee_count", "op": "range", "min": 50, "max": 500, "weight": 20},
    {"id": "country", "field": "company.country", "op": "equals", "value": "United States", "weight": 10},
    {"id": "seniority", "field": "contact.seniority", "op": "one_of", "value": ["VP", "C-Level"], "weight": 25},
    {"id": "title", "field": "contact.title", "op": "contains", "value": ["sales", "revenue"], "weight": 15},
]
SAAS_VETO = [{"field": "company.domain", "op": "equals", "value": "rival.example"}]
# Growth signals (weights sum to 100).
GROWTH = [
    {"id": "hiring", "field": "company.hiring", "op": "equals", "value": True, "weight": 40},
    {"id": "growth", "field": "company.employee_growth", "op": "range", "min": 0.2, "weight": 30},
    {"id": "hubspot", "field": "company.technologies", "op": "contains", "value": "hubspot", "weight": 20},
    {"id": "stage", "field": "company.funding_stage", "op": "one_of", "value": ["Series A", "Series B"], "weight": 10},
]
# Odd weights summing to 20, so shares round.
ODD = [
    {"id": "dept", "field": "contact.department", "op": "equals", "value": "Sales", "weight": 7},
    {"id": "where", "field": "contact.country", "op": "one_of", "value": ["United States", "Canada"], "weight": 3},
    {"id": "small", "field": "company.annual_revenue", "op": "range", "max": 1_000_000, "weight": 5},
    {"id": "vip", "field": "contact.tags", "op": "contains", "value": "vip", "weight": 1},
    {"id": "domain", "field": "company.domain", "op": "exists", "weight": 4},
]
SETS: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    "saas": (SAAS, SAAS_VETO),
    "growth": (GROWTH, []),
    "odd": (ODD, []),
}


def firm(**fields: Any) -> dict[str, Any]:
    return fields


def signals(hiring: bool | None = None, growth: float | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if hiring is not None:
        out.append({"type": "hiring", "is_hiring": hiring, "open_roles": 3})
    if growth is not None:
        out.append({"type": "growth", "employee_growth": growth})
    return out


# (criteria set, contact, company, person profile, results M/N/U per criterion, score, tier, confidence)
TABLE: list[tuple[str, dict[str, Any], dict[str, Any] | None, dict[str, Any], str, int, str, int]] = [
    # 1: everything matches: 100 of 100.
    ("saas", {"title": "VP of Sales"}, firm(industry="Software", employee_count=250, country="US"), {"seniority": "VP"},
     "MMMMM", 100, "A", 100),
    # 2: wrong industry: 70 of 100.
    ("saas", {"title": "VP Sales"}, firm(industry="Hardware", employee_count=250, country="US"), {"seniority": "VP"},
     "NMMMM", 70, "B", 100),
    # 3: only the industry (case-insensitive): 30 of 100.
    ("saas", {"title": "Account Executive"}, firm(industry="saas", employee_count=40, country="DE"),
     {"seniority": "Manager"}, "MNNNN", 30, "D", 100),
    # 4: no company: 40 of 40 known; confidence 40.
    ("saas", {"title": "Chief Revenue Officer"}, None, {"seniority": "VP"}, "UUUMM", 100, "A", 40),
    # 5: only a non-matching title known: 0 of 15; confidence 15.
    ("saas", {"title": "Engineer"}, None, {}, "UUUUN", 0, "D", 15),
    # 6: only the industry known: 30 of 30.
    ("saas", {}, firm(industry="Software"), {}, "MUUUU", 100, "A", 30),
    # 7: 500 is inside the range (inclusive); "c-level" matches "C-Level": 85 of 100.
    ("saas", {"title": "Head of Growth"}, firm(industry="Software", employee_count=500, country="US"),
     {"seniority": "c-level"}, "MMMMN", 85, "A", 100),
    # 8: 501 is outside: 30 + 10 + 15 = 55.
    ("saas", {"title": "Sales Director"}, firm(industry="Software", employee_count=501, country="US"),
     {"seniority": "Director"}, "MNMNM", 55, "C", 100),
    # 9: the competitor's domain disqualifies whatever the fit.
    ("saas", {"title": "VP Sales"}, firm(industry="Software", employee_count=100, country="US", domain="rival.example"),
     {"seniority": "VP"}, "MMMMM", 0, "D", 100),
    # 10: every signal: 100.
    ("growth", {}, firm(signals=signals(True, 0.35), technologies=["Salesforce", "HubSpot"], funding_stage="Series B"),
     {}, "MMMM", 100, "A", 100),
    # 11: no signal matches: 0.
    ("growth", {}, firm(signals=signals(False, 0.1), technologies=["AWS"], funding_stage="Seed"), {}, "NNNN", 0, "D",
     100),
    # 12: hiring only; an empty technology list is unknown: 40 of 40, confidence 40.
    ("growth", {}, firm(signals=signals(True), technologies=[]), {}, "MUUU", 100, "A", 40),
    # 13: 0.2 is inside; "hubspot crm" contains hubspot; "series-a" reads as "Series A": 60 of 60.
    ("growth", {}, firm(signals=signals(None, 0.2), technologies=["hubspot crm"], funding_stage="series-a"), {},
     "UMMM", 100, "A", 60),
    # 14: 30 + 20 = 50.
    ("growth", {}, firm(signals=signals(False, 0.5), technologies=["HubSpot"], funding_stage="Series C"), {}, "NMMN",
     50, "C", 100),
    # 15: 40 + 10 = 50.
    ("growth", {}, firm(signals=signals(True, 0.19), technologies=["Marketo"], funding_stage="Series A"), {}, "MNNM",
     50, "C", 100),
    # 16: no company: nothing known.
    ("growth", {}, None, {}, "UUUU", 0, "D", 0),
    # 17: 50 of 80 = 62.5, rounded half up to 63.
    ("growth", {}, firm(signals=signals(True, -0.1), funding_stage="Series B"), {}, "MNUM", 63, "B", 80),
    # 18: all of 20.
    ("odd", {"country": "US", "tags": ["vip-2024"]}, firm(annual_revenue=500_000, domain="acme.com"),
     {"department": "Sales"}, "MMMMM", 100, "A", 100),
    # 19: 3 of 19 known = 15.79 → 16; confidence 19 of 20 = 95 (a missing domain is a "no", never unknown).
    ("odd", {"country": "CA", "tags": []}, firm(annual_revenue=2_000_000), {"department": "Marketing"}, "NMNUN", 16,
     "D", 95),
    # 20: only the domain: 4 of 4; confidence 4 of 20.
    ("odd", {}, firm(domain="x.com"), {}, "UUUUM", 100, "A", 20),
    # 21: 7 + 5 + 1 = 13 of 20 = 65.
    ("odd", {"country": "GB", "tags": ["VIP"]}, firm(annual_revenue=1_000_000), {"department": "sales"}, "MNMMN", 65,
     "B", 100),
    # 22: "Sales Ops" is not "Sales"; 3 + 4 = 7 of 15 = 46.67 → 47; confidence 15 of 20 = 75.
    ("odd", {"country": "US", "tags": ["lead"]}, firm(domain="d.com"), {"department": "Sales Ops"}, "NMUNM", 47, "C",
     75),
    # 23: 3 + 5 = 8 of 12 = 66.67 → 67; confidence 12 of 20 = 60.
    ("odd", {"country": "CA"}, firm(annual_revenue=10), {}, "UMMUN", 67, "B", 60),
    # 24: nothing but the missing domain: 0 of 4; confidence 20.
    ("odd", {}, None, {}, "UUUUN", 0, "D", 20),
]  # fmt: skip
RESULTS = {"M": "matched", "N": "not_matched", "U": "unknown"}


def run(name: str, contact: dict[str, Any], company: dict[str, Any] | None, person: dict[str, Any]) -> icp.Score:
    criteria, vetoes = SETS[name]
    return icp.score(
        [icp.Criterion.model_validate(c) for c in criteria],
        [icp.Disqualifier.model_validate(d) for d in vetoes],
        icp.facts(contact, company, {"contact": person}),
    )


def test_the_table_holds_at_least_twenty_prospects() -> None:
    assert len(TABLE) >= 20 and {row[0] for row in TABLE} == set(SETS)


@pytest.mark.parametrize("row", TABLE, ids=[f"{n + 1}-{row[0]}" for n, row in enumerate(TABLE)])
def test_score_matches_the_hand_computed_one(
    row: tuple[str, dict[str, Any], dict[str, Any] | None, dict[str, Any], str, int, str, int],
) -> None:
    name, contact, company, person, results, score, tier, confidence = row
    result = run(name, contact, company, person)
    criteria = result.breakdown["criteria"]
    assert [c["result"] for c in criteria] == [RESULTS[r] for r in results]
    assert [c["points"] for c in criteria] == [
        c["weight"] if r == "M" else 0 for c, r in zip(criteria, results, strict=True)
    ]
    assert (result.score, result.tier, result.confidence) == (score, tier, confidence)
    assert result.breakdown["matched_weight"] == sum(c["points"] for c in criteria)


def test_missing_data_lowers_confidence_and_a_mismatch_lowers_the_score() -> None:
    company = firm(industry="Software", employee_count=250, country="US")
    everything = run("saas", {"title": "VP Sales"}, company, {"seniority": "VP"})
    unknown = run("saas", {"title": "VP Sales"}, {**company, "country": None}, {"seniority": "VP"})
    mismatch = run("saas", {"title": "VP Sales"}, {**company, "country": "FR"}, {"seniority": "VP"})

    assert (everything.score, everything.confidence) == (100, 100)
    assert (unknown.score, unknown.confidence) == (100, 90)
    assert (mismatch.score, mismatch.confidence) == (90, 100)
    by_id = {c["id"]: c for c in unknown.breakdown["criteria"]}
    assert by_id["country"] == {
        "id": "country",
        "label": "company.country is US",
        "field": "company.country",
        "op": "equals",
        "expected": "US",
        "value": None,
        "result": "unknown",
        "weight": 10,
        "points": 0,
    }


def test_disqualifier_is_explained_in_the_breakdown() -> None:
    company = firm(industry="Software", domain="rival.example")
    result = run("saas", {}, company, {})
    assert result.disqualified and result.score == 0
    assert result.breakdown["disqualifiers"] == [
        {
            "id": "d1",
            "label": "company.domain is rival.example",
            "field": "company.domain",
            "op": "equals",
            "expected": "rival.example",
            "value": "rival.example",
            "result": "matched",
        }
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"field": "company.industry", "op": "range", "min": 1}, "does not apply to text field"),
        ({"field": "company.employee_count", "op": "range"}, "range needs min, max or both"),
        ({"field": "company.employee_count", "op": "range", "min": 9, "max": 1}, "must not exceed max"),
        ({"field": "company.employee_count", "op": "equals", "value": "many"}, "is a number field"),
        ({"field": "company.industry", "op": "equals", "value": ["a", "b"]}, "use one_of"),
        ({"field": "company.industry", "op": "one_of", "value": []}, "needs a value"),
        ({"field": "company.country", "op": "equals", "value": "Atlantis"}, "ISO 3166-1"),
        ({"field": "company.hiring", "op": "equals", "value": "yes"}, "true/false field"),
        ({"field": "company.mood", "op": "exists"}, "Input should be"),
        ({"field": "company.industry", "op": "exists", "value": 3}, "exists takes value true or false"),
    ],
)
def test_a_rule_that_cannot_work_is_refused(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        icp.Criterion.model_validate(rule)
    assert message in str(caught.value)


def test_labels_read_like_sentences() -> None:
    labels = [icp.describe(icp.Criterion.model_validate(c)) for c in SAAS]
    assert labels == [
        "company.industry is one of Software, SaaS",
        "company.employee_count between 50 and 500",
        "company.country is US",
        "contact.seniority is one of VP, C-Level",
        "contact.title contains sales, revenue",
    ]
