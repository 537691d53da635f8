"""The enrichment pipeline: the offline enrichers, then any external providers an operator plugged in,
then normalization again (providers speak loosely). It runs before the write transaction opens, so a slow
provider never holds a database lock.

An enricher is anything with a ``name`` and ``async enrich(lead)``; it fills only what is missing through
``Lead.suggest``, so what the caller gave is never overwritten by a guess.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from leadhub.enrichment.http_provider import HttpProvider
from leadhub.enrichment.lead import Lead
from leadhub.enrichment.offline import DomainFromEmail, NameParts, Normalize, PhoneDetails

log = logging.getLogger("leadhub.enrichment")


class Enricher(Protocol):
    name: str

    async def enrich(self, lead: Lead) -> None: ...


class Pipeline:
    def __init__(self, providers: Sequence[Enricher] = ()) -> None:
        self.providers = list(providers)
        self.steps: list[Enricher] = [Normalize(), DomainFromEmail(), NameParts(), PhoneDetails()]
        if self.providers:
            self.steps += [*self.providers, Normalize(), DomainFromEmail(), PhoneDetails()]

    async def run(self, lead: Lead) -> Lead:
        for step in self.steps:
            await step.enrich(lead)
        return lead


def from_env(environ: Mapping[str, str] | None = None) -> Pipeline:
    """The pipeline an operator configured: ``LEADHUB_ENRICHMENT_URL`` (and optionally
    ``LEADHUB_ENRICHMENT_TOKEN``, ``LEADHUB_ENRICHMENT_TIMEOUT`` seconds) plugs in an HTTP provider."""
    env = os.environ if environ is None else environ
    url = env.get("LEADHUB_ENRICHMENT_URL", "").strip()
    if not url:
        return Pipeline()
    timeout = float(env.get("LEADHUB_ENRICHMENT_TIMEOUT", "5") or 5)
    return Pipeline([HttpProvider(url, token=env.get("LEADHUB_ENRICHMENT_TOKEN") or None, timeout=timeout)])


_configured: Pipeline | None = None


def for_app(state: Any) -> Pipeline:
    """The app's pipeline: ``app.state.enrichment`` when set (tests, embedders), else the environment's."""
    global _configured
    pipeline = getattr(state, "enrichment", None)
    if isinstance(pipeline, Pipeline):
        return pipeline
    if _configured is None:
        _configured = from_env()
    return _configured
