"""Validate front matter (or any per-document metadata) into Document fields."""

from __future__ import annotations

from typing import Any

from assistant.knowledge.documents import AUDIENCES, LEVELS, Document, ParseError, Section
from assistant.language import detect_document_language
from assistant.tips.library import TipError, tip_from_metadata
from assistant.urls import is_web_address
from ingest.titles import title_from_path

__all__ = ["KNOWN_KEYS", "document_from_metadata"]

KNOWN_KEYS = {
    "title",
    "id",
    "url",
    "locale",
    "audience",
    "level",
    "feature",
    "industry",
    "tags",
    "kind",
    "description",
    "slug",
    "sidebar_label",
    "sidebar_position",
}
_KINDS = {"article", "tip", "workflow"}


def _text(meta: dict[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    raise ParseError(f"front matter '{key}' must be text, got {type(value).__name__}")


def _choice(meta: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
    value = _text(meta, key)
    if value is not None and value not in allowed:
        raise ParseError(f"front matter '{key}' is '{value}'; expected one of {', '.join(allowed)}")
    return value


def _tags(meta: dict[str, Any]) -> list[str]:
    raw = meta.get("tags")
    if raw is None:
        return []
    if isinstance(raw, str):
        return [t.strip() for t in raw.split(",") if t.strip()]
    if isinstance(raw, list) and all(isinstance(t, (str, int)) for t in raw):
        return [str(t).strip() for t in raw if str(t).strip()]
    raise ParseError("front matter 'tags' must be a list of words or a comma-separated string")


def document_from_metadata(
    meta: dict[str, Any],
    *,
    default_id: str,
    sections: list[Section],
    fallback_title: str | None,
    url: str | None,
    source: str,
) -> Document:
    """Build a Document from validated metadata; raises ParseError naming the bad field.

    The title is the metadata's, else ``fallback_title`` (the format's first H1 or first
    heading), else the file name of ``source`` made readable."""
    title = _text(meta, "title") or fallback_title or title_from_path(source or default_id)
    if not title:
        raise ParseError("no title: set 'title' in the front matter or start the body with an H1")
    kind = _text(meta, "kind") or "article"
    if kind not in _KINDS:
        raise ParseError(
            f"front matter 'kind' is '{kind}'; expected one of {', '.join(sorted(_KINDS))}"
        )
    address = _text(meta, "url") or url
    if address and not is_web_address(address):
        raise ParseError(
            f"url '{address[:60]}' is not a web address: citations link only to http(s) "
            "addresses or relative paths"
        )
    # Undeclared, the document's language is read from its text (language.py).
    declared = _text(meta, "locale")
    text = "\n".join([title, *(s.text for s in sections)])
    locale = (declared or detect_document_language(text)).lower().replace("_", "-")
    extra = {k: v for k, v in meta.items() if k not in KNOWN_KEYS}
    industry = _text(meta, "industry")
    if industry:
        extra["industry"] = industry
    if kind == "tip":  # a tip whose trigger cannot be read would never be delivered
        try:
            tip_from_metadata(
                default_id, title, extra, feature=_text(meta, "feature"), level=None,
                audience=None, url=None, locale=locale, tags=_tags(meta),
            )
        except TipError as exc:
            raise ParseError(f"tip: {exc}") from None
    return Document(
        id=_text(meta, "id") or default_id,
        title=title,
        sections=sections,
        kind=kind,
        url=address,
        locale=locale,
        audience=_choice(meta, "audience", AUDIENCES),
        level=_choice(meta, "level", LEVELS),
        feature=_text(meta, "feature"),
        tags=_tags(meta),
        description=_text(meta, "description"),
        source=source,
        extra=_jsonable(extra),
    )


def _jsonable(value: Any) -> Any:
    """YAML dates and the like become strings so the metadata hashes and stores as JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
