"""Every length-limited text field of every pydantic model in leadhub checks its documented limits on the value
as sent (what the OpenAPI document states), and only then trims it. So a value over ``maxLength`` is refused
even when it ends in whitespace (the fuzz run found one accepted); a value within ``maxLength`` as sent,
surrounding whitespace counted, is accepted and stored trimmed; a whitespace-only value is refused where the
field has a ``minLength`` and stored as "" where it has none. A ``pattern`` is also checked as sent: a URL's
admits surrounding whitespace (trimmed afterwards), an identifier's (keys, event types) does not.

The fields are found by walking the models' JSON schemas (the same schemas the OpenAPI document shows), not
listed by hand, so a field added later with ``strip_whitespace=True`` fails here."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

import leadhub
from leadhub.core.validation import TRIMMED, TRIMMED_NOT_BLANK
from tests.conftest import Tenant
from tests.contacts.support import field_rules, problem


def _models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for module in pkgutil.walk_packages(leadhub.__path__, "leadhub."):
        if module.name.endswith("__main__") or ".migrations" in module.name:
            continue
        for value in vars(importlib.import_module(module.name)).values():
            if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__.startswith("leadhub."):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


@dataclass(frozen=True)
class Leaf:
    """One constrained string of a model field: the field itself, a list item, or an object key."""

    model: type[BaseModel]
    field: str
    name: str  # the field as sent (its alias)
    place: str  # "value", "item" or "key"
    max_length: int | None
    min_length: int
    pattern: str | None
    paired: Any = None  # the value sent with a probed key

    def __str__(self) -> str:
        return f"{self.model.__name__}.{self.field}[{self.place}]"

    def wrap(self, text: str) -> Any:
        return {"value": text, "item": [text], "key": {text: self.paired}}[self.place]

    def unwrap(self, result: Any) -> Any:
        return {"value": lambda: result, "item": lambda: result[0], "key": lambda: next(iter(result))}[self.place]()


def _strings(schema: dict[str, Any], place: str) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(place, string schema, value to pair with a key) of each string the schema constrains."""
    for option in schema.get("anyOf", [schema]):
        if (option.get("type") == "string" and place == "value") or place == "key":
            yield place, option, None
        if option.get("type") == "array" and isinstance(option.get("items"), dict):
            yield from (("item", s, None) for p, s, _ in _strings(option["items"], "value") if p == "value")
        values = option.get("additionalProperties")
        paired = "x" if isinstance(values, dict) and values.get("type") == "string" else None
        if isinstance(option.get("propertyNames"), dict):
            yield "key", option["propertyNames"], paired
        for pattern in option.get("patternProperties", {}):
            yield "key", {"pattern": pattern}, paired


def _leaves() -> list[Leaf]:
    leaves = []
    for model in _models():
        for field, info in model.model_fields.items():
            schema = TypeAdapter(_field_type(model, field)).json_schema()
            for place, string, paired in _strings(schema, "value"):
                if "maxLength" in string or "minLength" in string or "pattern" in string:
                    leaves.append(
                        Leaf(
                            model,
                            field,
                            info.alias or field,
                            place,
                            string.get("maxLength"),
                            string.get("minLength", 0),
                            string.get("pattern"),
                            paired,
                        )
                    )
    return leaves


def _field_type(model: type[BaseModel], field: str) -> Any:
    info = model.model_fields[field]
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def _field_errors(leaf: Leaf, text: str) -> set[str]:
    """The error types the whole model reports at this field for this text (other fields left out)."""
    try:
        leaf.model.model_validate({leaf.name: leaf.wrap(text)})
    except ValidationError as exc:
        return {e["type"] for e in exc.errors() if e["loc"][:1] == (leaf.name,)}
    return set()


def _carries_trim(annotation: Any) -> bool:
    """Whether the field's type trims (TRIMMED or TRIMMED_NOT_BLANK anywhere in it)."""
    metadata = getattr(annotation, "__metadata__", ())
    args = getattr(annotation, "__args__", ()) or ()
    return any(m is TRIMMED or m is TRIMMED_NOT_BLANK for m in metadata) or any(_carries_trim(a) for a in args)


LEAVES = _leaves()
LIMITED = [leaf for leaf in LEAVES if leaf.max_length is not None]


def test_the_walk_finds_the_fields_that_used_to_strip_first() -> None:
    names = {str(leaf) for leaf in LEAVES}
    expected = {
        "ContactIn.first_name[value]",
        "ContactIn.tags[item]",
        "ContactIn.custom_fields[key]",
        "TaskIn.title[value]",
        "DealIn.notes[value]",
        "CompanyIn.technologies[item]",
        "EndpointIn.event_types[item]",
        "ProspectIn.research_data[key]",
        "MbContactIn.flowEditorName[value]",
        "WorkspaceCreate.name[value]",
    }
    assert expected <= names
    assert not [m for m in _models() if m.model_config.get("str_strip_whitespace")]


