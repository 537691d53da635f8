"""Every request example of seeds 000 (MagicBlocks), 001 (Leads v1) and 004 (LeadConnector), sent as
written with only host, prefix, key and placeholder ids replaced, answers the documented status and body."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.compat.support import load, replay
from tests.conftest import Tenant

DOCUMENTS = [load(name) for name in ("magicblocks.json", "leads_v1.json", "leadconnector.json")]
CASES = [(doc, example) for doc in DOCUMENTS for example in doc["examples"]]


@pytest.mark.parametrize(("document", "example"), CASES, ids=[f"{doc['dialect']}: {ex['name']}" for doc, ex in CASES])
async def test_seed_example_answers_as_documented(
    client: httpx.AsyncClient, tenant: Tenant, document: dict[str, Any], example: dict[str, Any]
) -> None:
    # The pages' keys are workspace keys (MagicBlocks API tokens, `sk-workspace_…`) or, for LeadConnector,
    # a company token: the tenant's organization key.
    if document["dialect"] == "leadconnector":
        key = tenant.key
    else:
        key = await tenant.make_key(["contacts.read", "contacts.write"], workspace=True)
    await replay(client, tenant, document, example, key)


def test_every_example_file_holds_examples() -> None:
    assert {doc["dialect"] for doc in DOCUMENTS} == {"magicblocks", "leads-v1", "leadconnector"}
    assert all(doc["examples"] for doc in DOCUMENTS)
