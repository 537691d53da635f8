"""Schemathesis over the app's own OpenAPI document: generated requests (valid and invalid) to every
foundation operation never get a 5xx, and answers conform to the documented schema."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from tests.conftest import Tenant

# The foundation's routes (issue 3); other doors bring their own fuzz runs.
FOUNDATION = ("/healthz", "/readyz", "/v1/contacts", "/v1/custom-fields", "/v1/events", "/v1/keys", "/v1/workspaces")
POSITIVE_EXAMPLES = 20  # per operation
NEGATIVE_EXAMPLES = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _generate(operation: Any, mode: GenerationMode, count: int) -> list[Any]:
    """Draw cases with Hypothesis (generation only: requests go out afterwards through the test's client,
    on the session's event loop and database)."""
    cases: list[Any] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def collect(case: Any) -> None:
        cases.append(case)

    # An operation without parameters has nothing to make invalid: no negative cases.
    with contextlib.suppress(Unsatisfiable):
        collect()
    return cases


async def test_generated_requests_never_get_a_5xx_and_answers_match_the_schema(
    app: Any, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    schema = schemathesis.openapi.from_dict(app.openapi())
    # Real ids, so generated requests reach existing rows, not only 404s.
    contact = (await client.post("/v1/contacts", json={"email": "fuzz@example.com"}, headers=tenant.headers)).json()
    field = (
        await client.post(
            "/v1/custom-fields", json={"key": "tier", "label": "Tier", "type": "text"}, headers=tenant.headers
        )
    ).json()
    real_ids = {"contact_id": contact["id"], "field_id": field["id"]}
    headers = {**tenant.headers, "LeadHub-Workspace": tenant.ws_public_id}

    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith(FOUNDATION)]
    assert len(operations) >= 15, [op.path for op in operations]
    failures: list[str] = []
    sent = 0
    for operation in operations:
        if operation.method.upper() == "DELETE" and operation.path == "/v1/keys/{key_id}":
            continue  # could revoke the key the run authenticates with
        for mode, count in ((GenerationMode.POSITIVE, POSITIVE_EXAMPLES), (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)):
            for i, case in enumerate(_generate(operation, mode, count)):
                if i % 2 == 0:
                    for name, value in real_ids.items():
                        if case.path_parameters and name in case.path_parameters:
                            case.path_parameters[name] = value
                kwargs = case.as_transport_kwargs(base_url="http://leadhub.test", headers=headers)
                kwargs.pop("cookies", None)
                if isinstance(kwargs.get("data"), bytes | str):
                    kwargs["content"] = kwargs.pop("data")
                response = await client.request(**kwargs)
                sent += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except FailureGroup as group:  # collect every failure, then report them together
                    found = "; ".join(f"{type(e).__name__}: {e}" for e in group.exceptions)
                    failures.append(f"{case.as_curl_command(headers=headers)}\n  -> {response.status_code} {found}")
    assert sent > 400
    assert not failures, "\n\n".join(failures[:10])
