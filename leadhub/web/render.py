"""Jinja2 rendering for the web door: one environment, the messages catalogue as ``_``, and the security
headers every page carries."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse, Response

from leadhub.web import messages

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

# Scripts and styles come only from our own origin: no inline script, no third party, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _day(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d")


def query_string(params: dict[str, Any], **changes: Any) -> str:
    """A query string from ``params`` with ``changes`` applied (``None`` removes a key); lists repeat the key."""
    merged = {**params, **changes}
    pairs: list[tuple[str, str]] = []
    for key, value in merged.items():
        if value is None or value == "" or value == []:
            continue
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, str(item)))
    return urlencode(pairs)


def _money(value: Any) -> str:
    """Exact decimal amounts (the services keep money as decimal strings), grouped for reading."""
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value)


def _plain(value: Any) -> str:
    """A rule's or a lead's value as a reader sees it: lists joined, ranges in words, booleans as yes/no."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return messages.t("common.yes") if value else messages.t("common.no")
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict) and set(value) <= {"min", "max"}:
        low, high = _plain(value.get("min")), _plain(value.get("max"))
        if low and high:
            return f"{low} to {high}"
        return f"≥ {low}" if low else f"≤ {high}"
    if isinstance(value, float) and value == int(value):
        return f"{int(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
env.globals["_"] = messages.t
env.globals["query"] = query_string
# The pipeline board and My tasks (issue 10) show in the navigation once their screens exist.
env.globals["has_pipeline"] = True
env.filters["when"] = _when
env.filters["day"] = _day
env.filters["money"] = _money
env.filters["plain"] = _plain


def html(template: str, context: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = env.get_template(template).render(**context)
    return HTMLResponse(body, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})


def fragment(markup: str | Markup, status: int = 200) -> Response:
    return HTMLResponse(str(markup), status_code=status, headers=SECURITY_HEADERS)
