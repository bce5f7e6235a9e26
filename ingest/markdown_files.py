"""Markdown and Docusaurus MDX: articles, tips (`kind: tip`) and workflows (`kind: workflow`).

MyST directives and roles (Sphinx's Markdown, see ``myst``) and Obsidian vault syntax (wiki
links, transclusions, callouts, comments, see ``obsidian``) are rewritten first; includes and
transclusions need the ``file`` being loaded to find the files beside it.
"""

from __future__ import annotations

from assistant.knowledge.documents import Document, ParseError, Section
from ingest.markup import clean_markdown, sections_from_markdown, split_front_matter
from ingest.metadata import document_from_metadata
from ingest.myst import expand_myst
from ingest.obsidian import expand_vault_syntax
from ingest.sources import SourceFile

__all__ = ["parse_markdown"]


def parse_markdown(
    text: str,
    *,
    default_id: str,
    url: str | None,
    source: str,
    file: SourceFile | None = None,
) -> Document:
    meta, body = split_front_matter(text)
    body = expand_vault_syntax(expand_myst(body, file), file)
    title, sections = sections_from_markdown(clean_markdown(body))
    doc = document_from_metadata(
        meta, default_id=default_id, sections=sections, fallback_title=title, url=url,
        source=source,
    )
    if not doc.sections:
        raise ParseError("no text: the file has front matter but an empty body")
    if doc.description:
        # The summary readers see in listings; it is content, so it is indexed with the intro.
        doc.sections = [Section((), doc.description), *doc.sections]
    return doc
