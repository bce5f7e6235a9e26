"""Markdown and Docusaurus MDX: articles, tips (`kind: tip`) and workflows (`kind: workflow`)."""

from __future__ import annotations

from ingest.documents import Document, ParseError, Section
from ingest.markup import clean_markdown, sections_from_markdown, split_front_matter
from ingest.metadata import document_from_metadata

__all__ = ["parse_markdown"]


def parse_markdown(text: str, *, default_id: str, url: str | None, source: str) -> Document:
    meta, body = split_front_matter(text)
    h1, sections = sections_from_markdown(clean_markdown(body))
    doc = document_from_metadata(
        meta, default_id=default_id, sections=sections, fallback_title=h1, url=url, source=source
    )
    if not doc.sections:
        raise ParseError("no text: the file has front matter but an empty body")
    if doc.description:
        # The summary readers see in listings; it is content, so it is indexed with the intro.
        doc.sections = [Section((), doc.description), *doc.sections]
    return doc
