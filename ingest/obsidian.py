"""Obsidian vault syntax in Markdown notes, rewritten to the plain Markdown the cleaner reads.

- ``[[Page]]``, ``[[Page|label]]``, ``[[Page#Heading]]``: the link's text (the label, else
  ``Page`` or ``Page > Heading``).
- ``![[Page]]``, ``![[Page#Heading]]``, ``![[Page#^block]]``: the note (or that section, or
  that block) transcluded, found by file name anywhere in the vault. Its headings are moved
  below the heading the embed sits under. A missing note or a cycle leaves the link text and
  a warning. ``![[pic.png]]`` and other attachments are dropped.
- ``> [!note] Title`` callouts (``-``/``+`` foldable ones too, and GitHub's ``> [!NOTE]``):
  the title (or the type) as a lead-in line, then the body without the ``>``.
- ``%%comments%%`` dropped; ``^block-id`` markers dropped. ``#tags`` stay as written: they
  are words of the text (``#launch`` may be a Slack channel), and never headings.

Fenced and inline code are left as written.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from assistant.knowledge.documents import ParseError
from ingest.markup import close_marker, split_front_matter
from ingest.sources import SourceFile

__all__ = ["expand_vault_syntax"]

_FENCE = re.compile(r"^\s*(```|~~~)")
_FENCE_CLOSE = re.compile(r"^\s*(```|~~~)[`~]*\s*$")
_HEADING = re.compile(r"^(#{1,6})(\s+.*)$")
_EMBED = re.compile(r"!\[\[([^\[\]\n]+?)\]\]")
_WIKI_LINK = re.compile(r"\[\[([^\[\]\n]+?)\]\]")
_COMMENT = re.compile(r"[ \t]*%%.*?%%", re.DOTALL)  # with the spaces before it
_CALLOUT = re.compile(r"^\s*>\s?\[!([\w-]+)\]([+-]?)\s*(.*?)\s*$")
_QUOTED = re.compile(r"^\s*> ?")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_BLOCK_ID = re.compile(r"\s+\^[A-Za-z0-9-]+\s*$")
_ATTACHMENT = re.compile(r"\.[A-Za-z0-9]{2,5}$")
_MAX_DEPTH = 10

_Embed = tuple[Path, str | None]  # a note being transcluded, and the heading or block taken


def expand_vault_syntax(body: str, file: SourceFile | None) -> str:
    """Rewrite the vault syntax of a note's body (front matter already split off). Without a
    ``file`` (no vault to look in) transclusions keep their link text."""
    return _expand(body, file, [(file.path.resolve(), None)] if file else [], min_level=0)


def _expand(body: str, file: SourceFile | None, stack: list[_Embed], min_level: int) -> str:
    out: list[str] = []
    level = min_level
    for is_code, lines in _segments(body):
        if is_code:
            out.extend(lines)
            continue
        prose = _COMMENT.sub("", "\n".join(lines))
        for line in _callouts(prose.split("\n")):
            heading = _HEADING.match(line)
            if heading:
                level = len(heading.group(1))
            out.extend(_line(line, file, stack, level))
    return "\n".join(out)


def _segments(body: str) -> list[tuple[bool, list[str]]]:
    """The body cut into (is fenced code, lines) runs."""
    segments: list[tuple[bool, list[str]]] = []
    fence: str | None = None
    for line in body.split("\n"):
        opening = _FENCE.match(line)
        is_code = fence is not None or bool(opening)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None:
            closing = _FENCE_CLOSE.match(line)
            if closing and closing.group(1) == fence:
                fence = None
        if segments and segments[-1][0] == is_code:
            segments[-1][1].append(line)
        else:
            segments.append((is_code, [line]))
    return segments


def _callouts(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _CALLOUT.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        kind, _, title = match.groups()
        label = title or kind.replace("-", " ").capitalize()
        out.append(label if label[-1] in ".:?!" else f"{label}:")
        i += 1
        body: list[str] = []
        while i < len(lines) and _QUOTED.match(lines[i]):
            body.append(_QUOTED.sub("", lines[i], count=1))
            i += 1
        out.extend(_callouts(body))  # a callout may hold another
    return out


def _line(line: str, file: SourceFile | None, stack: list[_Embed], level: int) -> list[str]:
    """One prose line: inline syntax rewritten, transclusions spliced in as blocks."""
    out: list[str] = []
    text = ""
    last = 0
    code = [m.span() for m in _INLINE_CODE.finditer(line)]
    for match in _EMBED.finditer(line):
        if any(start <= match.start() < end for start, end in code):
            continue  # `![[written as code]]`
        text += line[last : match.start()]
        last = match.end()
        embedded = _transclude(match.group(1), file, stack, level)
        if embedded is None:
            continue
        if embedded.startswith("\0"):  # not found: the link's text stays in the sentence
            text += embedded[1:]
            continue
        if text.strip():
            out.append(_inline(text))
        text = ""
        out.extend(["", embedded, ""])
        if _headings(embedded):
            out.extend([close_marker(level), ""])  # what follows is the host's text again
    text += line[last:]
    if text.strip() or not out:
        out.append(_inline(text))
    return out


def _inline(text: str) -> str:
    codes: list[str] = []

    def keep(match: re.Match[str]) -> str:
        codes.append(match.group(0))
        return f"\x00{len(codes) - 1}\x00"

    text = _INLINE_CODE.sub(keep, text)
    text = _WIKI_LINK.sub(lambda m: _link_text(m.group(1)), text)
    text = _BLOCK_ID.sub("", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: codes[int(m.group(1))], text)


def _parts(inner: str) -> tuple[str, list[str], str | None]:
    """``Page#Heading|label`` → (``Page``, [``Heading``], ``label``)."""
    target, _, label = inner.replace("\\|", "|").partition("|")
    page, *anchors = target.split("#")
    return page.strip(), [a.strip() for a in anchors if a.strip()], label.strip() or None


