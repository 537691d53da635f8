"""The command line, as real processes over a temporary data directory (SQLite): init, workspaces, keys,
and `serve` answering over TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadhub.app import create_app
from leadhub.config import Settings
from leadhub.db.engine import Database
from tests.conftest import ENGINE

# These tests run their own SQLite data directory whatever engine the suite runs on: once is enough.
pytestmark = pytest.mark.skipif(ENGINE != "sqlite", reason="engine-independent: runs once, in the SQLite run")

KEY = re.compile(r"\blh_[0-9A-Za-z]{38}\b")
WORKSPACE_ID = re.compile(r"\bws_[0-9a-z]{26}\b")
KEY_ID = re.compile(r"\bkey_[0-9a-z]{26}\b")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADHUB_")}
    env["LEADHUB_DATA_DIR"] = str(data_dir)
    return env


def leadhub(data_dir: Path, *args: str, expect: int = 0) -> str:
    """Run `leadhub ARGS` and return its output (stdout then stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "leadhub", *args],
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == expect, output
    return output


def call_api(data_dir: Path, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
    """One request to the real app over the data directory's database (in this process)."""

    async def go() -> httpx.Response:
        db = Database(f"sqlite+aiosqlite:///{data_dir / 'leadhub.db'}")
        app = create_app(Settings(data_dir=data_dir), db, background=False)
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://leadhub.test") as client:
                headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
                return await client.request(method, path, headers=headers, **kwargs)
        finally:
            await db.dispose()

    return asyncio.run(go())


@pytest.mark.slow
def test_init_prints_an_admin_key_and_curl_line_once(data_dir: Path) -> None:
    first = leadhub(data_dir, "init")
    keys = KEY.findall(first)
    assert len(set(keys)) == 1, first
    key = keys[0]
    assert f"curl -H 'Authorization: Bearer {key}' " in first
    assert "/v1/contacts" in first
    assert WORKSPACE_ID.search(first)

    second = leadhub(data_dir, "init")
    assert "already initialized" in second
    assert not KEY.search(second)
    assert call_api(data_dir, "GET", "/v1/keys", key).status_code == 200


@pytest.mark.slow
def test_workspaces_and_keys_commands_make_working_keys_and_revoke_them(data_dir: Path) -> None:
    admin = KEY.findall(leadhub(data_dir, "init"))[0]

    created = leadhub(data_dir, "workspaces", "create", "Sales").strip()
    assert WORKSPACE_ID.fullmatch(created), created
    listing = leadhub(data_dir, "workspaces", "list").splitlines()
    assert len(listing) == 2
    assert listing[1] == f"{created}\tSales"
    assert listing[0].endswith("\tDefault workspace") and WORKSPACE_ID.match(listing[0])

    raw = leadhub(
        data_dir, "keys", "create", "--workspace", created, "--scopes", "contacts.read,contacts.write", "--name", "zap"
    ).strip()
    assert KEY.fullmatch(raw), raw
    response = call_api(data_dir, "POST", "/v1/contacts", raw, json={"first_name": "Ada"})
    assert response.status_code == 201, response.text
    # The key acts in its own workspace only, with its scopes only.
    in_sales = call_api(data_dir, "GET", "/v1/contacts", admin, headers={"LeadHub-Workspace": created})
    assert [c["first_name"] for c in in_sales.json()["data"]] == ["Ada"]
    assert call_api(data_dir, "GET", "/v1/contacts", admin).json()["data"] == []
    assert call_api(data_dir, "GET", "/v1/events", raw).status_code == 403

    keys = leadhub(data_dir, "keys", "list")
    assert raw not in keys and raw[12:] not in keys
    row = next(line for line in keys.splitlines() if raw[:12] in line)
    assert "zap" in row and "contacts.read,contacts.write" in row and created in row
    match = KEY_ID.search(row)
    assert match, row

    assert leadhub(data_dir, "keys", "revoke", match.group()).strip() == f"revoked {match.group()}"
    assert call_api(data_dir, "GET", "/v1/contacts", raw).status_code == 401
    assert "revoked" in next(line for line in leadhub(data_dir, "keys", "list").splitlines() if raw[:12] in line)

    org_key = leadhub(data_dir, "keys", "create").strip()  # default: an admin organization key
    assert call_api(data_dir, "GET", "/v1/workspaces", org_key).status_code == 200


@pytest.mark.slow
def test_cli_refuses_bad_input_with_an_error_not_a_traceback(data_dir: Path) -> None:
    leadhub(data_dir, "init")
    unknown_scope = leadhub(data_dir, "keys", "create", "--scopes", "contacts.everything", expect=2)
    assert "unknown scope" in unknown_scope and "Traceback" not in unknown_scope
    no_workspace = leadhub(data_dir, "keys", "create", "--workspace", "ws_nope", expect=2)
    assert "no such workspace" in no_workspace
    missing = leadhub(data_dir, "keys", "revoke", "key_00000000000000000000000000", expect=2)
    assert "not found" in missing and "Traceback" not in missing


@pytest.mark.slow
def test_commands_before_init_ask_for_init(data_dir: Path) -> None:
    output = leadhub(data_dir, "workspaces", "list", expect=2)
    assert "leadhub init" in output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(predicate: Any, what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def servers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes the test starts; each is stopped by its PID at the end."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _serve(data_dir: Path, log: Path, servers: list[subprocess.Popen[bytes]]) -> tuple[int, str]:
    port = _free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "leadhub", "serve", "--port", str(port), "--log-level", "warning"],
            env=_env(data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    servers.append(proc)

    def ready() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    _wait_for(ready, "serve to answer /healthz")
    return port, log.read_text()


@pytest.mark.slow
def test_serve_on_an_empty_data_dir_prints_the_key_once_and_answers_over_tcp(
    data_dir: Path, tmp_path: Path, servers: list[subprocess.Popen[bytes]]
) -> None:
    port, output = _serve(data_dir, tmp_path / "first.log", servers)
    keys = KEY.findall(output)
    assert len(set(keys)) == 1, output
    key = keys[0]
    base = f"http://127.0.0.1:{port}"
    assert f"{base}/v1/contacts" in output

    health = httpx.get(f"{base}/healthz", timeout=5)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    created = httpx.post(
        f"{base}/v1/contacts",
        json={"first_name": "Ada", "email": "ada@example.com"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    assert created.json()["emails"][0]["address"] == "ada@example.com"
    assert httpx.get(f"{base}/v1/contacts", timeout=5).status_code == 401

    first = servers[0]
    first.terminate()
    assert first.wait(timeout=15) is not None

    # A restart over the same data keeps the data and prints no key.
    port, output = _serve(data_dir, tmp_path / "second.log", servers)
    assert not KEY.search(output), output
    listing = httpx.get(f"http://127.0.0.1:{port}/v1/contacts", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    assert [c["id"] for c in listing.json()["data"]] == [created.json()["id"]]


def test_a_served_app_leaves_its_start_up_objects_out_of_the_collectors_walks(data_dir: Path) -> None:
    # In a process of its own: freezing here would keep this test process's objects forever.
    script = (
        "import gc, pathlib, sys\n"
        "from leadhub.app import create_app\n"
        "from leadhub.cli import _settled\n"
        "from leadhub.config import Settings\n"
        "app = _settled(create_app(Settings(data_dir=pathlib.Path(sys.argv[1]))))\n"
        "gc.collect()\n"
        "print(gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(data_dir)], env=_env(data_dir), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    frozen, traced = done.stdout.split()
    # The app's own objects (its routes, schemas and validators among them) are frozen; what is left to
    # walk is what was made after.
    assert int(frozen) > 50_000 and int(traced) < 5_000, done.stdout
