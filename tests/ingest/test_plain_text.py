"""Plain text articles: a ``Key: value`` header, the first line as title, headings, and what
bad input gives (a clear error for that file, the rest loads)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES

from assistant.knowledge.documents import ParseError
from ingest.loaders import discover, load_file
from ingest.plain_text import parse_plain_text

TEXTS = FIXTURES / "plain_text"


def load(name: str):
    result = load_file(TEXTS / name, TEXTS, "https://help.shiftboard.example/")
    assert result.error is None, result.error
    return result.documents[0]


def parse(text: str):
    return parse_plain_text(text, default_id="notes.txt", url=None, source="notes.txt")


def test_header_is_metadata():
    doc = load("clock-in-on-a-kiosk.txt")
    assert (doc.title, doc.url, doc.locale, doc.audience, doc.tags) == (
        "Clock in on a shared kiosk", "https://help.shiftboard.example/kiosk", "en",
        "end_user", ["kiosk", "clock"])


def test_underlined_and_standalone_headings_become_sections():
    paths = [s.heading_path for s in load("clock-in-on-a-kiosk.txt").sections]
    assert paths == [(), ("Before you start",), ("Steps",), ("Troubleshooting",)]


def test_wrapped_lines_are_joined_and_lists_kept():
    sections = {s.heading_path: s.text for s in load("clock-in-on-a-kiosk.txt").sections}
    assert sections[()] == (
        "A kiosk is a shared tablet at the entrance of the store. Everyone on the rota can "
        "clock in there with a four-digit PIN, without their own phone.")
    assert sections[("Steps",)] == (
        "1. Tap your name on the kiosk.\n2. Enter your PIN.\n3. Tap Clock in.")


def test_without_header_the_first_line_is_the_title():
    doc = load("release-notes-march.txt")
    assert doc.title == "Shiftboard release notes, March"
    assert doc.url == "https://help.shiftboard.example/release-notes-march"
    assert doc.sections[0].text.startswith("The schedule view now shows open shifts")
    assert doc.sections[1].heading_path == ("Fixes",)


def test_a_sentence_with_a_colon_is_not_a_header():
    doc = parse("Note: restart the app after the update.\n\nThen sign in again.\n")
    assert doc.title == "Note: restart the app after the update."
    assert doc.extra == {}


def test_unknown_header_keys_are_kept_as_metadata():
    doc = parse("Title: Kiosk PINs\nOwner: Support team\n\nPINs have four digits.\n")
    assert (doc.title, doc.extra) == ("Kiosk PINs", {"owner": "Support team"})


def test_a_bad_header_value_names_the_field():
    with pytest.raises(ParseError, match="'audience' is 'everyone'"):
        parse("Title: Kiosk\nAudience: everyone\n\nText.\n")


def test_a_title_alone_is_an_error():
    with pytest.raises(ParseError, match="no text"):
        parse("Just a title\n")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("latin1.txt", "Caf\xe9 opening hours\n\nWe open at 8.\n".encode("latin-1"),
         "not UTF-8 text (byte 3)"),
        ("latin1.rst", "R\xe9sum\xe9\n======\n\nText.\n".encode("latin-1"),
         "not UTF-8 text (byte 1)"),
        ("empty.txt", b"", "empty file"),
        ("blank.rst", b"\n  \n", "empty file"),
        ("empty.md", b"", "empty file"),
    ],
)
def test_bad_files_get_a_clear_error_and_the_rest_loads(tmp_path, name, content, reason):
    folder = Path(shutil.copytree(TEXTS, tmp_path / "texts"))
    (folder / name).write_bytes(content)
    files, _ = discover(folder)
    results = {r.rel: r for r in (load_file(f, folder, None) for f in files)}
    assert results[name].error == reason
    assert all(r.documents for rel, r in results.items() if rel != name)
