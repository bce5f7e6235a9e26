"""reStructuredText files (Sphinx projects included) as documents.

The leading field list is the file's metadata: Learnloop's keys (``:audience: admin``,
``:level:``, ``:tags:``…) are read like front matter, Sphinx's (``:orphan:``) are dropped,
and a ``:nosearch:`` file is a fragment meant to be included elsewhere: it is skipped, its
text being indexed where it is included. Then includes are spliced in, substitutions
collected, and the body converted (see ``rst_blocks``) into the sections the chunker reads.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.knowledge.documents import (
    Document,
    ParseError,
    Section,
    SectionCollector,
    SkippedFile,
)
from ingest.metadata import document_from_metadata
from ingest.rst_blocks import Close, Heading, RstConverter
from ingest.rst_includes import collect_substitutions, expand_includes
from ingest.rst_inline import Substitutions
from ingest.sources import SourceFile

__all__ = ["parse_rst"]

_FIELD = re.compile(r"^:([\w-]+):(?:\s+(.*?))?\s*$")
_LEARNLOOP_KEYS = {
    "title", "id", "url", "locale", "audience", "level", "feature", "industry", "tags",
    "description", "kind",
}  # fmt: skip


def parse_rst(
    text: str, *, file: SourceFile | None, default_id: str, url: str | None, source: str
) -> Document:
    meta, body = _docinfo(text.lstrip("\ufeff").expandtabs(8).split("\n"))
    if "nosearch" in meta:
        raise SkippedFile(":nosearch: fragment (its text is indexed where it is included)")
    path: Path | None = file.path if file else None
    if file is not None and path is not None:
        lines = expand_includes("\n".join(body), path, file)
        subs = collect_substitutions(lines, path, file)
    else:
        lines, subs = body, Substitutions()
    collector = SectionCollector()
    for event in RstConverter(subs, file, path).convert(lines):
        if isinstance(event, Heading):
            collector.heading(event.level, event.title)
        elif isinstance(event, Close):
            collector.close(event.level)
        else:
            collector.lines.append(event)
    title, sections = collector.finish()
    doc = document_from_metadata(
        {k: v for k, v in meta.items() if k in _LEARNLOOP_KEYS},
        default_id=default_id,
        sections=sections,
        fallback_title=title,
        url=url,
        source=source,
    )
    if not doc.sections:
        raise ParseError("no text: the file holds no readable body")
    if doc.description:
        doc.sections = [Section((), doc.description), *doc.sections]
    return doc


def _docinfo(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """The leading field list (the file's metadata) and the lines after it."""
    meta: dict[str, str] = {}
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    while i < len(lines):
        field = _FIELD.match(lines[i])
        if not field:
            break
        meta[field.group(1).lower()] = field.group(2) or ""
        i += 1
        while i < len(lines) and lines[i].startswith((" ", "\t")) and lines[i].strip():
            meta[field.group(1).lower()] += " " + lines[i].strip()  # the value goes on
            i += 1
    return meta, lines[i:] if meta else lines
