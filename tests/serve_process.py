"""`leadhub serve` and `leadhub worker` as real processes for process-level tests: a fresh database per test
(a SQLite file, or a new PostgreSQL database), a free port, everything each prints captured to a file."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import ENGINE, POSTGRES_URL, _pg_admin

LEADHUB = str(Path(sys.executable).parent / "leadhub")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def fresh_database(tmp: Path) -> AsyncIterator[str]:
    """A database URL nobody else uses, for the engine under test; dropped afterwards."""
    if ENGINE != "postgres":
        yield f"sqlite+aiosqlite:///{tmp / 'leadhub.db'}"
        return
    name = f"lh_proc_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class _Process:
    process: subprocess.Popen[bytes]
    output: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def printed(self) -> str:
        return self.output.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; returns once the process is gone."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> None:
        """Send SIGTERM (graceful shutdown) without waiting for the exit."""
        self.process.send_signal(signal.SIGTERM)

    def stop(self) -> int:
        """SIGTERM (graceful shutdown) and the exit code."""
        self.terminate()
        return self.process.wait(timeout=30)

    def ensure_stopped(self) -> None:
        """For teardown: stop gracefully if still running, SIGKILL if that hangs."""
        if self.process.poll() is not None:
            return
        try:
            self.stop()
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Server(_Process):
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def admin_key(self) -> str:
        lines = self.printed().splitlines()
        at = next(i for i, line in enumerate(lines) if "admin API key" in line)
        return lines[at + 1].strip()


@dataclass
class Worker(_Process):
    """A `leadhub worker` (webhook dispatcher) process."""


def _spawn(environment: dict[str, str], output: Path, *command: str) -> subprocess.Popen[bytes]:
    with output.open("ab") as sink:
        return subprocess.Popen(
            [LEADHUB, *(command or ("serve",))], env=environment, stdout=sink, stderr=subprocess.STDOUT
        )


async def start(database_url: str, data_dir: Path, output: Path, *, port: int | None = None, **env: str) -> Server:
    """Start `leadhub serve` and wait (polling, with a deadline) until /healthz answers. ``port``: the one a
    previous server of this test used (a restart clients find where they left it); default a free one."""
    port = port or free_port()
    environment = {
        **os.environ,
        "LEADHUB_DATABASE_URL": database_url,
        "LEADHUB_DATA_DIR": str(data_dir),
        "LEADHUB_PORT": str(port),
        "LEADHUB_HOST": "127.0.0.1",
        **env,
    }
    process = _spawn(environment, output)
    server = Server(process, output, port)
    deadline = asyncio.get_running_loop().time() + 60
    async with httpx.AsyncClient() as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited with {process.returncode}:\n{server.printed()[-3000:]}")
            try:
                if (await client.get(f"{server.base_url}/healthz", timeout=1)).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                server.kill()
                raise RuntimeError(f"serve did not come up:\n{server.printed()[-3000:]}")
            await asyncio.sleep(0.1)  # polling a starting process, with a deadline


async def start_worker(database_url: str, output: Path, *args: str, **env: str) -> Worker:
    """Start `leadhub worker` (private webhook targets allowed: receivers listen on 127.0.0.1) and wait,
    polling its output with a deadline, until it says it is ready."""
    environment = {**os.environ, "LEADHUB_DATABASE_URL": database_url, "LEADHUB_WEBHOOK_ALLOW_PRIVATE": "1", **env}
    process = _spawn(environment, output, "worker", *args)
    worker = Worker(process, output)
    # The output file collects every worker of a test; this one names itself by its pid.
    ready = f":{process.pid}: ready"
    deadline = asyncio.get_running_loop().time() + 60
    while ready not in worker.printed():
        if process.poll() is not None:
            raise RuntimeError(f"worker exited with {process.returncode}:\n{worker.printed()[-3000:]}")
        if asyncio.get_running_loop().time() > deadline:
            worker.kill()
            raise RuntimeError(f"worker did not come up:\n{worker.printed()[-3000:]}")
        await asyncio.sleep(0.05)  # polling a starting process, with a deadline
    return worker
