"""Zendesk Help Center exports (``articles.json``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES

from assistant.knowledge.documents import ParseError
from ingest.loaders import load_file
from ingest.zendesk import parse_zendesk

EXPORT = FIXTURES / "zendesk" / "articles.json"


def test_published_articles_become_documents():
    docs = parse_zendesk(EXPORT.read_text(), source="articles.json")
    assert [d.id for d in docs] == ["zendesk/360041234511", "zendesk/360041234533"]


def test_drafts_are_skipped():
    titles = [d.title for d in parse_zendesk(EXPORT.read_text(), source="articles.json")]
    assert "New overtime rules (draft)" not in titles


def test_html_url_locale_and_labels():
    first, second = parse_zendesk(EXPORT.read_text(), source="articles.json")
    assert first.url.startswith("https://shiftboard.zendesk.com/hc/en-us/articles/360041234511")
    assert (first.locale, second.locale) == ("en", "es")
    assert first.tags == ["time clock", "mobile"]


def test_body_html_becomes_sections():
    doc = parse_zendesk(EXPORT.read_text(), source="articles.json")[0]
    assert [s.heading_path for s in doc.sections] == [(), ("Clock in",), ("Forgot to clock out?",)]
    steps = doc.sections[1].text.splitlines()
    assert [line[:3] for line in steps] == ["1. ", "2. "]
    assert "Clock in" in steps[0] and "<strong>" not in steps[0]


def test_loader_recognizes_the_export(tmp_path: Path):
    path = tmp_path / "articles.json"
    path.write_text(EXPORT.read_text())
    result = load_file(path, tmp_path, base_url=None)
    assert result.error is None and len(result.documents) == 2


def test_broken_json_names_line_and_column():
    with pytest.raises(ParseError, match=r"not valid JSON: .* at line 1 column \d+"):
        parse_zendesk('{"articles": [', source="articles.json")


def test_missing_body_names_the_article():
    export = {"articles": [{"id": 7, "title": "Clock in", "draft": False}]}
    with pytest.raises(ParseError, match=r"articles\[0\] is missing body"):
        parse_zendesk(json.dumps(export), source="articles.json")


def test_empty_body_is_an_error():
    export = {"articles": [{"id": 7, "title": "Clock in", "body": "<p> </p>"}]}
    with pytest.raises(ParseError, match=r"id 7\) has an empty body"):
        parse_zendesk(json.dumps(export), source="articles.json")


def test_json_that_is_not_an_export_is_reported_by_the_loader(tmp_path: Path):
    path = tmp_path / "settings.json"
    path.write_text('{"theme": "dark"}')
    assert "not a Zendesk Help Center export" in load_file(path, tmp_path, None).error


def test_an_article_url_that_is_not_a_web_address_is_refused():
    export = json.loads(EXPORT.read_text())
    export["articles"][0]["html_url"] = "java\tscript:alert(document.cookie)"
    with pytest.raises(ParseError, match="is not a web address"):
        parse_zendesk(json.dumps(export), source="articles.json")