@pytest.mark.parametrize("leaf", LIMITED, ids=str)
def test_over_the_limit_as_sent_is_refused_even_when_it_ends_in_whitespace(leaf: Leaf) -> None:
    assert leaf.max_length is not None
    over = "a" * leaf.max_length + " "
    assert _field_errors(leaf, over) & {"string_too_long", "too_long"}, f"{leaf} accepted {len(over)} characters"


@pytest.mark.parametrize("leaf", [leaf for leaf in LIMITED if leaf.pattern is None], ids=str)
def test_within_the_limit_as_sent_is_accepted_and_trimmed_when_the_field_trims(leaf: Leaf) -> None:
    assert leaf.max_length is not None and leaf.max_length >= 3
    sent = " " + "a" * (leaf.max_length - 2) + " "
    assert not _field_errors(leaf, sent)
    kept = leaf.unwrap(TypeAdapter(_field_type(leaf.model, leaf.field)).validate_python(leaf.wrap(sent)))
    trims = _carries_trim(_field_type(leaf.model, leaf.field))
    assert kept == (sent.strip() if trims else sent)


TRIMMING = [leaf for leaf in LEAVES if _carries_trim(_field_type(leaf.model, leaf.field))]


@pytest.mark.parametrize("leaf", [leaf for leaf in TRIMMING if leaf.pattern is None], ids=str)
def test_whitespace_only_is_refused_where_a_minimum_is_documented_else_stored_empty(leaf: Leaf) -> None:
    errors = _field_errors(leaf, "   ")
    if leaf.min_length >= 1:
        assert errors == {"string_too_short"}
    else:
        assert not errors
        kept = leaf.unwrap(TypeAdapter(_field_type(leaf.model, leaf.field)).validate_python(leaf.wrap("   ")))
        assert kept == ""


@pytest.mark.parametrize("leaf", [leaf for leaf in LEAVES if leaf.pattern is not None], ids=str)
@pytest.mark.parametrize("sent", [" a ", "   ", "a "])
def test_a_patterned_field_checks_its_pattern_as_sent(leaf: Leaf, sent: str) -> None:
    assert leaf.pattern is not None
    refused = "string_pattern_mismatch" in _field_errors(leaf, sent)
    assert refused == (re.search(leaf.pattern, sent) is None)


# The same rules through the API: a 422 naming the field, and what is stored is the trimmed value.
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/contacts", {"first_name": "a" * 200 + " "}, "first_name"),
        ("/v1/contacts", {"tags": ["t" * 100 + " "]}, "tags[0]"),
        ("/v1/contacts", {"phones": [{"number": "1" * 40 + " "}]}, "phones[0].number"),
        ("/v1/companies", {"name": "a" * 300 + "  "}, "name"),
        ("/v1/deals", {"name": "a" * 300 + " "}, "name"),
        ("/v1/tasks", {"title": "a" * 300 + "\t"}, "title"),
        ("/v1/custom-fields", {"key": "score", "label": "a" * 200 + " ", "type": "text"}, "label"),
        ("/v1/webhooks", {"url": "https://example.com/" + "a" * 2028 + " "}, "url"),
        ("/v1/campaigns", {"name": "a" * 200 + " "}, "name"),
    ],
)
async def test_the_api_refuses_a_padded_value_over_the_limit_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any], field: str
) -> None:
    response = await client.post(path, json=body, headers=tenant.headers)
    assert field_rules(problem(response, 422)) == {field: "string_too_long"}


async def test_the_api_stores_a_padded_value_within_the_limit_trimmed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    name = "a" * 198
    body = {
        "first_name": f" {name} ",
        "tags": ["  vip  "],
        "notes": "  call back  ",
        "address": {"line1": " 1 Main St "},
    }
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    stored = (await client.get(f"/v1/contacts/{response.json()['id']}", headers=tenant.headers)).json()
    assert (stored["first_name"], stored["tags"], stored["notes"]) == (name, ["vip"], "call back")
    assert stored["address"]["line1"] == "1 Main St"
    # A URL may arrive padded (the documented pattern admits it); a padded identifier may not.
    website = {"website": " https://acme.com "}
    patched = await client.patch(f"/v1/contacts/{stored['id']}", json=website, headers=tenant.headers)
    assert patched.json()["website"] == "https://acme.com"
    definition = {"key": " score", "label": "Score", "type": "text"}
    response = await client.post("/v1/custom-fields", json=definition, headers=tenant.headers)
    assert field_rules(problem(response, 422)) == {"key": "string_pattern_mismatch"}

    task = await client.post("/v1/tasks", json={"title": "  Call Ada  ", "assignee": " sam "}, headers=tenant.headers)
    assert task.status_code == 201, task.text
    assert (task.json()["title"], task.json()["assignee"]) == ("Call Ada", "sam")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/contacts", {"tags": ["   "]}, "tags[0]"),
        ("/v1/contacts", {"phone": "   "}, "phone"),
        ("/v1/tasks", {"title": "  "}, "title"),
        ("/v1/companies", {"name": " \t "}, "name"),
    ],
)
async def test_the_api_refuses_a_whitespace_only_value_where_one_is_required(
    client: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any], field: str
) -> None:
    response = await client.post(path, json=body, headers=tenant.headers)
    assert field_rules(problem(response, 422)) == {field: "string_too_short"}
