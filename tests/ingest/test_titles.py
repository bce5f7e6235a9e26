"""One title rule for every text format: metadata, else the first H1, else the first heading,
else the file name made readable. A file is never refused for lacking a title."""

from __future__ import annotations

import pytest

from ingest.html_pages import parse_html
from ingest.markdown_files import parse_markdown
from ingest.plain_text import parse_plain_text
from ingest.rst_files import parse_rst
from ingest.titles import readable_name, title_from_path


@pytest.mark.parametrize(
    ("name", "readable"),
    [
        ("getting-started_with-SSO", "Getting started with SSO"),
        ("reset-your-password", "Reset your password"),
        ("iOS-app", "iOS app"),
        ("API_tokens", "API tokens"),
        ("shift--swaps__faq", "Shift swaps faq"),
    ],
)
def test_readable_name(name, readable):
    assert readable_name(name) == readable


@pytest.mark.parametrize(
    ("source", "title"),
    [
        ("guides/getting-started_with-SSO.md", "Getting started with SSO"),
        ("guides/sso/index.rst", "Sso"),
        ("notes/README.txt", "Notes"),
        ("01-install.md", "Install"),
        ("10-tips-for-managers.md", "10 tips for managers"),
    ],
)
def test_title_from_path(source, title):
    assert title_from_path(source) == title


def markdown(text: str, source: str = "guides/getting-started_with-SSO.md"):
    return parse_markdown(text, default_id=source, url=None, source=source)


def test_front_matter_title_wins():
    doc = markdown("---\ntitle: Single sign-on\n---\n\n# Sign in\n\nText.\n")
    assert doc.title == "Single sign-on"


def test_first_h1_when_front_matter_has_none():
    assert markdown("# Sign in with SSO\n\nText.\n").title == "Sign in with SSO"


def test_an_h1_after_some_text_is_still_the_title():
    doc = markdown("Intro text.\n\n# Sign in with SSO\n\nMore.\n")
    assert doc.title == "Sign in with SSO"


def test_first_heading_of_any_level_when_there_is_no_h1():
    doc = markdown("Intro text.\n\n### Before you start\n\nText.\n\n## Steps\n\nMore.\n")
    assert doc.title == "Before you start"
    assert ("Steps",) in [s.heading_path for s in doc.sections]


def test_file_name_when_there_is_no_heading():
    assert markdown("Just a paragraph.\n").title == "Getting started with SSO"


def test_html_without_title_or_heading():
    doc = parse_html("<p>Orphan paragraph.</p>", default_id="faq/billing-FAQ.html", url=None,
                     source="faq/billing-FAQ.html")
    assert doc.title == "Billing FAQ"


def test_rst_without_a_section_title():
    doc = parse_rst("A paragraph only.\n", file=None, default_id="sso_setup.rst", url=None,
                    source="sso_setup.rst")
    assert doc.title == "Sso setup"


def test_plain_text_title_is_its_first_line():
    doc = parse_plain_text("Reset your PIN\n\nAsk your manager.\n", default_id="pin.txt",
                           url=None, source="pin.txt")
    assert doc.title == "Reset your PIN"
