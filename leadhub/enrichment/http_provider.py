"""An external enrichment provider over HTTP, for operators who buy enrichment data.

The contract (docs/campaigns.md, "External enrichment"): leadhub POSTs the lead as JSON,
``{"contact": {...}, "company": {...}}`` with the ``contact.*`` / ``company.*`` fields it knows, and an
``Authorization: Bearer <token>`` header when a token is configured. The provider answers 200 with the
same shape holding what it found. Unknown fields are ignored, and every value only fills a field the
lead left empty. A provider that fails (timeout, non-200, not JSON) is skipped: enrichment is best effort
and never fails the request.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from leadhub.enrichment.lead import COMPANY_PATHS, CONTACT_PATHS, Lead

log = logging.getLogger("leadhub.enrichment")


class HttpProvider:
    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 5.0,
        name: str = "http_provider",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout
        self.name = name
        self._transport = transport

    def request_body(self, lead: Lead) -> dict[str, Any]:
        return {"contact": lead.section("contact"), "company": lead.section("company")}

    async def enrich(self, lead: Lead) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self._transport) as client:
                response = await client.post(self.url, json=self.request_body(lead), headers=headers)
            if response.status_code != 200:
                raise ValueError(f"answered {response.status_code}")
            found = response.json()
            if not isinstance(found, dict):
                raise ValueError("answered something other than a JSON object")
        except (httpx.HTTPError, ValueError) as exc:
            reason = str(exc) or type(exc).__name__
            log.warning("enrichment provider %s skipped: %s", self.name, reason)
            lead.skipped[self.name] = reason
            return
        for section, paths in (("contact", CONTACT_PATHS), ("company", COMPANY_PATHS)):
            values = found.get(section)
            if not isinstance(values, dict):
                continue
            for key in paths:
                if key in values:
                    lead.suggest(f"{section}.{key}", values[key], self.name)
