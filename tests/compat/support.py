"""Replaying the seed pages' examples: placeholders, setup requests, and matching documented bodies."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Tenant

EXAMPLES = Path(__file__).parent / "examples"
LC_LOCATION = "ve9EPM428h8vShlRW1KT"
PUBLIC_URL = "http://leadhub.test"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LC = {"Version": "2021-07-28"}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return data


def response_id(body: dict[str, Any]) -> str:
    """The id of a contact in any dialect's answer."""
    if "data" in body and isinstance(body["data"], dict):
        return str(body["data"]["id"])
    if "contact" in body:
        return str(body["contact"]["id"])
    return str(body["id"])


def substitute(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [substitute(v, replacements) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, replacements) for k, v in value.items()}
    return value


def matches(expected: Any, actual: Any, context: dict[str, Any], path: str = "body") -> list[str]:
    """Differences between a documented body and ours. Objects: every documented key must be there
    (extra keys allowed unless ``exact``); lists: same length, item by item; ``~…`` strings are type or
    context matchers."""
    exact = bool(context.get("exact"))
    if isinstance(expected, str) and expected.startswith("~"):
        return _matcher(expected, actual, context, path)
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        problems = [f"{path}.{k}: missing" for k in expected if k not in actual]
        if exact:
            problems += [f"{path}.{k}: not documented" for k in actual if k not in expected]
        for k in expected:
            if k in actual:
                problems += matches(expected[k], actual[k], context, f"{path}.{k}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r}"]
        return [
            p
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for p in matches(e, a, context, f"{path}[{i}]")
        ]
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


def _matcher(kind: str, actual: Any, context: dict[str, Any], path: str) -> list[str]:
    ok: bool
    if kind in ("~int", "~unix"):
        ok = isinstance(actual, int) and not isinstance(actual, bool) and (kind == "~int" or actual > 1_600_000_000)
    elif kind == "~iso_ms":
        ok = isinstance(actual, str) and bool(ISO_MS.match(actual))
    elif kind.startswith("~id:"):
        ok = isinstance(actual, str) and actual.startswith(kind[4:] + "_") and len(actual) == len(kind[4:]) + 27
    elif kind.startswith("~setup:"):
        ok = actual == context["setup_ids"][int(kind[7:])]
    elif kind == "~ws":
        ok = actual == context["ws"]
    elif kind == "~link":
        ok = isinstance(actual, str) and actual == f"{PUBLIC_URL}/contacts/{context['body'].get('id')}"
    else:
        raise AssertionError(f"unknown matcher {kind}")
    return [] if ok else [f"{path}: {actual!r} does not match {kind}"]


async def replay(
    client: httpx.AsyncClient, tenant: Tenant, document: dict[str, Any], example: dict[str, Any], key: str
) -> None:
    """Run the example's setup, send its request as written (placeholders replaced), check the answer."""
    auth = {"Authorization": f"Bearer {key}", **(LC if document["dialect"] == "leadconnector" else {})}
    base = {document["key"]: key, LC_LOCATION: tenant.ws_public_id}
    setup_ids: list[str] = []
    for step in example.get("setup", document.get("setup_default", [])):
        body = substitute(step.get("body"), base)
        if document["dialect"] == "leadconnector":
            body = {"locationId": tenant.ws_public_id, **body}
        response = await client.request(step["method"], step["path"], json=body, headers=auth)
        assert response.status_code in (200, 201), response.text
        setup_ids.append(response_id(response.json()))
    ids = {**document.get("ids", {}), **example.get("ids", {})}
    replacements = {**base, **{text: setup_ids[i] for text, i in ids.items() if i < len(setup_ids)}}
    request = substitute(example["request"], replacements)
    response = await client.request(
        request["method"], request["path"], headers=request.get("headers", {}), json=request.get("body")
    )
    expected = example["expect"]
    assert response.status_code == expected["status"], response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    context = {"setup_ids": setup_ids, "ws": tenant.ws_public_id, "body": body, "exact": expected.get("exact")}
    problems = matches(expected["body"], body, context)
    assert not problems, "\n".join(problems)
