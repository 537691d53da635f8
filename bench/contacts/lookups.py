"""Lookup by email over HTTP on a settled SQLite database: seed 50,000 contacts first, then start
`leadhub serve` and run 3 x 1,000 sequential lookups (the quick bench seeds while its server runs, right
before its lookups, so its tail includes the aftermath of the bulk load).

    .venv/bin/python -m bench.contacts.lookups
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path

from bench.contacts import run as b

CONTACTS = 50_000


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-lookups-"))
    url = f"sqlite+aiosqlite:///{work}/leadhub.db"
    key, ws = asyncio.run(b.bootstrap(url))
    asyncio.run(b.seed(url, ws, CONTACTS, 0))
    env = {
        "LEADHUB_DATABASE_URL": url,
        "LEADHUB_DATA_DIR": str(work / "data"),
        "LEADHUB_RATELIMIT_KEY_LIMIT": "100000000",
        "LEADHUB_RATELIMIT_WORKSPACE_LIMIT": "100000000",
        "LEADHUB_RATELIMIT_DAILY_QUOTA": "1000000000",
    }
    port = b.free_port()
    base = f"http://127.0.0.1:{port}"
    serve = [str(b.BIN / "leadhub"), "serve", "--port", str(port), "--workers", "1", "--log-level", "warning"]
    with b.process(serve, env, f"{base}/healthz"):
        rnd = random.Random(7)
        for _ in range(3):
            picks = [b.person(rnd.randrange(CONTACTS)) for _ in range(1000)]
            paths = [f"/v1/contacts/lookup?email={p['email'].upper()}" for p in picks]
            lat = sorted(b.timed_gets(base, {"Authorization": f"Bearer {key}"}, paths))
            print(f"lookup by email p50 {b.pct(lat, 50):.1f} ms  p99 {b.pct(lat, 99):.1f} ms  max {lat[-1]:.1f} ms")


if __name__ == "__main__":
    main()
