"""The real Plausible help center (132 Docusaurus MDX files), ingested once for this module."""

from __future__ import annotations

import re

import pytest
from conftest import PLAUSIBLE_DOCS, clear_learnloop_env, knowledge_with, needs_plausible

from assistant.knowledge.retrieval import Retriever
from assistant.settings import Settings
from ingest.loaders import discover, load_file
from ingest.sync import sync_path

pytestmark = [needs_plausible, pytest.mark.slow]

BASE_URL = "https://plausible.io/docs/"
MDX_IMPORT = re.compile(r"^import .+ from '@(site|docusaurus|theme)/", re.MULTILINE)


@pytest.fixture(scope="module")
def plausible(tmp_path_factory, embedders, model_dir):
    """(knowledge, report) for KB 'plausible' on a module-scoped data dir."""
    with pytest.MonkeyPatch.context() as mp:
        clear_learnloop_env(mp)
        settings = Settings(data_dir=tmp_path_factory.mktemp("plausible-data"))
    knowledge = knowledge_with(settings, embedders, model_dir)
    return knowledge, sync_path(knowledge, "plausible", PLAUSIBLE_DOCS, base_url=BASE_URL)


@pytest.fixture(scope="module")
def chunks(plausible):
    knowledge, _ = plausible
    return knowledge.get("plausible").catalog.chunks()


def outside_code(text: str) -> str:
    """The lines of ``text`` that are not inside fenced code."""
    kept, fence = [], None
    for line in text.split("\n"):
        marker = re.match(r"\s*(```|~~~)", line)
        if fence is None and marker:
            fence = marker.group(1)
        elif fence is not None:
            if re.match(r"\s*(```|~~~)[`~]*\s*$", line) and line.strip().startswith(fence):
                fence = None
        else:
            kept.append(line)
    return "\n".join(kept)


def test_every_file_is_added(plausible):
    _, report = plausible
    assert report.failed == []
    assert len(report.added) == 132
    assert report.chunks_total == report.chunks_embedded


def test_no_mdx_import_lines_in_chunks(chunks):
    assert [c.doc_id for c in chunks if MDX_IMPORT.search(c.body)] == []


def test_no_import_lines_outside_code_in_any_document():
    files, _ = discover(PLAUSIBLE_DOCS)
    offenders = [
        (doc.id, section.heading_path)
        for result in (load_file(f, PLAUSIBLE_DOCS, None) for f in files)
        for doc in result.documents
        for section in doc.sections
        if re.search(r"^(import|export) ", outside_code(section.text), re.MULTILINE)
    ]
    assert offenders == []


@pytest.mark.parametrize("leftover", ["<CtaBox", "useBaseUrl", "linkText=", "<img ", ":::"])
def test_no_mdx_markup_in_chunks(chunks, leftover):
    assert [c.doc_id for c in chunks if leftover in c.body] == []


def test_urls_follow_the_base_url(plausible):
    knowledge, _ = plausible
    catalog = knowledge.get("plausible").catalog
    assert catalog.document("custom-event-goals.md").url == (
        "https://plausible.io/docs/custom-event-goals")
    assert catalog.document("proxy/introduction.md").url == (
        "https://plausible.io/docs/proxy/introduction")


def test_second_run_changes_nothing(plausible):
    knowledge, first = plausible
    again = sync_path(knowledge, "plausible", PLAUSIBLE_DOCS, base_url=BASE_URL)
    assert len(again.unchanged) == 132 and again.chunks_embedded == 0
    assert again.chunks_total == first.chunks_total


def test_a_customer_question_finds_the_goal_docs(plausible):
    knowledge, _ = plausible
    retriever = Retriever(knowledge, knowledge.get("plausible"))
    question = ("I added the class plausible-event-name=Sign+Up to our signup button. People are "
                "clicking it but nothing shows in the dashboard??")
    assert "custom-event-goals.md" in [h.article_id for h in retriever.search(question, k=3)]
