"""Turn Markdown / Docusaurus MDX into clean text split by headings.

What goes: front matter, MDX ``import``/``export`` lines, JSX components and HTML tags (their
inner text stays), JSX expressions such as ``{useBaseUrl('img/x.png')}``, images, link
targets, HTML comments. What stays: headings (as section boundaries), paragraphs, lists with
their numbers, tables, fenced code, and the text of ``:::tip`` / ``:::note`` admonitions.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from assistant.knowledge.documents import ParseError, Section, SectionCollector

__all__ = [
    "clean_markdown",
    "close_marker",
    "sections_from_markdown",
    "split_front_matter",
    "strip_tags",
]

_FENCE = re.compile(r"^\s*(```|~~~)")
# CommonMark: a closing fence carries no info string ("```json" inside a block is content).
_FENCE_CLOSE = re.compile(r"^\s*(```|~~~)[`~]*\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_HEADING_ANCHOR = re.compile(r"\s*\{#[^}]*\}\s*$")
_ESM_LINE = re.compile(r"^(import|export)\s[^\n]*$")
_ADMONITION_OPEN = re.compile(r"^\s*:::\s*([A-Za-z]+)\s*(.*?)\s*$")
_ADMONITION_CLOSE = re.compile(r"^\s*:::\s*$")
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)")
_REF_LINK_DEF = re.compile(r"^\s*\[[^\]]+\]:\s+\S+.*$", re.MULTILINE)
_JSX_EXPRESSION = re.compile(r"\{\s*(?:/\*.*?\*/|[A-Za-z_][\w.]*\([^{}]*\))\s*\}", re.DOTALL)
_BLOCK_CLOSERS = {
    "p",
    "div",
    "li",
    "tr",
    "summary",
    "details",
    "table",
    "ul",
    "ol",
    "br",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "blockquote",
    "pre",
}
_CELL_CLOSERS = {"td", "th"}
# A line a rewriting step (a transclusion) leaves to say "back to the heading at this level":
# the note it spliced in brought its own headings, the text after it is the host's again.
_CLOSE = re.compile(r"^\x01close (\d)\x01$")
_DROP_WITH_CONTENT = {"script", "style"}
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][\w.:-]*)")


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Return (front matter mapping, body). Tolerates trailing spaces on the ``---`` lines."""
    text = text.lstrip("\ufeff")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            raw = "\n".join(lines[1:end])
            try:
                data = yaml.safe_load(raw) if raw.strip() else {}
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" (line {mark.line + 2})" if mark is not None else ""
                raise ParseError(f"front matter is not valid YAML{where}: {exc}") from None
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise ParseError("front matter must be a mapping of keys to values")
            return data, "\n".join(lines[end + 1 :])
    raise ParseError("front matter opened with '---' is never closed")


def strip_tags(text: str) -> str:
    """Remove HTML/JSX tags but keep their text; drop comments, scripts and styles.

    A small scanner rather than a regex: JSX attributes hold quotes and ``{...}`` that may
    contain ``>``, and components span several lines.
    """
    out: list[str] = []
    i, n = 0, len(text)
    drop_until: str | None = None
    while i < n:
        ch = text[i]
        if ch == "<" and text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            i = n if end < 0 else end + 3
            continue
        if ch == "<" and i + 1 < n and (text[i + 1].isalpha() or text[i + 1] == "/"):
            end = _tag_end(text, i)
            if end < 0:  # not a tag after all ("a <b" in prose)
                out.append(ch)
                i += 1
                continue
            tag = text[i : end + 1]
            match = _TAG_NAME.match(tag)
            name = match.group(1).lower() if match else ""
            closing = tag.startswith("</")
            if drop_until is not None:
                if closing and name == drop_until:
                    drop_until = None
            elif name in _DROP_WITH_CONTENT and not closing and not tag.endswith("/>"):
                drop_until = name
            elif name in _CELL_CLOSERS and closing:
                out.append(" | ")
            elif name in _BLOCK_CLOSERS:
                out.append("\n")
            i = end + 1
            continue
        if drop_until is None:
            out.append(ch)
        i += 1
    return "".join(out)


def _tag_end(text: str, start: int) -> int:
    """Index of the ``>`` closing the tag at ``start``, or -1 if this is not a tag."""
    quote: str | None = None
    depth = 0
    i = start + 1
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'" and depth == 0 and text[i - 1] in "= \t\n{":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif ch == ">" and depth == 0:
            return i
        elif ch == "<" and depth == 0 and quote is None:
            return -1
        i += 1
    return -1


def clean_markdown(body: str) -> str:
    """Clean MDX/Markdown body text; fenced code is kept verbatim."""
    parts: list[str] = []
    prose: list[str] = []
    in_fence: str | None = None

    def flush_prose() -> None:
        if prose:
            parts.append(_clean_prose("\n".join(prose)))
            prose.clear()

    for line in body.split("\n"):
        fence = _FENCE.match(line)
        if in_fence is not None:
            parts.append(line)
            close = _FENCE_CLOSE.match(line)
            if close and close.group(1) == in_fence:
                in_fence = None
            continue
        if fence:
            flush_prose()
            in_fence = fence.group(1)
            parts.append(line)
            continue
        prose.append(line)
    flush_prose()
    text = "\n".join(parts)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _clean_prose(text: str) -> str:
    codes: list[str] = []

    def keep_code(match: re.Match[str]) -> str:
        codes.append(match.group(0))
        return f"\x00{len(codes) - 1}\x00"

    text = _INLINE_CODE.sub(keep_code, text)
    lines = []
    for line in text.split("\n"):
        if _ESM_LINE.match(line):
            continue
        admonition = _ADMONITION_OPEN.match(line)
        if admonition:
            label = admonition.group(2) or admonition.group(1).capitalize()
            lines.append(f"{label}:")
            continue
        if _ADMONITION_CLOSE.match(line):
            continue
        lines.append(line)
    text = "\n".join(lines)
    text = _JSX_EXPRESSION.sub("", text)
    text = strip_tags(text)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK_DEF.sub("", text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: codes[int(m.group(1))], text)


def close_marker(level: int) -> str:
    """The line that returns the sections to the heading at ``level`` (0: the intro)."""
    return f"\x01close {level}\x01"


def sections_from_markdown(body: str) -> tuple[str | None, list[Section]]:
    """Split cleaned Markdown into sections by ATX headings.

    Returns the first H1 (a title candidate) and the sections; text before the first heading
    is a section with an empty heading path. Headings inside fenced code are not headings.
    """
    collector = SectionCollector()
    in_fence: str | None = None
    for line in body.split("\n"):
        fence = _FENCE.match(line)
        if in_fence is not None:
            collector.lines.append(line)
            close = _FENCE_CLOSE.match(line)
            if close and close.group(1) == in_fence:
                in_fence = None
            continue
        if fence:
            in_fence = fence.group(1)
            collector.lines.append(line)
            continue
        heading = _HEADING.match(line)
        close = _CLOSE.match(line)
        if heading:
            title = _HEADING_ANCHOR.sub("", heading.group(2)).strip().strip("*_").strip()
            collector.heading(len(heading.group(1)), title)
        elif close:
            collector.close(int(close.group(1)))
        else:
            collector.lines.append(line)
    return collector.finish()
