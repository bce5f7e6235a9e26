"""Which addresses a citation may link to: web pages only.

A URL comes from a document's front matter or an export (Zendesk's ``html_url``) and ends up
as a link in the chat page, the widget and every API client's UI. ``javascript:``, ``data:``
and the like would run or render in whoever clicks them, so only ``http(s)`` addresses and
scheme-less relative paths are kept. Browsers drop tabs and newlines inside a URL
("java\\tscript:"), so they are dropped before the scheme is read.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["is_web_address"]

_IGNORED_BY_BROWSERS = re.compile(r"[\x00-\x20\x7f]")


def is_web_address(url: str) -> bool:
    """``url`` is an http(s) address with a host, or a relative path (no scheme)."""
    cleaned = _IGNORED_BY_BROWSERS.sub("", url)
    if not cleaned:
        return False
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return False
    if parts.scheme == "":
        return True  # relative: resolved against the page that shows it
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
