"""Schemathesis over the app's own OpenAPI document: generated requests (valid and invalid) to EVERY
operation, native and dialect, never get a 5xx; answers conform to the documented status codes, content
types, bodies and headers; invalid data is refused; a required header left out is refused; no operation
that declares authentication answers 2xx without a valid key (the ignored-auth probe); and a deleted
resource is gone (use after free). New routes are fuzzed as soon as they are mounted."""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Any

import httpx
import schemathesis

# Imported at collection rather than by the first ``openapi.from_dict`` inside a test: pytest rewrites
# schemathesis' modules as it loads them, and CPython 3.11.7's parser once failed on one there, mid-test under
# load ("SystemError: AST constructor recursion depth mismatch", PostgreSQL suite).
import schemathesis.specs.openapi.schemas
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from tests.conftest import Tenant
from tests.drawing import draw

# Bounded so the whole run fits the suite's budget on both engines (about 10 requests per operation).
POSITIVE_EXAMPLES = 6  # per operation
NEGATIVE_EXAMPLES = 4
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    missing_required_header,
]
# Operations a generated request must not run against the fuzzing tenant's own key.
SKIP = {("DELETE", "/v1/keys/{key_id}")}
# Real ids are not put into these: they would send requests off the machine (a test delivery to a URL).
NO_REAL_IDS = {("POST", "/v1/webhooks/{endpoint_id}/test")}
GENEROUS = {"key_limit": 1_000_000, "workspace_limit": 1_000_000, "daily_quota": 1_000_000_000}


def _generate(operation: Any, mode: GenerationMode, count: int) -> list[Any]:
    """Draw cases with Hypothesis (generation only: requests go out afterwards through the test's client,
    on the session's event loop and database)."""
    # An operation without parameters has nothing to make invalid: no negative cases.
    with contextlib.suppress(Unsatisfiable):
        return draw(operation.as_strategy(generation_mode=mode), count)
    return []


def _wire_identical(case: Any, group: FailureGroup, sent_headers: dict[str, str]) -> bool:
    """A "schema-violating" query value that is the same bytes as a valid one (``tag=`` is both the string
    "" and the one-item array [""]; an object sent as its text): the server cannot tell, so accepting it is not
    a failure. A generated header this test replaces with its own (the key, the workspace) never reaches the
    server, so its being invalid does not count."""
    kinds = {type(e).__name__ for e in group.exceptions}
    meta = getattr(case, "meta", None)
    if kinds != {"AcceptedNegativeData"} or meta is None:
        return False
    from schemathesis.core.parameters import ParameterLocation

    replaced = {name.lower() for name in sent_headers}
    header_sent = not {name.lower() for name in (case.headers or {})} <= replaced
    locations = [ParameterLocation.PATH, ParameterLocation.BODY] + ([ParameterLocation.HEADER] if header_sent else [])
    return bool(meta.is_negative_at(ParameterLocation.QUERY)) and not any(meta.is_negative_at(loc) for loc in locations)


async def _probe_auth(client: httpx.AsyncClient, kwargs: dict[str, Any], label: str, failures: list[str]) -> None:
    """A request that succeeded with the key must fail 401 without it and with a wrong one."""
    for name, auth in (("no key", None), ("wrong key", "Bearer lh_wrongwrongwrongwrongwrongwrongwrong")):
        headers = {k: v for k, v in kwargs.get("headers", {}).items() if k.lower() != "authorization"}
        if auth is not None:
            headers["Authorization"] = auth
        response = await client.request(**{**kwargs, "headers": headers})
        if response.status_code != 401:
            failures.append(f"ignored auth ({name}) on {label}: {response.status_code}")


