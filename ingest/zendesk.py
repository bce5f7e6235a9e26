"""A Zendesk Help Center export: ``articles.json`` as returned by the Help Center API.

Accepts ``{"articles": [...]}`` (one API page or a merged export) or a bare list. Drafts are
skipped. Each article's id is ``zendesk/<id>`` unless the KB is given another scheme.
"""

from __future__ import annotations

import json
from typing import Any

from assistant.knowledge.documents import Document, ParseError
from ingest.html_pages import html_to_sections
from ingest.metadata import document_from_metadata

__all__ = ["documents_from_export", "load_json", "looks_like_zendesk", "parse_zendesk"]


def looks_like_zendesk(data: Any) -> bool:
    items = data.get("articles") if isinstance(data, dict) else data
    return isinstance(items, list) and all(
        isinstance(a, dict) and "body" in a and "title" in a for a in items[:5]
    )


def parse_zendesk(text: str, *, source: str) -> list[Document]:
    return documents_from_export(load_json(text), source=source)


def load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def documents_from_export(data: Any, *, source: str) -> list[Document]:
    items = data.get("articles") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ParseError("a Zendesk export needs an 'articles' list")
    docs: list[Document] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ParseError(f"articles[{index}] is not an object")
        if item.get("draft"):
            continue
        missing = [k for k in ("id", "title", "body") if item.get(k) in (None, "")]
        if missing:
            raise ParseError(f"articles[{index}] is missing {', '.join(missing)}")
        _, sections = html_to_sections(str(item["body"]))
        if not sections:
            raise ParseError(f"articles[{index}] (id {item['id']}) has an empty body")
        meta: dict[str, Any] = {
            "title": item["title"],
            "locale": str(item.get("locale") or "en").split("-")[0],
            "tags": [str(t) for t in item.get("label_names") or []],
        }
        docs.append(
            document_from_metadata(
                meta,
                default_id=f"zendesk/{item['id']}",
                sections=sections,
                fallback_title=None,
                url=item.get("html_url"),
                source=source,
            )
        )
    ids = [d.id for d in docs]
    if len(set(ids)) != len(ids):
        raise ParseError("the export lists the same article id twice")
    return docs
