"""`leadhub serve` as a real process for process-level tests: a fresh database per test (a SQLite file,
or a new PostgreSQL database), a free port, everything it prints captured to one file."""

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
class Server:
    process: subprocess.Popen[bytes]
    port: int
    output: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def printed(self) -> str:
        return self.output.read_text(errors="replace")

    def admin_key(self) -> str:
        lines = self.printed().splitlines()
        at = next(i for i, line in enumerate(lines) if "admin API key" in line)
        return lines[at + 1].strip()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM (graceful shutdown) and the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def _spawn(environment: dict[str, str], output: Path) -> subprocess.Popen[bytes]:
    with output.open("ab") as sink:
        return subprocess.Popen([LEADHUB, "serve"], env=environment, stdout=sink, stderr=subprocess.STDOUT)


async def start(database_url: str, data_dir: Path, output: Path, **env: str) -> Server:
    """Start `leadhub serve` and wait (polling, with a deadline) until /healthz answers."""
    port = free_port()
    environment = {
        **os.environ,
        "LEADHUB_DATABASE_URL": database_url,
        "LEADHUB_DATA_DIR": str(data_dir),
        "LEADHUB_PORT": str(port),
        "LEADHUB_HOST": "127.0.0.1",
        **env,
    }
    process = _spawn(environment, output)
    server = Server(process, port, output)
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
