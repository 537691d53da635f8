"""Duplicate detection quality and speed.

    .venv/bin/python bench/duplicates/bench.py                      # quality + search time (SQLite, 100k)
    .venv/bin/python bench/duplicates/bench.py --contacts 1000000   # search time at 1M contacts (slow to load)
    .venv/bin/python bench/duplicates/bench.py --engine postgres --write

Quality: precision and recall of the detector at the default threshold on generate.dataset() (ground truth:
which records are one person), with the same blocking keys and block cap the service uses; also the
share of true pairs that blocking puts side by side at all.
Speed: a workspace of ``--contacts`` contacts (the generator's records, bulk-loaded with their emails,
phones and blocking keys), then ``duplicates.candidates_for`` for ``--searches`` random contacts, one
read session each, as GET /v1/contacts/{id}/duplicates runs it; median and p99 per contact.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import insert

from bench.duplicates.generate import Record, dataset
from leadhub.contacts import dedupe, duplicates, match_index
from leadhub.contacts.dedupe_models import DEFAULT_THRESHOLD, MatchKey
from leadhub.contacts.models import Contact, ContactEmail, ContactPhone
from leadhub.core import clock, ids
from leadhub.core.validation import ValidationFailure, normalize_email
from leadhub.db import migrate
from leadhub.db.engine import Database
from leadhub.uow import unit_of_work

HERE = Path(__file__).parent
POSTGRES_URL = os.environ.get("LEADHUB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def profile_of(r: Record) -> dedupe.Profile:
    emails = []
    for e in r.emails:
        try:
            emails.append(normalize_email(e))
        except ValidationFailure:
            continue
    return dedupe.profile(
        str(r.key),
        first_name=r.first,
        middle_name=None,
        last_name=r.last,
        name=f"{r.first} {r.last}",
        emails=emails,
        phones=r.phones,
        company_name=r.company,
        website=r.website,
    )


def quality(records: list[Record], threshold: float) -> dict[str, Any]:
    profiles = {r.key: profile_of(r) for r in records}
    person = {r.key: r.person for r in records}
    blocks: dict[str, list[int]] = defaultdict(list)
    keys_of = {k: dedupe.blocking_keys(p) for k, p in profiles.items()}
    for k, keys in keys_of.items():
        for key in keys:
            blocks[key].append(k)
    compared: set[tuple[int, int]] = set()
    predicted: set[tuple[int, int]] = set()
    started = time.perf_counter()
    for key in blocks:
        blocks[key] = sorted(blocks[key], reverse=True)[: match_index.BLOCK_CAP]
    for k, keys in keys_of.items():
        near: set[int] = set()
        for key in keys:
            near.update(blocks[key])
        names = dedupe.name_keys(keys)
        for other in near:
            if other <= k or (k, other) in compared:
                continue
            compared.add((k, other))
            sizes = [len(blocks[n]) for n in names if k in blocks[n] and other in blocks[n]]
            if dedupe.compare(profiles[k], profiles[other], min(sizes) if sizes else None).score >= threshold:
                predicted.add((k, other))
    elapsed = time.perf_counter() - started
    by_person: dict[int, list[int]] = defaultdict(list)
    for k, p in person.items():
        by_person[p].append(k)
    truth = {(a, b) for ks in by_person.values() for a in ks for b in ks if a < b}
    tp = len(predicted & truth)
    # Merging the proposals joins records linked through a third (two copies each matching the original):
    # the pairs of the resulting groups are what a user ends up with.
    merged = _closure(predicted)
    merged_tp = len(merged & truth)
    return {
        "records": len(records),
        "true_pairs": len(truth),
        "compared_pairs": len(compared),
        "blocking_recall": len(compared & truth) / len(truth),
        "predicted": len(predicted),
        "true_positives": tp,
        "precision": tp / len(predicted) if predicted else 1.0,
        "recall": tp / len(truth),
        "merged_precision": merged_tp / len(merged) if merged else 1.0,
        "merged_recall": merged_tp / len(truth),
        "false_positives": sorted(predicted - truth)[:10],
        "false_negatives": sorted(truth - predicted)[:10],
        "seconds_in_memory": elapsed,
        "profiles": profiles,
    }


def _closure(edges: set[tuple[int, int]]) -> set[tuple[int, int]]:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent[find(a)] = find(b)
    groups: dict[int, list[int]] = defaultdict(list)
    for x in list(parent):
        groups[find(x)].append(x)
    return {(a, b) for g in groups.values() for a in g for b in g if a < b}


async def load_workspace(db: Database, records: list[Record]) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """Bulk-load the records as contacts (with emails, phones and blocking keys) into a new workspace."""
    from leadhub.auth import service as auth

    async with unit_of_work(db) as session:
        org = await auth.create_organization(session, "bench")
        ws = await auth.create_workspace(session, org.id, "duplicates", "US")
    seen_emails: set[str] = set()
    seen_phones: set[str] = set()
    keys: list[uuid.UUID] = []
    batch = 5000
    now = clock.now()
    for start in range(0, len(records), batch):
        contacts, emails, phones, match_keys = [], [], [], []
        for r in records[start : start + batch]:
            key = ids.new_uuid()
            keys.append(key)
            contacts.append(
                {
                    "workspace_id": ws.id, "id": key, "first_name": r.first.strip(), "last_name": r.last.strip(),
                    "name": f"{r.first.strip()} {r.last.strip()}", "company_name": r.company, "website": r.website,
                    "status": "new", "custom_fields": {}, "dnd": False, "dnd_settings": {}, "consent": {},
                    "is_test": False, "session_count": 0, "created_at": now, "updated_at": now, "search_text": "",
                }
            )  # fmt: skip
            kept_emails = []
            for e in r.emails:
                try:
                    address = normalize_email(e)
                except ValidationFailure:
                    continue
                if address not in seen_emails:
                    seen_emails.add(address)
                    kept_emails.append(address)
            kept_phones = [p for p in r.phones if p not in seen_phones]
            seen_phones.update(kept_phones)
            for i, address in enumerate(kept_emails):
                emails.append(
                    {"workspace_id": ws.id, "address": address, "contact_id": key, "type": "other",
                     "is_primary": i == 0, "position": i}
                )  # fmt: skip
            for i, number in enumerate(kept_phones):
                phones.append(
                    {"workspace_id": ws.id, "number": number, "contact_id": key, "type": "other",
                     "is_primary": i == 0, "position": i}
                )  # fmt: skip
            p = dedupe.profile(
                str(key), first_name=r.first, middle_name=None, last_name=r.last, name=None, emails=kept_emails,
                phones=kept_phones, company_name=r.company, website=r.website,
            )  # fmt: skip
            match_keys += [{"workspace_id": ws.id, "key": k, "contact_id": key} for k in dedupe.blocking_keys(p)]
        async with db.session() as session, session.begin():
            await session.execute(insert(Contact), contacts)
            if emails:
                await session.execute(insert(ContactEmail), emails)
            if phones:
                await session.execute(insert(ContactPhone), phones)
            await session.execute(insert(MatchKey), match_keys)
        if (start // batch) % 20 == 0:
            print(f"  loaded {start + len(contacts):,} contacts", flush=True)
    return ws.id, keys


async def search_times(db: Database, workspace_id: uuid.UUID, keys: list[uuid.UUID], searches: int) -> dict[str, Any]:
    from leadhub.auth.models import Workspace
    from leadhub.contacts import service

    rng = random.Random(1)
    sample = rng.sample(keys, min(searches, len(keys)))
    timings, found = [], 0
    async with db.read_session() as session:
        ws = await session.get(Workspace, workspace_id)
        assert ws is not None
    for key in sample:
        started = time.perf_counter()
        async with db.read_session() as session:
            contact = await service.get(session, ws, ids.encode(ids.CONTACT, key))
            found += len(await duplicates.candidates_for(session, ws, contact, DEFAULT_THRESHOLD))
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "searches": len(timings),
        "median_ms": statistics.median(timings),
        "p99_ms": timings[int(len(timings) * 0.99) - 1],
        "max_ms": timings[-1],
        "candidates_found": found,
    }


def machine() -> str:
    def run(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return "?"

    system = f"{platform.platform()}, Python {platform.python_version()}"
    return f"{system}\n$ nproc\n{run(['nproc'])}\n$ free -h\n{run(['free', '-h'])}"


async def timing(args: argparse.Namespace) -> dict[str, Any]:
    people = int(args.contacts / 1.36)  # the generator adds ~36% duplicate records
    records = dataset(people, seed=args.seed + 1)[: args.contacts]
    if args.engine == "postgres":
        import asyncpg

        schema = f"bench_dup_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://"))
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        db = Database(POSTGRES_URL, schema=schema)
    else:
        tmp = tempfile.mkdtemp(prefix="leadhub-dup-bench-")
        db = Database(f"sqlite+aiosqlite:///{tmp}/bench.db")
    try:
        await migrate.upgrade(db)
        started = time.perf_counter()
        ws_id, keys = await load_workspace(db, records)
        load_seconds = time.perf_counter() - started
        result = await search_times(db, ws_id, keys, args.searches)
        result.update({"contacts": len(keys), "engine": args.engine, "load_seconds": load_seconds})
        return result
    finally:
        await db.dispose()
        if args.engine == "postgres":
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20000, help="distinct people in the quality dataset")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--contacts", type=int, default=100_000, help="workspace size for the search timing")
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()

    q = quality(dataset(args.people, seed=args.seed), args.threshold)
    print(
        f"quality at threshold {args.threshold}: {q['records']:,} records, {q['true_pairs']:,} true pairs, "
        f"{q['compared_pairs']:,} pairs compared (blocking puts {q['blocking_recall']:.4f} of true pairs side by side)"
    )
    print(
        f"  pairs proposed:       precision {q['precision']:.4f}  recall {q['recall']:.4f}  "
        f"({q['true_positives']:,} of {q['predicted']:,} proposed are true; {q['seconds_in_memory']:.1f} s in memory)"
    )
    print(f"  after merging them:   precision {q['merged_precision']:.4f}  recall {q['merged_recall']:.4f}  "
          "(records linked through a third count as found)")  # fmt: skip
    if args.show_errors:
        for label, pairs in (("false positive", q["false_positives"]), ("false negative", q["false_negatives"])):
            for a, b in pairs:
                c = dedupe.compare(q["profiles"][a], q["profiles"][b])
                print(f"  {label}: {q['profiles'][a]} | {q['profiles'][b]} -> {c.score} {c.reasons}")
    if not args.skip_timing:
        t = asyncio.run(timing(args))
        print(
            f"candidate search on {t['engine']}, {t['contacts']:,} contacts (loaded in {t['load_seconds']:.0f} s): "
            f"median {t['median_ms']:.2f} ms, p99 {t['p99_ms']:.2f} ms, max {t['max_ms']:.2f} ms per contact "
            f"over {t['searches']} searches ({t['candidates_found']} candidates found)"
        )
    print(machine())


if __name__ == "__main__":
    main()
