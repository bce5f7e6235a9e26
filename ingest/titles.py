"""Where a document's title comes from when no metadata names it.

Every text format follows one rule: the title from front matter (or the format's own
metadata: an HTML ``<title>``, a ``Title:`` line), else the first H1, else the first heading
of any level, else the file name made readable. A file is never refused for lacking a title.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

__all__ = ["readable_name", "title_from_path"]

_SEPARATORS = re.compile(r"[-_\s]+")
# "01-install": a zero-padded number only orders the files ("10-tips" keeps its number).
_ORDER_PREFIX = re.compile(r"^0\d*[-_.\s]+(?=\S)")
# Files named for their folder: the folder says what they are about.
_FOLDER_FILES = {"index", "readme", "_index", "default", "home"}


def readable_name(name: str) -> str:
    """``getting-started_with-SSO`` → ``Getting started with SSO``.

    Separators become spaces and the first letter is capitalised when the first word is all
    lower case; every other word keeps its case as written (acronyms, product names).
    """
    words = _SEPARATORS.sub(" ", name).strip()
    if not words:
        return name.strip()
    first = words.split(" ", 1)[0]
    if first.islower():
        words = words[0].upper() + words[1:]
    return words


def title_from_path(source: str) -> str | None:
    """The file name of ``source`` (a path relative to the ingested root) made readable;
    ``guides/sso/index.md`` is titled by its folder (``Sso``)."""
    path = PurePosixPath(source)
    stem = path.stem if path.suffix else path.name
    if stem.lower() in _FOLDER_FILES and path.parent.name:
        stem = path.parent.name
    stem = _ORDER_PREFIX.sub("", stem)
    title = readable_name(stem)
    return title or None
