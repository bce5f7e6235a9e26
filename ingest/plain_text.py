"""Plain text (``.txt``) articles.

- A header: the lines before the first blank line, when each is ``Key: value`` and one key
  is Learnloop's (``Title:``, ``URL:``, ``Locale:``, ``Audience:``, ``Tags:``…, any case).
  Its known keys are the document's metadata; other keys are kept as extra metadata.
- The title: the header's ``Title:``, else the first non-empty line of the body (which then
  is not repeated as text), else the file name made readable.
- Headings: a line underlined with ``===`` (a section) or ``---`` (a subsection), or a short
  line standing alone between blank lines that does not end like a sentence (a subsection).
- Paragraphs: hard-wrapped lines are joined; lines of a list keep their breaks.
"""

from __future__ import annotations

import re

from assistant.knowledge.documents import Document, ParseError, Section, SectionCollector
from ingest.metadata import document_from_metadata

__all__ = ["parse_plain_text"]

_HEADER = re.compile(r"^([A-Za-z][\w -]{0,30}?)\s*:\s*(.*?)\s*$")
_HEADER_KEYS = {
    "title", "id", "url", "locale", "language", "lang", "audience", "level", "feature",
    "industry", "tags", "description", "summary",
}  # fmt: skip
_KEY_ALIASES = {"language": "locale", "lang": "locale", "summary": "description"}
_UNDERLINE = re.compile(r"^\s*(=|-)\1{2,}\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*+•])\s+")
_SENTENCE_END = (".", ",", ";", ":", "!", "?", "…")
_MAX_HEADING_WORDS = 10


def parse_plain_text(text: str, *, default_id: str, url: str | None, source: str) -> Document:
    lines = [line.rstrip() for line in text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")]
    meta, lines = _header(lines)
    if "title" not in meta:
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        if first is not None:
            meta["title"] = lines[first].strip()
            skip = 2 if first + 1 < len(lines) and _UNDERLINE.match(lines[first + 1]) else 1
            lines = lines[first + skip :]
    title, sections = _sections(lines)
    doc = document_from_metadata(
        meta, default_id=default_id, sections=sections, fallback_title=title, url=url,
        source=source,
    )  # fmt: skip
    if not doc.sections:
        raise ParseError("no text: the file holds a title but no body")
    if doc.description:
        doc.sections = [Section((), doc.description), *doc.sections]
    return doc


def _header(lines: list[str]) -> tuple[dict[str, object], list[str]]:
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    pairs = [_HEADER.match(line) for line in lines[start:end]]
    if not pairs or not all(pairs):
        return {}, lines
    keys = [m.group(1).strip().lower() for m in pairs if m]
    if not set(keys) & _HEADER_KEYS or end == len(lines):
        return {}, lines  # "Note: restart the app." is a sentence, not a header
    meta: dict[str, object] = {}
    for key, match in zip(keys, pairs, strict=True):
        assert match is not None
        meta[_KEY_ALIASES.get(key, key).replace(" ", "_")] = match.group(2)
    return meta, lines[end:]


def _sections(lines: list[str]) -> tuple[str | None, list[Section]]:
    collector = SectionCollector()
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            if any(_LIST_ITEM.match(line) for line in paragraph):
                collector.lines.extend(paragraph)
            else:
                collector.lines.append(" ".join(line.strip() for line in paragraph))
            collector.lines.append("")
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        underline = _UNDERLINE.match(lines[i + 1]) if i + 1 < len(lines) else None
        if line.strip() and underline and not paragraph and not _UNDERLINE.match(line):
            # Level 2 and below: the title is the document's H1.
            collector.heading(2 if underline.group(1) == "=" else 3, line.strip())
            i += 2
            continue
        if not line.strip():
            flush()
        elif not paragraph and _looks_like_heading(lines, i):
            collector.heading(3, line.strip())
        else:
            paragraph.append(line)
        i += 1
    flush()
    return collector.finish()


def _looks_like_heading(lines: list[str], i: int) -> bool:
    """A short line alone between blank lines that does not read like a sentence."""
    line = lines[i].strip()
    before = i == 0 or not lines[i - 1].strip()
    after = i + 1 < len(lines) and not lines[i + 1].strip()
    return (
        before
        and after
        and len(line.split()) <= _MAX_HEADING_WORDS
        and len(line) <= 80
        and not line.endswith(_SENTENCE_END)
        and not _LIST_ITEM.match(line)
        and (line[0].isupper() or line[0].isdigit())
        and any(i + j < len(lines) and lines[i + j].strip() for j in range(2, 4))
    )
