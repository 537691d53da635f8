"""Engine and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql.expression import Executable
from sqlalchemy.util import await_only
from sqlalchemy.util.concurrency import in_greenlet

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

        self._grouped: dict[str, GroupedWrites] = {}
        # Connections that request paths holding one only for a statement or two may take at once: past the
        # pool's size a connection is opened for a request and closed after it (a connect with asyncpg's type
        # introspection costs more than a POST), so such requests wait for one of the pool's instead,
        # leaving a few for the sessions of the other paths.
        self.brief_connections = asyncio.Semaphore(max(1, pool_size - max(1, pool_size // 5)))

    def grouped(self, sql: str) -> GroupedWrites:
        """The group commit of the PostgreSQL statement ``sql`` in this process (see ``GroupedWrites``)."""
        writes = self._grouped.get(sql)
        if writes is None:
            writes = self._grouped[sql] = GroupedWrites(self.engine, sql)
        return writes

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

    @event.listens_for(engine.sync_engine, "invalidate")
    def _on_invalidate(dbapi_connection: Any, _record: Any, _exception: BaseException | None) -> None:
        # An invalidated connection (a task cancelled mid-statement: SIGTERM, a shutdown) is closed next. Closed
        # while a cursor still holds a stepped statement (the cancelled task's frames keep it alive), SQLite
        # keeps it as a "zombie" with its transaction open, holding the database's write lock until that cursor
        # is collected: every other writer then waited out busy_timeout. Rolled back first, nothing is held.
        # Queued on the connection's thread behind the statement in flight; shielded from a second cancel.
        # (Outside a greenlet this is the garbage collector closing it: nothing can be awaited there.)
        if in_greenlet():
            with contextlib.suppress(Exception):
                await_only(asyncio.shield(dbapi_connection.driver_connection.rollback()))

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get(_READONLY, False)
        statement = "BEGIN DEFERRED" if readonly else "BEGIN IMMEDIATE"
        # Straight to aiosqlite: one hop to the connection's thread, where SQLAlchemy's cursor takes three
        # (every write and read transaction starts here).
        try:
            await_only(conn.connection.driver_connection.execute_fetchall(statement, ()))
        except sqlite3.Error as exc:
            raise _translated(statement, exc) from exc


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


async def connection_driver(connection: AsyncConnection) -> Any:
    """The driver's connection under ``connection``, outside any transaction unless one is begun on it
    (asyncpg then runs each statement in a transaction of its own)."""
    raw = await connection.get_raw_connection()
    return raw.driver_connection


# Errors after which the connection cannot be trusted (SQLAlchemy's "disconnect"): dropped, not pooled again.
# (A server that ends the connection while a statement is being sent can leave the protocol confused:
# InternalClientError.)
CONNECTION_LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)


async def drop_lost(engine: AsyncEngine, connection: AsyncConnection) -> None:
    """What SQLAlchemy does on a lost connection: drop it and the pooled ones opened with it."""
    await connection.invalidate()
    await engine.dispose(close=False)


class GroupedWrites:
    """Group commit of one self-contained PostgreSQL statement (each execution its own transaction): the
    executions that requests of this process ask for while one group is being written are sent together
    as the next group, in one round trip and one transaction (asyncpg's ``executemany``: atomic), so they
    share one commit, one WAL flush. A statement that row-locks something every execution needs (the
    workspace's event numbers) would otherwise run one commit at a time behind that lock."""

    # Executions per group: a group's transaction holds its locks until the last one is done.
    LIMIT = 64

    def __init__(self, engine: AsyncEngine, sql: str) -> None:
        self.engine = engine
        self.sql = sql
        self._queue: list[tuple[Any, Sequence[Any], asyncio.Future[bool]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def write(self, args: Sequence[Any], lock_order: Any) -> bool:
        """Execute the statement with ``args`` in the next group; True once that group committed, False
        when it failed as a whole (nothing of it is written; an error of one execution aborts them all):
        run the statement alone then, to meet its own outcome. A group runs its executions by
        ``lock_order`` (then as they came): the row each locks (a workspace's), so that two groups lock
        them in one order and do not deadlock on them."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((lock_order, args, done))
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        try:
            while self._queue:
                group, self._queue = self._queue[: self.LIMIT], self._queue[self.LIMIT :]
                await self._send(group)
        finally:
            self._draining = None

    async def _send(self, group: list[tuple[Any, Sequence[Any], asyncio.Future[bool]]]) -> None:
        group.sort(key=lambda item: item[0])  # stable: one workspace's executions keep their order
        outcome: bool | BaseException = True
        try:
            async with self.engine.connect() as connection:
                driver = await connection_driver(connection)
                try:
                    await driver.executemany(self.sql, [args for _, args, _ in group])
                except CONNECTION_LOST as exc:
                    await drop_lost(self.engine, connection)
                    outcome = exc
                except asyncpg.PostgresError:
                    outcome = False
        except Exception as exc:  # no connection to be had: every waiter hears why
            outcome = exc
        for _, _, done in group:
            if done.done():
                continue  # its request was cancelled meanwhile (its row is written or not, as a late commit)
            if isinstance(outcome, BaseException):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)


@dataclass(frozen=True)
class _SqliteCompiled:
    sql: str
    names: tuple[str, ...]
    binders: tuple[Callable[[Any], Any] | None, ...]
    # Values written into the statement itself (``seq < 0``); the others must be given at execution.
    fixed: dict[str, Any]
    readers: tuple[Callable[[Any], Any] | None, ...]


def _binder(type_: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    return type_.dialect_impl(dialect).bind_processor(dialect)  # type: ignore[no-any-return]


class SqliteStatement:
    """A Core statement sent straight to aiosqlite: one hop to the connection's thread per execution,
    where SQLAlchemy's cursor takes three or four (open, execute, fetch, close), each an event-loop turn
    that a busy process makes long, all while the writer holds SQLite's database-wide write lock. Values
    and results go through the column types' own conversions (UUIDs, datetimes, JSON), as SQLAlchemy's
    would. It bypasses the session's autoflush: flush first when ORM changes must be written before."""

    def __init__(self, statement: Executable, column_keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._compiled: dict[type[Dialect], _SqliteCompiled] = {}

    def _for(self, dialect: Dialect) -> _SqliteCompiled:
        compiled = self._compiled.get(type(dialect))
        if compiled is None:
            c = self.statement.compile(dialect=dialect, column_keys=self.column_keys)  # type: ignore[attr-defined]
            names = tuple(c.positiontup or ())
            columns = getattr(self.statement, "exported_columns", ())  # a SELECT's columns, or RETURNING's
            compiled = self._compiled[type(dialect)] = _SqliteCompiled(
                sql=str(c),
                names=names,
                binders=tuple(_binder(c.binds[name].type, dialect) for name in names),
                fixed={name: c.binds[name].effective_value for name in names if not c.binds[name].required},
                readers=tuple(col.type.dialect_impl(dialect).result_processor(dialect, None) for col in columns),
            )
        return compiled

    def _values(self, compiled: _SqliteCompiled, params: Mapping[str, Any]) -> tuple[Any, ...]:
        values = compiled.fixed | dict(params) if compiled.fixed else params
        return tuple(
            values[name] if bind is None else bind(values[name])
            for bind, name in zip(compiled.binders, compiled.names, strict=True)
        )

    async def rows(self, session: AsyncSession, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute once and answer the rows (converted to Python values)."""
        compiled = self._for(session.get_bind().dialect)
        driver = await driver_connection(session)
        try:
            raw = await driver.execute_fetchall(compiled.sql, self._values(compiled, params))
        except sqlite3.Error as exc:
            raise _translated(compiled.sql, exc) from exc
        readers = compiled.readers
        return [
            tuple(value if read is None else read(value) for read, value in zip(readers, row, strict=True))
            for row in raw
        ]

    async def many(self, session: AsyncSession, params: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per parameter set (an INSERT of several rows), in one hop."""
        if not params:
            return
        compiled = self._for(session.get_bind().dialect)
        driver = await driver_connection(session)
        try:
            await driver.executemany(compiled.sql, [self._values(compiled, p) for p in params])
        except sqlite3.Error as exc:
            raise _translated(compiled.sql, exc) from exc


def _translated(sql: str, exc: sqlite3.Error) -> StatementError:
    """The driver's error as SQLAlchemy raises it (IntegrityError, OperationalError, …), so callers catch
    the same exceptions whichever way a statement went; parameters never appear in it."""
    return DBAPIError.instance(sql, None, exc, sqlite3.Error, hide_parameters=True)