async def _use_after_free(client: httpx.AsyncClient, headers: dict[str, str], failures: list[str]) -> None:
    """Deleted resources are gone for every route that reads them."""
    contact = (await client.post("/v1/contacts", json={"email": "gone@example.com"}, headers=headers)).json()["id"]
    field = (
        await client.post("/v1/custom-fields", json={"key": "gone", "label": "Gone", "type": "text"}, headers=headers)
    ).json()["id"]
    hook = (
        await client.post(
            "/v1/webhooks", json={"url": "https://hooks.example.net/gone", "event_types": ["*"]}, headers=headers
        )
    ).json()["id"]
    for deleted, reads in (
        (
            f"/v1/contacts/{contact}",
            [f"/v1/contacts/{contact}", f"/v1/contacts/{contact}/timeline", f"/v1/contacts/{contact}/export"],
        ),
        (f"/v1/custom-fields/{field}", [f"/v1/custom-fields/{field}"]),
        (f"/v1/webhooks/{hook}", [f"/v1/webhooks/{hook}", f"/v1/webhooks/{hook}/deliveries"]),
    ):
        assert (await client.delete(deleted, headers=headers)).status_code in (200, 204), deleted
        for path in reads:
            status = (await client.get(path, headers=headers)).status_code
            if status != 404:
                failures.append(f"use after free: GET {path} answered {status} after DELETE {deleted}")


async def test_generated_requests_to_every_route_pass_every_check(
    app: Any, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    schema = schemathesis.openapi.from_dict(app.openapi())
    headers = {**tenant.headers, "LeadHub-Workspace": tenant.ws_public_id, "Version": "2021-07-28"}
    assert (await client.patch("/v1/rate-limits", json=GENEROUS, headers=tenant.headers)).status_code == 200
    # Real ids, so generated requests reach existing rows, not only 404s.
    contact = (await client.post("/v1/contacts", json={"email": "fuzz@example.com"}, headers=tenant.headers)).json()
    field = (
        await client.post(
            "/v1/custom-fields", json={"key": "tier", "label": "Tier", "type": "text"}, headers=tenant.headers
        )
    ).json()
    hook = (
        await client.post(
            "/v1/webhooks", json={"url": "https://hooks.example.net/fuzz", "event_types": ["*"]}, headers=tenant.headers
        )
    ).json()
    real_ids = {
        "contact_id": contact["id"],
        "lead": contact["id"],
        "field_id": field["id"],
        "endpoint_id": hook["id"],
        "email": "fuzz@example.com",
        "workspace_id": tenant.ws_public_id,
    }

    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 100, len(operations)
    assert any(op.path.startswith("/compat/") for op in operations)
    failures: list[str] = []
    summary: list[str] = []
    probed: set[str] = set()
    sent = 0
    for operation in operations:
        key = (operation.method.upper(), operation.path)
        if key in SKIP:
            continue
        secured = bool(operation.definition.raw.get("security"))
        for mode, count in ((GenerationMode.POSITIVE, POSITIVE_EXAMPLES), (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)):
            for i, case in enumerate(_generate(operation, mode, count)):
                if i % 2 == 0 and key not in NO_REAL_IDS:
                    for name, value in real_ids.items():
                        if case.path_parameters and name in case.path_parameters:
                            case.path_parameters[name] = value
                kwargs = case.as_transport_kwargs(base_url="http://leadhub.test", headers=headers)
                kwargs.pop("cookies", None)
                if isinstance(kwargs.get("data"), bytes | str):
                    kwargs["content"] = kwargs.pop("data")
                try:
                    response = await client.request(**kwargs)
                except httpx.InvalidURL:
                    continue  # a URL longer than any client sends (httpx refuses it): nothing reaches the server
                sent += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except FailureGroup as group:  # collect every failure, then report them together
                    if _wire_identical(case, group, headers):
                        continue
                    kinds = ",".join(sorted({type(e).__name__ for e in group.exceptions}))
                    found = "; ".join(f"{type(e).__name__}: {e}" for e in group.exceptions)
                    summary.append(f"{operation.label} -> {response.status_code} {kinds}")
                    failures.append(f"{case.as_curl_command(headers=headers)}\n  -> {response.status_code} {found}")
                if secured and 200 <= response.status_code < 300 and operation.label not in probed:
                    probed.add(operation.label)
                    await _probe_auth(client, kwargs, operation.label, failures)
                if operation.path == "/v1/rate-limits":  # a generated policy must not throttle the rest of the run
                    await client.patch("/v1/rate-limits", json=GENEROUS, headers=tenant.headers)
    await _use_after_free(client, tenant.headers, failures)
    assert sent > 800
    assert len(probed) >= 25, sorted(probed)
    grouped = "\n".join(f"{n} x {line}" for line, n in Counter(summary).most_common())
    assert not failures, f"{len(failures)} failures:\n{grouped}\n\n" + "\n\n".join(failures[:10])
