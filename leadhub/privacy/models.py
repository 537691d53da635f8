"""The suppression list: SHA-256 digests of erased people's emails and phones, so a later
import of the same address is refused without keeping the address itself."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from leadhub.db.base import Base


class Suppression(Base):
    __tablename__ = "suppressions"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    # sha256 hex of "email:<normalized address>" or "phone:<E.164 number>".
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
