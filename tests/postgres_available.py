"""Exit 0 when the test PostgreSQL answers (used by `make test` to decide on the PostgreSQL run)."""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg

URL = os.environ.get("LEADHUB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


async def main() -> int:
    try:
        conn = await asyncpg.connect(URL.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return 1
    await conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
