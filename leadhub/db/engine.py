"""Engine and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

_READONLY = "leadhub_readonly"


SQLITE_POOL_SIZE = 10


class Database:
    """One engine per process. On SQLite every writing transaction begins IMMEDIATE (takes the write
    lock up front, so two writers never deadlock upgrading read locks), readers begin DEFERRED."""

    def __init__(self, url: str, *, schema: str | None = None, pool_size: int = 25, max_overflow: int = 5) -> None:
        self.url = url
        self.schema = schema
        self.is_sqlite = url.startswith("sqlite")
        self.is_postgres = url.startswith("postgresql")
        # Never quote statement parameters in errors and logs: they are contacts' emails, phones and names.
        kwargs: dict[str, Any] = {"hide_parameters": True}
        if self.is_sqlite:
            database = make_url(url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 60}
            # One writer at a time: a few connections serve the readers beside it.
            kwargs["pool_size"] = SQLITE_POOL_SIZE
            kwargs["max_overflow"] = 10
        else:
            # Connections past pool_size are closed when returned and opened again for the next burst (an
            # asyncpg connect with its type introspection costs more than a POST): size the pool for the
            # requests a process serves at once (POST throughput at 64 connections: 101 req/s with 10 + 20,
            # 171 req/s with 25 + 5).
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = max_overflow
            # No pre-ping: it costs a round trip on every checkout (a fifth of a POST's time). A connection
            # that died (database restarted) fails the one request that used it, and SQLAlchemy then drops
            # every pooled connection of that generation, so the next requests reconnect.
            kwargs["pool_pre_ping"] = False
            if schema:
                kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reader = async_sessionmaker(self.engine.execution_options(**{_READONLY: True}), expire_on_commit=False)

    def session(self) -> AsyncSession:
        """A session for a unit of work that may write."""
        return self._writer()

    def read_session(self) -> AsyncSession:
        """A session for reads only (on SQLite it does not take the write lock)."""
        return self._reader()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook emit BEGIN itself, so it can choose IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get(_READONLY, False)
        conn.exec_driver_sql("BEGIN DEFERRED" if readonly else "BEGIN IMMEDIATE")


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """A ``:name`` SQL text as asyncpg's ``$n`` text, with the names in ``$n`` order (a name used twice is
    one parameter), for hot statements sent straight to the driver."""
    order: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        return f"${order.setdefault(match.group(1), len(order) + 1)}"

    return _NAMED.sub(number, sql), tuple(order)


async def driver_connection(session: AsyncSession) -> Any:
    """The PostgreSQL driver's (asyncpg) connection under ``session``, in its current transaction (begun if
    none is), for statements whose SQLAlchemy round trip costs more than the statement: the connection has
    SQLAlchemy's codecs, so json and jsonb values travel as JSON text."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection
