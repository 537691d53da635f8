"""Endpoint secrets and Standard Webhooks signatures (produced by the ``standardwebhooks`` package itself,
so any Standard Webhooks verifier accepts them)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from datetime import datetime
from math import floor

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh ``whsec_…`` secret: base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def headers(msg_id: str, timestamp: datetime, body: str, signing_secrets: Iterable[str]) -> dict[str, str]:
    """The three Standard Webhooks headers; one ``v1,…`` signature per secret, space-separated, so a
    receiver holding either the new or the previous secret (during a rotation's grace period) verifies."""
    signatures = [Webhook(secret).sign(msg_id, timestamp, body) for secret in signing_secrets]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(floor(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
