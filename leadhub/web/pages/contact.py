"""(placeholder)"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/app/{ws_id}", include_in_schema=False)
