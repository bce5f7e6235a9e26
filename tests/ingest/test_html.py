"""HTML help-center pages: chrome dropped, headings become sections, lists keep numbers."""

from __future__ import annotations

import pytest
from conftest import MINI_KB

from assistant.knowledge.documents import ParseError
from ingest.html_pages import parse_html

PAGE = (MINI_KB / "pages" / "request-time-off.html").read_text()


def parse(html: str):
    return parse_html(html, default_id="pages/page.html", url="https://help.example/page",
                      source="pages/page.html")


def text_of(doc) -> str:
    return "\n".join(s.text for s in doc.sections)


def test_title_locale_and_metadata():
    doc = parse(PAGE)
    assert (doc.title, doc.locale, doc.audience, doc.level) == (
        "Request time off", "en", "end_user", "beginner")
    assert doc.description.startswith("Ask for vacation or sick days")
    assert doc.url == "https://help.example/page"


def test_nav_footer_and_scripts_are_dropped():
    text = text_of(parse(PAGE))
    for chrome in ("Help center home", "Contact support", "Privacy", "Shiftboard Inc",
                   "analytics", "cookie-banner"):
        assert chrome not in text


def test_h2_and_h3_become_nested_sections():
    paths = [s.heading_path for s in parse(PAGE).sections]
    assert paths == [
        (), ("Send a request",), ("Send a request", "Balances"), ("After you send it",)]


def test_ordered_list_keeps_its_numbers():
    steps = parse(PAGE).sections[1].text.splitlines()
    assert [line[:3] for line in steps] == ["1. ", "2. ", "3. "]
    assert steps[0] == "1. Tap Time off in the menu."


def test_punctuation_after_inline_markup_stays_attached():
    assert parse(PAGE).sections[1].text.splitlines()[2].endswith("tap Send request.")


def test_article_element_is_the_body_when_present():
    html = ("<html><body><header>Site header</header><article><h1>Tags</h1>"
            "<p>Group work with tags.</p></article><aside>Related</aside></body></html>")
    doc = parse(html)
    assert doc.title == "Tags"
    assert text_of(doc) == "Group work with tags."


def test_table_rows_keep_their_cells():
    html = ("<html><head><title>Plans</title></head><body><table><tr><th>Plan</th>"
            "<th>Seats</th></tr><tr><td>Team</td><td>50</td></tr></table></body></html>")
    assert text_of(parse(html)) == "Plan | Seats\nTeam | 50"


def test_page_without_text_is_an_error():
    with pytest.raises(ParseError, match="no readable body"):
        parse("<html><head><title>Empty</title></head><body><nav>Home</nav></body></html>")


def test_page_without_title_is_titled_by_its_file_name():
    assert parse("<html><body><p>Orphan paragraph.</p></body></html>").title == "Page"
