"""The relational store behind the engagement log, health, conversations and the access
registry: SQLite by default (files under the data directory, WAL), PostgreSQL when
``LEARNLOOP_DATABASE_URL`` is a ``postgresql://`` URL. ``connect_sqlite`` is the one place a
SQLite file is opened (the knowledge catalogs use it too).

Both speak the same small SQL: write ``?`` placeholders and the portable types below; the
PostgreSQL side rewrites placeholders. Each component (``events``, ``health`` …) keeps its
own numbered migrations, applied once, in order, under a lock that also holds across
processes (SQLite's write lock, PostgreSQL's advisory lock).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from assistant.errors import ErrorCode, LearnloopError

__all__ = [
    "Database",
    "Dialect",
    "Transaction",
    "connect_sqlite",
    "is_unique_violation",
    "open_database",
]

Dialect = Literal["sqlite", "postgresql"]
# Per dialect: an auto-increment primary key (arrival order) and a 64-bit integer.
_TYPES: dict[Dialect, dict[str, str]] = {
    "sqlite": {"SERIAL_PK": "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT": "INTEGER"},
    "postgresql": {"SERIAL_PK": "BIGSERIAL PRIMARY KEY", "BIGINT": "BIGINT"},
}


class Database:
    """One connection, used by one thread at a time; statements run in explicit
    transactions (``with db.transaction() as tx``) or as single autocommitted reads."""

    def __init__(self, connection: Any, dialect: Dialect, where: str) -> None:
        self._conn = connection
        self.dialect = dialect
        self.where = where
        self._lock = threading.RLock()

    # -- SQL -----------------------------------------------------------------------------

    def sql(self, statement: str) -> str:
        """Portable SQL → this dialect's: placeholders and the SERIAL_PK / BIGINT types."""
        for name, spelled in _TYPES[self.dialect].items():
            statement = statement.replace("{" + name + "}", spelled)
        if self.dialect == "postgresql":
            statement = statement.replace("%", "%%").replace("?", "%s")
        return statement

    def fetchall(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            rows = self._conn.execute(self.sql(statement), params).fetchall()
            return [tuple(r) for r in rows]

    def fetchone(self, statement: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self.fetchall(statement, params)
        return rows[0] if rows else None

    def stream(
        self, statement: str, params: Sequence[Any] = (), batch: int = 5000
    ) -> Iterator[tuple[Any, ...]]:
        """Rows without holding them all in memory (a million events is fine)."""
        with self._lock:
            if self.dialect == "postgresql":
                with self._conn.transaction(), self._conn.cursor(name="stream") as cursor:
                    cursor.itersize = batch
                    cursor.execute(self.sql(statement), params)
                    yield from cursor
                return
            cursor = self._conn.execute(self.sql(statement), params)
            while rows := cursor.fetchmany(batch):
                yield from rows

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """All or nothing; SQLite takes its write lock at the start (BEGIN IMMEDIATE) so two
        writers never deadlock upgrading a read lock."""
        with self._lock:
            if self.dialect == "sqlite":
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield Transaction(self)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            else:
                with self._conn.transaction():
                    yield Transaction(self)

    # -- migrations ----------------------------------------------------------------------

    def migrate(
        self, component: str, migrations: Sequence[str], *, adopt_user_version: bool = False
    ) -> None:
        """Apply ``component``'s migrations not yet applied, in order, each in its own
        transaction. Statements in one migration are separated by ';'.

        ``adopt_user_version``: a SQLite file that an earlier release migrated on its own
        (counting in ``PRAGMA user_version``) has its first migrations recorded as applied."""
        self._ensure_migrations_table()
        if adopt_user_version and self.dialect == "sqlite":
            self._adopt_user_version(component)
        for version, script in enumerate(migrations, start=1):
            with self.transaction() as tx:
                if self.dialect == "postgresql":
                    tx.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (component,))
                done = tx.fetchone(
                    "SELECT 1 FROM schema_migrations WHERE component=? AND version=?",
                    (component, version),
                )
                if done:
                    continue
                for statement in filter(str.strip, script.split(";")):
                    tx.execute(statement)
                tx.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (component, version, datetime.now(UTC).isoformat()),
                )

    def _adopt_user_version(self, component: str) -> None:
        with self.transaction() as tx:
            applied = tx.fetchone(
                "SELECT COUNT(*) FROM schema_migrations WHERE component=?", (component,)
            )
            legacy = tx.fetchone("PRAGMA user_version")
            if applied and applied[0] == 0 and legacy and legacy[0] > 0:
                now = datetime.now(UTC).isoformat()
                tx.executemany(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    [(component, version, now) for version in range(1, legacy[0] + 1)],
                )

    def _ensure_migrations_table(self) -> None:
        with self.transaction() as tx:
            if self.dialect == "postgresql":
                tx.execute("SELECT pg_advisory_xact_lock(hashtext('schema_migrations'))")
            tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "component TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL, "
                "PRIMARY KEY (component, version))"
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class Transaction:
    def __init__(self, db: Database) -> None:
        self._db = db

    def execute(self, statement: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        cursor = self._db._conn.execute(self._db.sql(statement), params)
        return int(cursor.rowcount or 0)

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run one statement per row; returns the rows changed in all."""
        if not rows:
            return 0
        if self._db.dialect == "sqlite":
            before = self._db._conn.total_changes
            self._db._conn.executemany(self._db.sql(statement), rows)
            return int(self._db._conn.total_changes - before)
        with self._db._conn.cursor() as cursor:
            cursor.executemany(self._db.sql(statement), rows)
            return int(cursor.rowcount or 0)

    def fetchone(self, statement: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self._db._conn.execute(self._db.sql(statement), params).fetchone()
        return tuple(row) if row is not None else None

    def fetchall(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows = self._db._conn.execute(self._db.sql(statement), params).fetchall()
        return [tuple(r) for r in rows]


def open_database(url: str | None, data_dir: Path, name: str = "learnloop.sqlite") -> Database:
    """SQLite at ``data_dir/name`` when ``url`` is unset, else the database the URL names."""
    if not url or url.startswith("sqlite:"):
        path = Path(url.removeprefix("sqlite:///")) if url else data_dir / name
        return Database(connect_sqlite(path), "sqlite", str(path))
    if url.startswith(("postgresql://", "postgres://")):
        import psycopg

        try:
            # Autocommit: single reads need no transaction; writes open one explicitly.
            pg = psycopg.connect(url, connect_timeout=10, autocommit=True)
        except psycopg.OperationalError as exc:
            raise LearnloopError(
                ErrorCode.invalid_input, f"cannot connect to the database at {_redact(url)}: {exc}"
            ) from None
        return Database(pg, "postgresql", _redact(url))
    raise LearnloopError(
        ErrorCode.invalid_input,
        f"database URL {_redact(url)!r} is neither sqlite:///PATH nor postgresql://…",
    )


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """A connection to the SQLite file at ``path`` (created with its folder if missing):
    autocommit (transactions are explicit), WAL, foreign keys on, a long busy timeout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=60)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a commit survives the process being killed (the WAL is written
    # before COMMIT returns); only a power cut can lose the last transactions.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=60000")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def is_unique_violation(exc: BaseException) -> bool:
    """Whether ``exc`` is either dialect's integrity error (a duplicate key, say)."""
    return any(cls.__name__ == "IntegrityError" for cls in type(exc).__mro__)


def _redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}"
    return url
