"""The one SQLite opener and the one migration runner, on both dialects."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from assistant.knowledge.catalog import Catalog
from assistant.storage.database import connect_sqlite, is_unique_violation, open_database


def test_migrations_run_once_in_order_and_a_later_one_is_added(tmp_path: Path, database_url):
    first = ["CREATE TABLE notes (id TEXT PRIMARY KEY)"]
    db = open_database(database_url, tmp_path)
    db.migrate("notes", first)
    db.migrate("notes", first)  # nothing to do the second time
    with db.transaction() as tx:
        tx.execute("INSERT INTO notes VALUES (?)", ("a",))
    db.migrate("notes", [*first, "ALTER TABLE notes ADD COLUMN body TEXT"])
    assert db.fetchall("SELECT id, body FROM notes") == [("a", None)]
    applied = db.fetchall(
        "SELECT version FROM schema_migrations WHERE component=? ORDER BY version", ("notes",)
    )
    assert applied == [(1,), (2,)]
    try:
        with db.transaction() as tx:
            tx.execute("INSERT INTO notes VALUES (?, ?)", ("a", "again"))
    except Exception as exc:  # either dialect's duplicate key
        assert is_unique_violation(exc)
    else:
        raise AssertionError("a duplicate key was accepted")
    assert db.fetchall("SELECT COUNT(*) FROM notes") == [(1,)]  # the failed one left nothing
    db.close()


def test_a_failed_migration_leaves_nothing_half_done(tmp_path: Path, database_url):
    db = open_database(database_url, tmp_path)
    broken = ["CREATE TABLE good (id TEXT); CREATE TABLE broken (id NOT_A_TYPE("]
    try:
        db.migrate("broken", broken)
    except Exception:
        pass
    else:
        raise AssertionError("a broken migration passed")
    assert db.fetchall("SELECT * FROM schema_migrations WHERE component='broken'") == []
    db.migrate("broken", ["CREATE TABLE good (id TEXT)"])  # "good" was rolled back with it
    db.close()


def test_the_opener_sets_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path):
    conn = connect_sqlite(tmp_path / "sub" / "x.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 60000
    conn.close()


def test_a_catalog_an_earlier_release_migrated_opens_with_its_documents(tmp_path: Path):
    path = tmp_path / "catalog.sqlite"
    catalog = Catalog(path)
    catalog.set_state("base_url", "https://help.example/")
    catalog.close()
    # What the earlier release left: its four migrations counted in user_version, no runner
    # table, no column of the later migrations.
    old = sqlite3.connect(path)
    old.executescript(
        "DROP TABLE schema_migrations; ALTER TABLE chunks DROP COLUMN planted;"
        " PRAGMA user_version=4;"
    )
    old.close()
    reopened = Catalog(path)
    assert reopened.get_state("base_url") == "https://help.example/"
    assert not reopened.unjudged("any judge")  # migration 5 ran: the column is back
    reopened.close()


def test_a_consistent_view_of_a_catalog_does_not_move_while_an_ingest_commits(tmp_path: Path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    catalog.set_contact_domains(["a.example"])  # generation 1
    with catalog.consistent_view() as view:
        before = (view.generation, view.contact_domains)
        catalog.set_contact_domains(["b.example"])  # committed by the writer: generation 2
        assert (view.generation, view.contact_domains) == before == (1, ["a.example"])
    assert (catalog.generation, catalog.contact_domains) == (2, ["b.example"])
    catalog.close()