def _link_text(inner: str) -> str:
    page, anchors, label = _parts(inner)
    if label:
        return label
    name = PurePosixPath(page).name if page else ""
    if name.lower().endswith((".md", ".markdown")):
        name = name.rsplit(".", 1)[0]
    headings = [a for a in anchors if not a.startswith("^")]
    return " > ".join([p for p in (name, *headings) if p]) or inner


def _transclude(inner: str, file: SourceFile | None, stack: list[_Embed], level: int) -> str | None:
    """The text an embed stands for: None (an attachment: dropped), the note's Markdown, or
    ``"\\0" + link text`` when the note cannot be transcluded."""
    page, anchors, _ = _parts(inner)
    suffix = PurePosixPath(page).suffix.lower()
    if _ATTACHMENT.search(page) and suffix not in (".md", ".markdown"):
        return None
    fallback = "\0" + _link_text(inner)
    if file is None:
        return fallback
    near = stack[-1][0] if stack else file.path
    path = file.tree.note(page, near=near) if page else near
    if path is None:
        file.warn(f"![[{inner}]]: no note named '{page}' in the vault; kept the link text")
        return fallback
    path = path.resolve()
    anchor = anchors[-1] if anchors else None
    # A note may embed a section of itself, but nothing may embed what is being embedded.
    whole_note_open = anchor is None and any(p == path for p, _ in stack)
    if (path, anchor) in stack or whole_note_open or len(stack) > _MAX_DEPTH:
        chain = " → ".join(_embed_name(e) for e in [*stack, (path, anchor)])
        file.warn(f"![[{inner}]]: transclusion cycle ({chain}); kept the link text")
        return fallback
    try:
        _, body = split_front_matter(file.tree.read(path))
    except ParseError as exc:
        file.warn(f"![[{inner}]]: {exc}; kept the link text")
        return fallback
    if anchor is not None:
        part = _block(body, anchor[1:]) if anchor.startswith("^") else _section(body, anchor)
        if part is None:
            file.warn(f"![[{inner}]]: '{path.stem}' has no '{anchor}'; kept the link text")
            return fallback
        body = part
    expanded = _expand(body, file, [*stack, (path, anchor)], min_level=0)
    # Below the heading the embed sits under, and never an H1 (that would read as a title).
    return _demote(expanded, max(level + 1, 2)).strip("\n") or None


def _embed_name(embed: _Embed) -> str:
    path, anchor = embed
    return f"{path.stem}#{anchor}" if anchor else path.stem


def _heading_key(text: str) -> str:
    text = re.sub(r"\s*\{#[^}]*\}\s*$", "", text)
    return " ".join(text.strip().strip("#").strip().lower().split())


def _section(body: str, heading: str) -> str | None:
    """The heading ``heading`` and what lies under it, up to the next heading of its level."""
    wanted = _heading_key(heading)
    lines: list[str] = []
    start_level: int | None = None
    for is_code, segment in _segments(body):
        for line in segment:
            match = None if is_code else _HEADING.match(line)
            if match and start_level is not None and len(match.group(1)) <= start_level:
                return "\n".join(lines)
            if match and start_level is None and _heading_key(match.group(2)) == wanted:
                start_level = len(match.group(1))
            if start_level is not None:
                lines.append(line)
    return "\n".join(lines) if start_level is not None else None


def _block(body: str, block_id: str) -> str | None:
    """The paragraph (or list item) marked ``^block_id``."""
    paragraphs = re.split(r"\n\s*\n", body)
    marker = re.compile(rf"\s\^{re.escape(block_id)}\s*$", re.MULTILINE)
    for paragraph in paragraphs:
        found = marker.search(paragraph)
        if found:
            lines = paragraph.split("\n")
            if all(re.match(r"^\s*(?:[-*+]|\d+[.)])\s", line) for line in lines):
                line_no = paragraph[: found.start()].count("\n")
                return lines[line_no]
            return paragraph
    return None


def _headings(text: str) -> list[int]:
    """The levels of the headings of ``text`` (outside code)."""
    return [
        len(m.group(1))
        for is_code, segment in _segments(text)
        if not is_code
        for line in segment
        if (m := _HEADING.match(line))
    ]


def _demote(text: str, top: int) -> str:
    """Shift the headings of ``text`` so the highest becomes level ``top`` (at most H6)."""
    levels = _headings(text)
    if not levels or min(levels) >= top:
        return text
    shift = top - min(levels)
    out: list[str] = []
    for is_code, segment in _segments(text):
        for line in segment:
            match = None if is_code else _HEADING.match(line)
            if match:
                line = "#" * min(6, len(match.group(1)) + shift) + match.group(2)
            out.append(line)
    return "\n".join(out)
