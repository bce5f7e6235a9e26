"""HTML help-center pages (and the HTML bodies of Zendesk articles) into sections."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString

from assistant.knowledge.documents import Document, ParseError, Section, SectionCollector
from ingest.metadata import document_from_metadata

__all__ = ["html_to_sections", "parse_html"]

_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?)\]])")
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_SKIP = {"script", "style", "nav", "header", "footer", "noscript", "svg", "form", "aside"}
_BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "blockquote",
    "pre",
    "table",
    "tr",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
    "details",
    "summary",
    "body",
}


def html_to_sections(html: str) -> tuple[str | None, list[Section]]:
    """Walk the DOM in order; headings open sections, lists keep their numbers."""
    soup = BeautifulSoup(html, "html.parser")
    root = soup.find("article") or soup.find("main") or soup.body or soup
    collector = SectionCollector()
    lines = collector.lines

    def inline(node: Tag) -> str:
        text = " ".join(node.get_text(" ", strip=True).split())
        return _SPACE_BEFORE_PUNCT.sub(r"\1", text)  # "<b>Send</b>." stays "Send."

    def append_inline(text: str) -> None:
        if not text:
            return
        if lines and lines[-1]:
            # "tap <b>Send</b>." keeps its full stop attached.
            joiner = "" if text[0] in ".,;:!?)]" else " "
            lines[-1] += joiner + text
        else:
            lines.append(text)

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, PreformattedString):  # comments, doctype, CDATA
                    append_inline(" ".join(str(child).split()))
                continue
            if not isinstance(child, Tag) or child.name in _SKIP:
                continue
            if child.name in _HEADINGS:
                collector.heading(_HEADINGS[child.name], inline(child))
            elif child.name in ("ul", "ol"):
                numbered = child.name == "ol"
                for i, item in enumerate(child.find_all("li", recursive=False), start=1):
                    marker = f"{i}." if numbered else "-"
                    lines.append(f"{marker} {inline(item)}")
                lines.append("")
            elif child.name in ("tr",):
                cells = [inline(c) for c in child.find_all(["td", "th"], recursive=False)]
                lines.append(" | ".join(cells))
            elif child.name in ("img", "br", "hr", "iframe", "video"):
                continue
            elif child.name in _BLOCKS or child.find([*_HEADINGS, "p", "ul", "ol", "div"]):
                lines.append("")
                walk(child)
                lines.append("")
            else:
                append_inline(inline(child))

    walk(root)
    return collector.finish()


def parse_html(text: str, *, default_id: str, url: str | None, source: str) -> Document:
    soup = BeautifulSoup(text, "html.parser")
    meta: dict[str, object] = {}
    if soup.title and soup.title.string:
        meta["title"] = soup.title.string.strip()
    html_tag = soup.find("html")
    if isinstance(html_tag, Tag) and html_tag.get("lang"):
        meta["locale"] = str(html_tag.get("lang")).split("-")[0]
    for tag in soup.find_all("meta"):
        name = str(tag.get("name") or tag.get("property") or "").lower()
        content = tag.get("content")
        if name in ("description", "og:description") and content:
            meta.setdefault("description", str(content))
        elif name.startswith("learnloop:") and content:
            meta[name.split(":", 1)[1]] = str(content)
    h1, sections = html_to_sections(text)
    if h1 and "title" not in meta:
        meta["title"] = h1
    doc = document_from_metadata(
        meta, default_id=default_id, sections=sections, fallback_title=h1, url=url, source=source
    )
    if not doc.sections:
        raise ParseError("no text: the page has no readable body")
    return doc
