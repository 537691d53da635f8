"""Schemathesis over the pipeline routes (companies, pipelines, deals, tasks): generated requests, valid
and invalid, never get a 5xx, and answers match the documented schema."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup

from tests.conftest import Tenant
from tests.test_fuzz import CHECKS, _generate

ROUTES = ("/v1/companies", "/v1/pipelines", "/v1/deals", "/v1/tasks")


async def test_generated_pipeline_requests_never_get_a_5xx_and_match_the_schema(
    app: Any, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    schema = schemathesis.openapi.from_dict(app.openapi())
    h = tenant.headers
    company = (await client.post("/v1/companies", json={"name": "F", "domain": "fuzz.example"}, headers=h)).json()
    deal = (await client.post("/v1/deals", json={"name": "F", "value": "10"}, headers=h)).json()
    task = (await client.post("/v1/tasks", json={"title": "F"}, headers=h)).json()
    pipeline = (await client.get("/v1/pipelines/default", headers=h)).json()
    real = {"company_id": company["id"], "deal_id": deal["id"], "task_id": task["id"], "pipeline_id": pipeline["id"]}
    headers = {**h, "LeadHub-Workspace": tenant.ws_public_id}
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith(ROUTES)]
    assert len(operations) >= 20, [op.path for op in operations]
    failures: list[str] = []
    for operation in operations:
        for mode, count in ((GenerationMode.POSITIVE, 8), (GenerationMode.NEGATIVE, 4)):
            for i, case in enumerate(_generate(operation, mode, count)):
                if i % 2 == 0 and case.path_parameters:
                    for name, value in real.items():
                        if name in case.path_parameters:
                            case.path_parameters[name] = value
                kwargs = case.as_transport_kwargs(base_url="http://leadhub.test", headers=headers)
                kwargs.pop("cookies", None)
                if isinstance(kwargs.get("data"), bytes | str):
                    kwargs["content"] = kwargs.pop("data")
                response = await client.request(**kwargs)
                try:
                    case.validate_response(response, checks=CHECKS)
                except FailureGroup as group:
                    found = "; ".join(f"{type(e).__name__}: {e}" for e in group.exceptions)
                    failures.append(f"{case.as_curl_command(headers=headers)}\n  -> {response.status_code} {found}")
    assert not failures, "\n\n".join(failures[:10])
