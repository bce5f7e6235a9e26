"""Incremental ingestion: reports, re-embedding only what changed, removals, failures."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from conftest import FIXTURES

from assistant.cli.main import app
from assistant.knowledge import base as knowledge_base
from assistant.knowledge.lexical import LexicalIndex
from assistant.knowledge.retrieval import Retriever
from ingest.sync import sync_path

MINI_IDS = {
    "articles/admin/connect-payroll.md",
    "articles/es/publicar-horario.md",
    "articles/reset-your-password.md",
    "manager-onboarding",
    "pages/request-time-off.html",
    "tips/swap-shifts.md",
}
PAYROLL = "articles/admin/connect-payroll.md"
PASSWORD = "articles/reset-your-password.md"


def ingest(knowledge, path: Path):
    return sync_path(knowledge, "mini", path)


def search_ids(knowledge, query: str, k: int = 10) -> list[str]:
    kb = knowledge.get("mini")
    return [h.article_id for h in Retriever(knowledge, kb).search(query, k=k)]


def test_fresh_ingest_report(knowledge, mini_kb):
    report = ingest(knowledge, mini_kb)
    assert set(report.added) == MINI_IDS
    assert (report.updated, report.unchanged, report.removed, report.failed) == ([], [], [], [])
    assert report.chunks_embedded == report.chunks_total > len(MINI_IDS)
    assert report.ok


def test_every_chunk_is_in_chroma_and_bm25(knowledge, mini_kb):
    ingest(knowledge, mini_kb)
    kb = knowledge.get("mini")
    catalog_ids = kb.catalog.chunk_ids()
    assert kb.store.ids() == catalog_ids
    assert set(LexicalIndex.load(kb.lexical_dir).chunk_ids) == catalog_ids


def test_rerun_without_changes_embeds_nothing(knowledge, mini_kb):
    first = ingest(knowledge, mini_kb)
    again = ingest(knowledge, mini_kb)
    assert set(again.unchanged) == MINI_IDS
    assert (again.added, again.updated, again.removed) == ([], [], [])
    assert again.chunks_embedded == 0
    assert again.chunks_total == first.chunks_total


def test_edit_reembeds_only_the_changed_chunks(knowledge, mini_kb):
    ingest(knowledge, mini_kb)
    kb = knowledge.get("mini")
    before = kb.catalog.chunk_ids(PAYROLL)
    path = mini_kb / PAYROLL
    path.write_text(path.read_text().replace("seven years", "ten years"))

    report = ingest(knowledge, mini_kb)

    after = kb.catalog.chunk_ids(PAYROLL)
    assert report.updated == [PAYROLL] and len(report.unchanged) == len(MINI_IDS) - 1
    assert report.chunks_embedded == len(after - before) >= 1
    assert report.chunks_embedded < len(after)
    assert kb.store.ids() == kb.catalog.chunk_ids()  # the replaced chunk's vector is gone


def test_edited_text_is_what_search_finds(knowledge, mini_kb):
    ingest(knowledge, mini_kb)
    path = mini_kb / PASSWORD
    path.write_text(path.read_text().replace("30 minutes", "45 minutes"))
    ingest(knowledge, mini_kb)
    kb = knowledge.get("mini")
    hit = Retriever(knowledge, kb).search("how long does the reset link work", 1)[0]
    assert hit.article_id == PASSWORD
    body = next(c.body for c in kb.catalog.chunks() if c.id == hit.chunk_id)
    assert "The link works for 45 minutes." in body


def test_deleted_file_is_removed_everywhere(knowledge, mini_kb):
    ingest(knowledge, mini_kb)
    kb = knowledge.get("mini")
    chunk_ids = kb.catalog.chunk_ids(PASSWORD)
    assert PASSWORD in search_ids(knowledge, "forgot my password reset link")
    (mini_kb / PASSWORD).unlink()

    report = ingest(knowledge, mini_kb)

    assert report.removed == [PASSWORD]
    assert PASSWORD not in search_ids(knowledge, "forgot my password reset link")
    assert not chunk_ids & kb.store.ids()
    assert not chunk_ids & set(LexicalIndex.load(kb.lexical_dir).chunk_ids)
    assert kb.catalog.document(PASSWORD) is None


def test_broken_file_is_reported_and_the_rest_ingested(knowledge, mini_kb):
    (mini_kb / "articles" / "broken.md").write_text("---\ntitle: [Broken\n---\n\nText.\n")
    report = ingest(knowledge, mini_kb)
    assert [file for file, _ in report.failed] == ["articles/broken.md"]
    assert "front matter is not valid YAML" in report.failed[0][1]
    assert set(report.added) == MINI_IDS
    assert not report.ok


def test_cli_exits_1_when_a_file_fails(cli, data_dir, mini_kb):
    broken = "---\ntitle: Broken\naudience: everyone\n---\n\nx\n"
    (mini_kb / "articles" / "broken.md").write_text(broken)
    result = cli.invoke(app, ["ingest", str(mini_kb), "--kb", "mini", "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["added"] == len(MINI_IDS)
    assert report["failed"] == [{
        "file": "articles/broken.md",
        "reason": "front matter 'audience' is 'everyone'; expected one of "
                  "admin, end_user, manager, power_user",
    }]


def test_cli_exits_0_and_prints_a_summary(cli, data_dir, mini_kb):
    result = cli.invoke(app, ["ingest", str(mini_kb), "--kb", "mini",
                              "--base-url", "https://help.shiftboard.example/"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "mini: 6 files ingested, 0 unchanged, 0 skipped, 0 failed; "
        "documents: 6 added, 0 updated, 0 removed;")


def test_cli_keeps_the_sentences_the_admin_trusts(cli, data_dir, mini_kb):
    from assistant.knowledge.base import Knowledge
    from assistant.settings import Settings

    result = cli.invoke(app, ["ingest", str(mini_kb), "--kb", "mini", "--trust",
                              "Thanks for  your support!", "--trust", "Have a question?"])
    assert result.exit_code == 0, result.output
    catalog = Knowledge(Settings()).get("mini").catalog
    assert catalog.trusted_sentences == ["Have a question?", "Thanks for your support!"]


def test_file_that_becomes_broken_keeps_its_old_version(knowledge, mini_kb):
    ingest(knowledge, mini_kb)
    (mini_kb / PASSWORD).write_text("---\ntitle: Reset your password\nlevel: easy\n---\n\nNew.\n")

    report = ingest(knowledge, mini_kb)

    assert [file for file, _ in report.failed] == [PASSWORD]
    assert "'level' is 'easy'" in report.failed[0][1]
    assert report.removed == []
    assert search_ids(knowledge, "forgot my password reset link")[0] == PASSWORD


def test_renamed_file_that_becomes_broken_keeps_its_old_version(knowledge, mini_kb):
    ingest(knowledge, mini_kb)
    (mini_kb / "paths" / "manager-onboarding.yaml").rename(mini_kb / "paths" / "managers.yaml")
    assert ingest(knowledge, mini_kb).removed == []  # same `id`, same content: unchanged
    (mini_kb / "paths" / "managers.yaml").write_text("title: M\naudience: nobody\nstages: []\n")

    report = ingest(knowledge, mini_kb)

    assert [file for file, _ in report.failed] == ["paths/managers.yaml"]
    assert report.removed == []
    assert knowledge.get("mini").catalog.document("manager-onboarding") is not None


def test_two_files_with_the_same_id(knowledge, mini_kb):
    for name in ("a-first.md", "b-second.md"):
        (mini_kb / name).write_text(f"---\ntitle: Notes ({name})\nid: shift-notes\n---\n\nNotes.\n")
    report = ingest(knowledge, mini_kb)
    assert "shift-notes" in report.added
    assert report.failed == [
        ("b-second.md", "article id 'shift-notes' is already used by a-first.md")]
    assert knowledge.get("mini").catalog.document("shift-notes").source == "a-first.md"


def test_metadata_reaches_the_catalog(knowledge, mini_kb):
    sync_path(knowledge, "mini", mini_kb, base_url="https://help.shiftboard.example/")
    catalog = knowledge.get("mini").catalog
    tip = catalog.document("tips/swap-shifts.md")
    assert (tip.kind, tip.audience, tip.level) == ("tip", "end_user", "intermediate")
    assert tip.url == "https://help.shiftboard.example/tips/swap-shifts"
    assert catalog.document("articles/es/publicar-horario.md").locale == "es"
    assert catalog.document("manager-onboarding").kind == "path"


def test_zendesk_export_is_ingested_with_its_own_urls(knowledge, mini_kb):
    (mini_kb / "zendesk").mkdir()
    shutil.copy(FIXTURES / "zendesk" / "articles.json", mini_kb / "zendesk" / "articles.json")
    report = sync_path(knowledge, "mini", mini_kb, base_url="https://help.shiftboard.example/")
    assert report.ok and {"zendesk/360041234511", "zendesk/360041234533"} <= set(report.added)
    clock_in = knowledge.get("mini").catalog.document("zendesk/360041234511")
    assert clock_in.url.startswith("https://shiftboard.zendesk.com/hc/en-us/articles/")
    assert search_ids(knowledge, "fichar la entrada desde el móvil")[0] == "zendesk/360041234533"


def test_missing_path_is_an_error(knowledge, tmp_path):
    from assistant.errors import LearnloopError

    with pytest.raises(LearnloopError, match="does not exist"):
        ingest(knowledge, tmp_path / "nowhere")


def test_a_reopened_vector_store_releases_the_old_one(knowledge, mini_kb, monkeypatch):
    """The server reopens embedded Chroma whenever another process ingested; the client it
    replaces is stopped (after a grace period, zero here), so open files and threads stay
    flat over 20 reopenings."""
    monkeypatch.setattr(knowledge_base, "RETIRED_CHROMA_GRACE_S", 0.0)
    assert sync_path(knowledge, "docs", mini_kb).ok
    dim = knowledge.embedder.dim

    def reopen_and_query() -> None:
        knowledge.reopen_vectors()
        store = knowledge.get("docs").store
        assert store.vectors(sorted(store.ids()), dim).any()
        for thread in threading.enumerate():
            if isinstance(thread, threading.Timer):
                thread.join(10)

    reopen_and_query()
    opened, threads = len(os.listdir("/proc/self/fd")), threading.active_count()
    for _ in range(20):  # as many ingests noticed by a server
        reopen_and_query()
    assert len(os.listdir("/proc/self/fd")) <= opened + 2
    assert threading.active_count() <= threads + 2


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(1)",
                                 "data:text/html,<script>alert(1)</script>"])
def test_a_front_matter_url_that_is_not_a_web_address_fails_its_file(knowledge, mini_kb, url):
    bad = mini_kb / "articles" / "bad-url.md"
    bad.write_text(f"---\nurl: '{url}'\n---\n# Clicking a link\n\nSome text.\n")
    report = sync_path(knowledge, "docs", mini_kb)
    assert [file for file, _ in report.failed] == ["articles/bad-url.md"]
    assert "is not a web address" in report.failed[0][1]
    assert report.added  # the other files are ingested all the same


def test_a_stored_url_that_is_not_a_web_address_is_never_served(knowledge, mini_kb):
    """A catalog written before URLs were checked at ingest: the link is dropped on read."""
    assert sync_path(knowledge, "docs", mini_kb).ok
    catalog = knowledge.get("docs").catalog
    first = catalog.documents()[0]
    with catalog._db:
        catalog._db.execute("UPDATE documents SET url = 'javascript:alert(1)' WHERE id = ?",
                            (first.id,))
    assert catalog.document(first.id).url is None


# --- a killed ingest ---------------------------------------------------------------------------


@pytest.mark.slow
def test_an_ingest_killed_midway_leaves_a_usable_kb_that_the_next_run_completes(
    data_dir, knowledge, tmp_path
):
    """SIGKILL lands after the first documents are stored and before the run ends. What is
    left opens and is consistent (every catalog chunk has its vector), the next run brings
    the knowledge base to exactly what one uninterrupted run gives, and a third run finds
    nothing to do."""
    import signal
    import sqlite3
    import subprocess
    import time

    from conftest import SAMPLE_KB, learnloop_command

    corpus = Path(shutil.copytree(SAMPLE_KB, tmp_path / "corpus"))
    env = {**os.environ, "LEARNLOOP_DATA_DIR": str(data_dir)}
    command = [*learnloop_command(), "ingest", str(corpus), "--kb", "mini", "--json"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    catalog = data_dir / "kbs" / "mini" / "catalog.sqlite"
    deadline = time.monotonic() + 300
    stored = 0
    while stored < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
        if catalog.exists():
            try:
                with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=1) as conn:
                    stored = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            except sqlite3.Error:  # tables not created yet
                continue
    assert process.poll() is None, "the ingest ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()

    knowledge.reopen_vectors()
    kb = knowledge.get("mini")
    assert kb.catalog.counts()[0] >= 3
    with sqlite3.connect(catalog) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {c.id for c in kb.catalog.chunks()} <= kb.store.ids()

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600,
                              check=False)
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["failed"] == []
    knowledge.reopen_vectors()  # see what the other process wrote (as the server does)
    kb = knowledge.get("mini")
    chunk_ids = {c.id for c in kb.catalog.chunks()}
    assert chunk_ids == kb.store.ids()  # no orphan vectors from the killed run

    reference = knowledge.get("reference", create=True)
    sync_path(knowledge, "reference", corpus)
    assert kb.catalog.counts() == reference.catalog.counts()
    assert {d.id: d.hash for d in kb.catalog.documents()} == {
        d.id: d.hash for d in reference.catalog.documents()
    }
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600,
                           check=False)
    report = json.loads(again.stdout)
    assert (report["added"], report["updated"], report["removed"]) == (0, 0, 0)


def test_a_chunk_whose_vector_is_missing_is_never_found_by_dense_search(knowledge, mini_kb):
    """An interrupted write can leave a catalog chunk without its vector in Chroma: dense
    search ranks only chunks it has a vector for (the other lists still see the text)."""
    assert sync_path(knowledge, "docs", mini_kb).ok
    kb = knowledge.get("docs")
    chunks = kb.catalog.chunks()
    question = chunks[0].text[:200]
    before = Retriever(knowledge, kb).search(question, k=10, mode="dense")
    assert chunks[0].doc_id in [h.article_id for h in before]

    kb.store.delete([c.id for c in chunks if c.doc_id == chunks[0].doc_id])
    after = Retriever(knowledge, kb).search(question, k=10, mode="dense")

    assert after and chunks[0].doc_id not in [h.article_id for h in after]


def test_a_tip_whose_trigger_does_not_read_is_reported_and_not_stored(knowledge, mini_kb):
    tip = mini_kb / "tips" / "swap-shifts.md"
    tip.write_text(tip.read_text().replace(
        'trigger: "shift.cover_requested_in_chat >= 2 within 7d"',
        'trigger: "whenever the user seems stuck"'))
    report = ingest(knowledge, mini_kb)
    assert [file for file, _ in report.failed] == ["tips/swap-shifts.md"]
    assert "tip: trigger 'whenever the user seems stuck'" in report.failed[0][1]
    assert "tips/swap-shifts.md" not in {d.id for d in knowledge.get("mini").catalog.documents()}
