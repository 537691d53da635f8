"""Server time of the web app's main pages over a large workspace (SQLite by default).

    .venv/bin/python -m bench.web.bench --contacts 100000

Seeds contacts with bulk inserts (not through the service: this measures reading), signs a user in, then
times each page in-process through the ASGI app (no network): median and worst of several runs."""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

from leadhub.app import create_app
from leadhub.auth import service as auth
from leadhub.config import Settings
from leadhub.contacts.models import Contact, ContactEmail
from leadhub.core import ids
from leadhub.db import migrate
from leadhub.db.engine import Database
from leadhub.uow import unit_of_work
from leadhub.users import service as users

SOURCES = ("ads", "referral", "webinar", "organic", None)
STATUSES = ("new", "contacted", "qualified", "converted", "lost", "follow_up")
PASSWORD = "benchmark password"


async def seed(db: Database, count: int) -> tuple[str, str]:
    async with unit_of_work(db) as session:
        org = await auth.create_organization(session, "bench")
        ws = await auth.create_workspace(session, org.id, "bench", "US")
        await users.create_user(session, org.id, email="bench@example.com", password=PASSWORD, role="owner")
    now = datetime.now(UTC)
    first_id = ""
    batch = 5000
    for start in range(0, count, batch):
        contacts, emails = [], []
        for i in range(start, min(start + batch, count)):
            key = ids.new_uuid()
            first_id = first_id or ids.encode(ids.CONTACT, key)
            at = now - timedelta(minutes=i * 5)
            name = f"Person {i}"
            email = f"person{i}@example.com"
            contacts.append(
                {
                    "workspace_id": ws.id,
                    "id": key,
                    "first_name": "Person",
                    "last_name": str(i),
                    "name": name,
                    "status": STATUSES[i % len(STATUSES)],
                    "source": SOURCES[i % len(SOURCES)],
                    "custom_fields": {},
                    "dnd": False,
                    "dnd_settings": {},
                    "consent": {},
                    "is_test": False,
                    "session_count": 0,
                    "created_at": at,
                    "updated_at": at,
                    "search_text": f"{name.lower()} {email}",
                }
            )
            emails.append(
                {
                    "workspace_id": ws.id,
                    "address": email,
                    "contact_id": key,
                    "type": "work",
                    "is_primary": True,
                    "position": 0,
                }
            )
        async with db.session() as session:
            await session.execute(insert(Contact), contacts)
            await session.execute(insert(ContactEmail), emails)
            await session.commit()
    return ws.public_id, first_id


async def timed(client: httpx.AsyncClient, path: str, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = await client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return statistics.median(times), max(times)


async def main(count: int, runs: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        await migrate.upgrade(db)
        started = time.perf_counter()
        ws, contact = await seed(db, count)
        print(f"seeded {count} contacts in {time.perf_counter() - started:.1f} s")
        settings = Settings(data_dir=Path(tmp), ratelimit_enabled=False)
        app = create_app(settings, db, background=False)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                form = await client.get("/app/sign-in")
                token = re.search(r'name="csrf" value="([^"]+)"', form.text)
                assert token
                data = {"email": "bench@example.com", "password": PASSWORD, "csrf": token.group(1)}
                assert (await client.post("/app/sign-in", data=data)).status_code == 303
                base = f"/app/{ws}"
                pages = {
                    "dashboard": base,
                    "leads (first page)": f"{base}/leads",
                    "leads, search q=person 4242": f"{base}/leads?q=person+4242",
                    "leads, search q=nobody (no match)": f"{base}/leads?q=nobody",
                    "leads, status=qualified": f"{base}/leads?status=qualified",
                    "leads, sort=updated_at": f"{base}/leads?sort=updated_at",
                    "lead page": f"{base}/leads/{contact}",
                    "pipeline": f"{base}/pipeline",
                    "settings: keys": f"{base}/settings/keys",
                }
                print(f"{'page':40} {'median ms':>10} {'max ms':>8}")
                for name, path in pages.items():
                    await client.get(path)  # warm
                    median, worst = await timed(client, path, runs)
                    print(f"{name:40} {median:10.1f} {worst:8.1f}")
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    asyncio.run(main(args.contacts, args.runs, args.database_url))
