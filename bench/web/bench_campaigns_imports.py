"""Server time of the campaigns, import and export screens over a large workspace (SQLite by default).

    .venv/bin/python -m bench.web.bench_campaigns_imports --contacts 100000 --prospects 5000

Seeds contacts as bench.web.bench does, a campaign whose prospects are bulk-inserted (with a two-criterion
breakdown each), and one finished import of a 1,000-row CSV through the web screens; then times each page
in-process through the ASGI app (no network): median and worst of several runs. Export is timed whole
(every matching lead streamed), with its rows per second."""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select

from bench.web.bench import PASSWORD, seed, timed
from leadhub.app import create_app
from leadhub.auth.models import Workspace
from leadhub.campaigns import icp
from leadhub.campaigns.models import Campaign, Prospect
from leadhub.config import Settings
from leadhub.contacts.models import Contact
from leadhub.core import ids
from leadhub.db import migrate
from leadhub.db.engine import Database

CRITERIA = [
    {
        "id": "size",
        "label": "50 to 500 people",
        "field": "company.employee_count",
        "op": "range",
        "min": 50,
        "max": 500,
        "weight": 30,
    },
    {"id": "vp", "field": "contact.title", "op": "contains", "value": ["VP", "Head"], "weight": 20},
]


async def seed_campaign(db: Database, ws_public_id: str, prospects: int) -> str:
    rules = [icp.Criterion.model_validate(c) for c in CRITERIA]
    now = datetime.now(UTC)
    async with db.session() as session:
        ws = await session.scalar(select(Workspace).where(Workspace.id == ids.decode(ids.WORKSPACE, ws_public_id)))
        assert ws is not None
        campaign = Campaign(
            workspace_id=ws.id,
            id=ids.new_uuid(),
            name="Bench campaign",
            description=None,
            status="active",
            criteria=CRITERIA,
            disqualifiers=[],
            claim_ttl_seconds=900,
            created_at=now,
            updated_at=now,
        )
        session.add(campaign)
        contacts = list(await session.scalars(select(Contact.id).where(Contact.workspace_id == ws.id).limit(prospects)))
        rows = []
        for n, contact in enumerate(contacts):
            facts = {"company.employee_count": (n * 37) % 900, "contact.title": "VP Sales" if n % 3 else "Engineer"}
            scored = icp.score(rules, [], facts)
            at = now - timedelta(seconds=n)
            rows.append(
                {
                    "workspace_id": ws.id,
                    "id": ids.new_uuid(),
                    "campaign_id": campaign.id,
                    "contact_id": contact,
                    "company_id": None,
                    "state": ("queued", "queued", "in_progress", "contacted", "replied", "disqualified")[n % 6],
                    "state_reason": None,
                    "score": scored.score,
                    "tier": scored.tier,
                    "confidence": scored.confidence,
                    "breakdown": scored.breakdown,
                    "profile": {},
                    "enriched": {},
                    "research_data": {},
                    "extra_context": {},
                    "custom_data": {},
                    "notes": None,
                    "claim_count": 0,
                    "queued_at": at,
                    "scored_at": at,
                    "created_at": at,
                    "updated_at": at,
                }
            )
        await session.flush()
        for start in range(0, len(rows), 2000):
            await session.execute(insert(Prospect), rows[start : start + 2000])
        await session.commit()
        return campaign.public_id


def _csv(rows: int) -> bytes:
    lines = ["First Name,Last Name,Email,Phone,Colour"]
    lines += [f"Imp{i},Row{i},imp{i}@bench.example.com,,blue" for i in range(rows)]
    lines[5] = "Bad,Row,not-an-email,,red"
    return ("\n".join(lines) + "\n").encode()


async def main(count: int, prospects: int, runs: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        await migrate.upgrade(db)
        started = time.perf_counter()
        ws, _ = await seed(db, count)
        campaign = await seed_campaign(db, ws, prospects)
        print(f"seeded {count} contacts and {prospects} prospects in {time.perf_counter() - started:.1f} s")
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
                page = await client.get(f"{base}/imports")
                csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
                assert csrf
                files = {"file": ("bench.csv", _csv(1000), "text/csv")}
                uploaded = await client.post(f"{base}/imports/upload", data={"csrf": csrf.group(1)}, files=files)
                mapping_url = uploaded.headers["location"]
                choice = {"csrf": csrf.group(1), "mode": "upsert", "match_keys": "both", "action": "start"}
                choice.update({"map-0": "first_name", "map-1": "last_name", "map-2": "email", "map-4": "ignore"})
                done = await client.post(mapping_url, data=choice)
                job = done.headers["location"]
                deadline = time.monotonic() + 120
                while "hx-trigger" in (await client.get(f"{job}/progress")).text:
                    assert time.monotonic() < deadline, "import did not finish"
                    await asyncio.sleep(0.1)
                second = await client.post(f"{base}/imports/upload", data={"csrf": csrf.group(1)}, files=files)
                prospect = re.search(
                    r"/prospects/(prs_[0-9a-z]+)", (await client.get(f"{base}/campaigns/{campaign}")).text
                )
                assert prospect
                pages = {
                    "campaigns list": f"{base}/campaigns",
                    f"campaign page ({prospects} prospects, first 50)": f"{base}/campaigns/{campaign}",
                    "campaign page, state=queued": f"{base}/campaigns/{campaign}?state=queued",
                    "prospect page (breakdown)": f"{base}/campaigns/{campaign}/prospects/{prospect.group(1)}",
                    "imports list": f"{base}/imports",
                    "import mapping form": second.headers["location"],
                    "import job page": job,
                    "import progress partial": f"{job}/progress",
                }
                print(f"{'page':48} {'median ms':>10} {'max ms':>8}")
                for name, path in pages.items():
                    await client.get(path)  # warm
                    median, worst = await timed(client, path, runs)
                    print(f"{name:48} {median:10.1f} {worst:8.1f}")
                for name, path in (
                    (f"export CSV, all {count} leads", f"{base}/leads/export?format=csv"),
                    ("export JSON Lines, status=qualified", f"{base}/leads/export?format=jsonl&status=qualified"),
                ):
                    began = time.perf_counter()
                    answer = await client.get(path)
                    seconds = time.perf_counter() - began
                    rows = answer.text.count("\n") - (1 if "csv" in path else 0)
                    print(f"{name:48} {seconds:8.2f} s  {rows} rows  {rows / seconds:,.0f} rows/s")
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--prospects", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    asyncio.run(main(args.contacts, args.prospects, args.runs, args.database_url))
