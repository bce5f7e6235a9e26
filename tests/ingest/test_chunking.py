"""Heading-aware chunks measured with the model's own tokenizer."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import PLAUSIBLE_DOCS, needs_plausible

from assistant.knowledge.documents import Document, Section
from ingest.chunking import Chunker
from ingest.loaders import discover, load_file

STEPS = "\n\n".join(  # blank lines between items, as many help centers write them
    f"{i}. {step}" for i, step in enumerate([
        "Open **Settings → Integrations → Payroll**.",
        "Click **Connect** next to your payroll provider.",
        "Sign in with an account that can edit payroll.",
        "Map each pay type to the matching earning code.",
        "Choose when exports run.",
        "Click **Save connection**.",
    ], start=1)
)
FILLER = " ".join(["Approved timesheets are exported at the end of each pay period."] * 12)


def payroll_doc(intro: str = FILLER) -> Document:
    return Document(
        id="articles/admin/connect-payroll.md",
        title="Export approved hours to payroll",
        sections=[
            Section((), intro),
            Section(("Connect the provider",), "Before you connect, check the employee IDs.\n\n"
                    + STEPS + "\n\n" + FILLER),
            Section(("Connect the provider", "Troubleshooting"), FILLER + " " + FILLER),
        ],
    )


@pytest.fixture
def chunker(word_pieces) -> Chunker:
    return Chunker(word_pieces)


def test_chunks_fit_the_model_window(chunker, word_pieces):
    chunks = chunker.chunk(payroll_doc())
    assert len(chunks) > 3
    assert max(word_pieces([c.text for c in chunks])) <= 254


def test_every_chunk_starts_with_its_heading_path(chunker):
    chunks = chunker.chunk(payroll_doc())
    assert all(c.text.startswith("Export approved hours to payroll") for c in chunks)
    assert any(c.text.startswith(
        "Export approved hours to payroll > Connect the provider > Troubleshooting\n")
        for c in chunks)


def test_numbered_steps_stay_in_one_chunk(chunker):
    holding = [c for c in chunker.chunk(payroll_doc()) if "1. Open **Settings" in c.body]
    assert len(holding) == 1
    assert all(f"{i}. " in holding[0].body for i in range(1, 7))


def test_ids_are_stable_across_runs(word_pieces):
    first = [c.id for c in Chunker(word_pieces).chunk(payroll_doc())]
    second = [c.id for c in Chunker(word_pieces).chunk(payroll_doc())]
    assert first == second and len(set(first)) == len(first)


def test_ids_change_only_where_text_changes(chunker):
    before = {c.id for c in chunker.chunk(payroll_doc())}
    after = {c.id for c in chunker.chunk(payroll_doc(intro=FILLER.replace("each", "every")))}
    assert before - after and after - before  # the edited chunk got a new id
    assert before & after  # the untouched sections kept theirs


def test_same_text_in_another_document_gets_another_id(chunker):
    doc = payroll_doc()
    moved = dataclasses.replace(doc, id="articles/admin/payroll-copy.md")
    assert not {c.id for c in chunker.chunk(doc)} & {c.id for c in chunker.chunk(moved)}


def test_one_huge_paragraph_is_split_by_sentences(chunker, word_pieces):
    doc = Document(id="x.md", title="Long", sections=[Section((), FILLER * 8)])
    chunks = chunker.chunk(doc)
    assert len(chunks) > 1
    assert max(word_pieces([c.text for c in chunks])) <= 254


@needs_plausible
def test_every_plausible_chunk_fits_the_model_window(chunker, word_pieces):
    files, _ = discover(PLAUSIBLE_DOCS)
    results = [load_file(f, PLAUSIBLE_DOCS, None) for f in files]
    assert [r.error for r in results if r.error] == []
    chunks = [c for r in results for d in r.documents for c in chunker.chunk(d)]
    sizes = word_pieces([c.text for c in chunks])
    too_long = [(c.doc_id, c.heading, n) for c, n in zip(chunks, sizes, strict=True) if n > 254]
    assert too_long == []
    assert len(files) == 132
