"""reStructuredText (Sphinx) body → headings and Markdown-ish text lines.

A line-based converter, not docutils: Sphinx projects are full of directives and roles that
docutils refuses without the project's extensions, and what Learnloop needs is readable
text and the section structure, not a document tree. It yields the same intermediate form
the Markdown loader gives the chunker: headings (levels), paragraphs, ``-``/``1.`` lists,
fenced code and ``a | b`` table rows.

- Section titles (underlined, or over- and underlined, with any punctuation character):
  levels by order of first appearance of each adornment style, as docutils does.
- Tabs (``tab``, ``group-tab``, ``code-tab``, ``tab-item``): the label is a sub-heading of the
  current section, the text after the tabs returns to the section. Inside a list or an
  admonition the label is a bold lead-in.
- Admonitions (``note``, ``tip``, ``warning``, ``seealso``, ``admonition:: Title``…): a
  ``Note:`` lead-in, then their text.
- ``code-block``/``code``, literal blocks (``::``) and ``literalinclude``: fenced code.
- Grid, simple, ``list-table`` and ``csv-table`` tables: one ``a | b`` paragraph per row.
- Dropped: comments, targets, ``image``, ``raw``, ``toctree``, ``meta``, ``contents``, the
  metadata fields (``:orphan:``, ``:nosearch:``) and substitution definitions.
- Unknown directives keep their content (never silently lose text) and drop their options.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from assistant.knowledge.documents import ParseError
from ingest.markup import clean_markdown, split_front_matter
from ingest.rst_includes import MARKDOWN_DIRECTIVE, resolve
from ingest.rst_inline import Substitutions, inline_text
from ingest.rst_tables import (
    GRID_BORDER,
    SIMPLE_BORDER,
    csv_rows,
    grid_rows,
    grid_table_end,
    list_table_rows,
    simple_rows,
    simple_table_end,
)
from ingest.sources import SourceFile

__all__ = ["METADATA_FIELDS", "Close", "Event", "Heading", "RstConverter"]


@dataclass(frozen=True)
class Heading:
    level: int
    title: str


@dataclass(frozen=True)
class Close:
    """Back to the heading at ``level`` (the text after a group of tabs)."""

    level: int


Event = str | Heading | Close

METADATA_FIELDS = {
    "orphan", "nosearch", "nocomments", "tocdepth", "hide-toc", "hide-navigation",
    "hide-footer", "no-search", "html_theme.sidebar_secondary.remove", "og:description",
    "og:title", "og:image", "keywords", "author", "date", "version", "revision", "copyright",
}  # fmt: skip

_PUNCTUATION = r"!-/:-@\[-`{-~"
_ADORNMENT = re.compile(rf"^([{_PUNCTUATION}])\1*\s*$")
_BULLET = re.compile(r"^([-*+•‣⁃])( +|$)")
_ENUMERATED = re.compile(
    r"^(?:(\d+|#|[A-Za-z]|[ivxlcdm]+|[IVXLCDM]+)([.)])|\((\d+|#|[A-Za-z])\))( +)(?=\S)"
)
_FIELD = re.compile(r"^:([^:\s`][^:`]*?):(?:\s+(.*?))?\s*$")
_DIRECTIVE = re.compile(r"^([\w][\w:.+-]*)::(?:\s+(.*?))?\s*$")
_OPTION = re.compile(r"^:([\w][\w.-]*):(?:\s+(.*?))?\s*$")
_FOOTNOTE = re.compile(r"^\[([^\]]+)\]\s*(.*)$")
_OUT_LIST = re.compile(r"^\s*(?:\d+[.)]|[A-Za-z][.)]|[-*+])\s+")

_ADMONITIONS = {
    "note": "Note", "tip": "Tip", "hint": "Hint", "important": "Important",
    "warning": "Warning", "caution": "Caution", "attention": "Attention", "danger": "Danger",
    "error": "Error", "seealso": "See also",
}  # fmt: skip
_VERSIONS = {
    "versionadded": "New in version", "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version", "versionremoved": "Removed in version",
}  # fmt: skip
_DROPPED = {
    "image", "raw", "toctree", "meta", "contents", "index", "highlight", "sectnum",
    "tabularcolumns", "default-role", "role", "title", "todo", "todolist", "target-notes",
    "header", "footer", "sectionauthor", "moduleauthor", "codeauthor", "currentmodule",
    "module", "youtube", "vimeo", "video", "iframe", "thumbnail", "mermaid", "graphviz",
    "graph", "digraph", "plantuml", "uml", "spelling:word-list", "cssclass", "include",
    "autosummary", "automodule", "autoclass", "autofunction", "raw-html",
}  # fmt: skip
# Mattermost's settings directive: a machine-readable copy of the table under the title
# that follows it. Kept, its text would land (twice) in the section before.
_OBJECT_DESCRIPTIONS_DROPPED = {"config:setting"}
_CODE = {
    "code-block", "code", "sourcecode", "parsed-literal", "math", "productionlist",
    "doctest", "testcode", "testoutput", "prompt", "code-cell",
}  # fmt: skip
_TABS = {"tab", "group-tab", "tab-item", "code-tab", "tabbed"}
_CONTENT_IS_ARGUMENT = {*_ADMONITIONS, "epigraph", "highlights", "pull-quote", "compound"}
_TITLED = {"admonition", "topic", "sidebar", "dropdown", "details", "card", "grid-item-card"}
_TABLES = {"list-table", "csv-table", "table", "flat-table"}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _dedent(lines: list[str], keep_leading_blank: bool = False) -> list[str]:
    text = textwrap.dedent("\n".join(line.rstrip() for line in lines))
    out = text.split("\n")
    while out and not out[0].strip() and not keep_leading_blank:
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


def _is_adornment(line: str) -> bool:
    return bool(_ADORNMENT.match(line)) and len(line.strip()) >= 3


def _fence(language: str, lines: list[str]) -> list[str]:
    fence = "~~~" if any(line.lstrip().startswith("```") for line in lines) else "```"
    return [f"{fence}{language}", *lines, fence]


class RstConverter:
    """Walks the lines of one document (includes already spliced in) and records events."""

    def __init__(self, subs: Substitutions, file: SourceFile | None, path: Path | None) -> None:
        self.subs = subs
        self.file = file
        self.path = path
        self.out: list[Event] = []
        self.level = 0  # the level of the heading in effect
        self._nested = 0  # inside a list item, admonition or cell: no headings there

    def convert(self, lines: list[str]) -> list[Event]:
        self._block(lines, styles=[], base=0)
        return self.out

    # --- plumbing -------------------------------------------------------------------------

    def _inline(self, text: str) -> str:
        return inline_text(text, self.subs)

    def _emit(self, *lines: Event) -> None:
        self.out.extend(lines)

    def _capture(self, lines: list[str]) -> list[str]:
        """Convert ``lines`` as a nested block (no headings) and return its text lines."""
        saved, self.out = self.out, []
        self._nested += 1
        try:
            self._block(_dedent(lines), styles=[], base=self.level)
        finally:
            captured, self.out = self.out, saved
            self._nested -= 1
        text = [e for e in captured if isinstance(e, str)]
        while text and not text[0].strip():
            text.pop(0)
        while text and not text[-1].strip():
            text.pop()
        return text

    def _heading(self, level: int, title: str) -> None:
        if not title:
            return
        if self._nested:
            self._emit("", f"**{title}**")
            return
        self._emit(Heading(level, title))
        self.level = level

    # --- blocks -------------------------------------------------------------------------------

    def _block(self, lines: list[str], styles: list[tuple[str, bool]], base: int) -> None:
        i, n = 0, len(lines)
        while i < n:
            line = lines[i]
            stripped = line.strip()
            if not stripped:
                self._emit("")
                i += 1
                continue
            if _indent(line) > 0:  # a block quote: its text, dedented
                end = self._indented_end(lines, i, 1)
                self._block(_dedent(lines[i:end]), styles=[], base=self.level)
                i = end
                continue
            title_end = self._title(lines, i, styles, base)
            if title_end:
                i = title_end
                continue
            if _is_adornment(line):  # a transition
                i += 1
                continue
            if line.startswith("..") and (len(stripped) == 2 or line[2] == " "):
                end = self._indented_end(lines, i + 1, 1)
                self._explicit(stripped[2:].strip(), lines[i + 1 : end])
                i = end
                continue
            if line.startswith("__ ") or stripped == "__":  # anonymous hyperlink target
                i = self._indented_end(lines, i + 1, 1)
                continue
            if GRID_BORDER.match(line):
                end = grid_table_end(lines, i)
                self._table([[self._cell(c) for c in row] for row in grid_rows(lines[i:end])])
                i = end
                continue
            if SIMPLE_BORDER.match(line):
                end = simple_table_end(lines, i)
                self._table([[self._cell(c) for c in row] for row in simple_rows(lines[i:end])])
                i = end
                continue
            if _BULLET.match(line) or _ENUMERATED.match(line):
                i = self._list(lines, i)
                continue
            field = _FIELD.match(line)
            if field:
                end = self._indented_end(lines, i + 1, 1)
                self._field(field.group(1), field.group(2) or "", lines[i + 1 : end])
                i = end
                continue
            if line.startswith("| ") or stripped == "|":  # a line block
                while i < n and (lines[i].startswith("| ") or lines[i].strip() == "|"):
                    self._emit(self._inline(lines[i][2:]))
                    i += 1
                self._emit("")
                continue
            if line.startswith(">>>"):  # a doctest block
                end = i
                while end < n and lines[end].strip():
                    end += 1
                self._emit(*_fence("python", lines[i:end]), "")
                i = end
                continue
            i = self._paragraph(lines, i)

    def _indented_end(self, lines: list[str], start: int, min_indent: int) -> int:
        """Index past the lines from ``start`` that are blank or indented by ``min_indent``,
        trailing blank lines excluded."""
        end = start
        last = start
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) >= min_indent):
            end += 1
            if lines[end - 1].strip():
                last = end
        return last

    def _title(
        self, lines: list[str], i: int, styles: list[tuple[str, bool]], base: int
    ) -> int:
        """If a section title starts at ``i``: record it and return the index after it."""
        line, n = lines[i], len(lines)
        if (
            _is_adornment(line)
            and i + 2 < n
            and lines[i + 1].strip()
            and lines[i + 2].rstrip() == line.rstrip()
        ):
            style, text, end = (line.strip()[0], True), lines[i + 1].strip(), i + 3
        elif (
            i + 1 < n
            and _is_adornment(lines[i + 1])
            and not _is_adornment(line)
            and (i == 0 or not lines[i - 1].strip())
            and len(lines[i + 1].strip()) >= min(len(line.strip()), 4)
            and not line.startswith(".. ")
        ):
            style, text, end = (lines[i + 1].strip()[0], False), line.strip(), i + 2
        else:
            return 0
        if style not in styles:
            styles.append(style)
        self._heading(base + styles.index(style) + 1, self._inline(text))
        return end

    def _paragraph(self, lines: list[str], i: int) -> int:
        n = len(lines)
        end = i + 1
        while end < n and lines[end].strip() and _indent(lines[end]) == 0:
            line = lines[end]
            if (line.startswith(".. ") or GRID_BORDER.match(line) or _BULLET.match(line)
                    or (end + 1 < n and _is_adornment(lines[end + 1]))):  # fmt: skip
                break  # a new block without the blank line RST wants
            end += 1
        text = " ".join(line.strip() for line in lines[i:end])
        follows = end < n and lines[end].strip() and _indent(lines[end]) > 0
        if follows and end == i + 1 and not text.endswith("::"):  # a definition list item
            body_end = self._indented_end(lines, end, 1)
            self._emit(self._inline(text), *self._capture(lines[end:body_end]), "")
            return body_end
        literal = text.endswith("::")
        if literal:
            text = text[:-2].rstrip() + (":" if text[:-2] and not text[:-2].endswith(" ") else "")
        if text.strip():
            self._emit(self._inline(text), "")
        if not literal:
            return end
        start = end
        while start < n and not lines[start].strip():
            start += 1
        if start < n and _indent(lines[start]) > 0:
            block_end = self._indented_end(lines, start, 1)
            self._emit(*_fence("", _dedent(lines[start:block_end])), "")
            return block_end
        return end

    def _list(self, lines: list[str], i: int) -> int:
        """A run of list items (of any kind) at indentation 0: one tight list."""
        n = len(lines)
        number = 0
        items: list[str] = []
        while i < n:
            bullet = _BULLET.match(lines[i])
            enumerated = None if bullet else _ENUMERATED.match(lines[i])
            if not bullet and not enumerated:
                break
            if bullet:
                marker, width = "-", len(bullet.group(0)) if bullet.group(2) else 2
            else:
                assert enumerated is not None
                label = enumerated.group(1) or enumerated.group(3)
                number = number + 1 if label == "#" else (int(label) if label.isdigit() else 0)
                marker = f"{number}." if label == "#" or label.isdigit() else f"{label}."
                width = len(enumerated.group(0))
            end = self._indented_end(lines, i + 1, width)
            body = [lines[i][width:], *(line[width:] for line in lines[i + 1 : end])]
            text = [line for line in self._capture(body) if line.strip()]
            pad = " " * (len(marker) + 1)
            if text:
                items.append(f"{marker} {text[0].lstrip()}")
                items.extend(pad + line for line in text[1:])
            i = end
            while i < n and not lines[i].strip():  # blank lines between items
                i += 1
            if i < n and not (_BULLET.match(lines[i]) or _ENUMERATED.match(lines[i])):
                break
        self._emit(*items, "")
        return i

    def _field(self, name: str, value: str, more: list[str]) -> None:
        if name.lower() in METADATA_FIELDS:
            return
        body = self._capture([value, *(_dedent(more) if more else [])])
        if body:
            self._emit(f"{self._inline(name)}: {body[0].strip()}", *body[1:], "")

    # --- tables ---------------------------------------------------------------------------

    def _cell(self, lines: list[str]) -> str:
        """A cell's text on one line: paragraphs joined, list items joined with "; "."""
        pieces: list[tuple[bool, str]] = []
        fresh = True
        for line in self._capture(lines):
            text = line.strip()
            if not text or text.startswith(("```", "~~~")):
                fresh = True
                continue
            item = _OUT_LIST.match(text)
            if item:
                pieces.append((True, text[item.end() :]))
            elif fresh or not pieces:
                pieces.append((False, text))
            else:
                pieces[-1] = (pieces[-1][0], f"{pieces[-1][1]} {text}")
            fresh = False
        out = ""
        for index, (is_item, text) in enumerate(pieces):
            if index:
                out += "; " if is_item or pieces[index - 1][0] else " "
            out += text
        return out

    def _table(self, rows: list[list[str]], title: str = "") -> None:
        lines = [" | ".join(row) for row in rows if any(row)]
        # Empty cells: "a | | c", and none at the end of a row.
        lines = [re.sub(r"(?:\s*\|)+\s*$", "", re.sub(r"\|\s+\|", "| |", line)).strip()
                 for line in lines]  # fmt: skip
        if title:
            self._emit(f"**{title}**", "")
        for line in lines:
            # A row per paragraph: a long table is chunked between rows, and an answer quotes
            # a row, not the run of every row's cells.
            self._emit(line, "")

    # --- explicit markup ------------------------------------------------------------------

    def _explicit(self, first: str, rest: list[str]) -> None:
        if first.startswith("|") or first.startswith("_"):
            return  # substitution definition (collected beforehand) or hyperlink target
        directive = _DIRECTIVE.match(first)
        if directive:
            self._directive(directive.group(1).lower(), directive.group(2) or "", rest)
            return
        footnote = _FOOTNOTE.match(first)
        if footnote:
            text = self._capture([footnote.group(2), *_dedent(rest)])
            if text:
                self._emit(f"[{footnote.group(1)}] {text[0]}", *text[1:], "")
        # anything else after ".." is a comment

    def _directive(self, name: str, argument: str, rest: list[str]) -> None:
        short = name.rsplit(":", 1)[-1] if name not in _DROPPED else name
        lines = _dedent(rest, keep_leading_blank=True)  # a blank line ends the options
        takes_argument = short not in _CONTENT_IS_ARGUMENT
        head: list[str] = []
        options: dict[str, str] = {}
        index = 0
        while index < len(lines) and lines[index].strip():
            option = _OPTION.match(lines[index])
            if option:
                options[option.group(1).lower()] = option.group(2) or ""
            elif options and _indent(lines[index]) > 0:
                pass  # an option value going on
            else:
                head.append(lines[index])
            index += 1
        if takes_argument:
            argument = " ".join([argument, *(h.strip() for h in head)]).strip()
            content = _dedent(lines[index:])
        else:
            content = _dedent([argument, *head, "", *lines[index:]]) if argument or head else (
                _dedent(lines[index:])
            )
            argument = ""
        if name == MARKDOWN_DIRECTIVE:
            self._markdown(rest)
        elif name in _DROPPED or short in _DROPPED or name in _OBJECT_DESCRIPTIONS_DROPPED:
            return
        elif short in _ADMONITIONS or short in _TITLED or short in _VERSIONS:
            self._admonition(short, argument, content)
        elif short in _CODE:
            language = argument.split()[0] if argument else ""
            caption = options.get("caption")
            if caption:
                self._emit(self._inline(caption))
            self._emit(*_fence(language if short != "math" else "", content), "")
        elif short == "literalinclude":
            self._literal_include(argument, options)
        elif short in _TABS:
            self._tab(short, argument, content)
        elif short in _TABLES:
            self._directive_table(short, argument, options, content)
        elif short == "figure":
            self._emit(*self._capture(content), "")  # the caption and legend; the image goes
        elif short == "rubric":
            self._emit(f"**{self._inline(argument)}**", "")
        elif short == "centered":
            self._emit(self._inline(argument), "")
        elif content:  # containers (tabs, only, container…) and unknown directives
            if self._nested:
                self._emit(*self._capture(content), "")
            else:
                self._block(content, styles=[], base=self.level)

    def _admonition(self, kind: str, argument: str, content: list[str]) -> None:
        if kind in _VERSIONS:
            version, _, text = argument.partition(" ")
            label = f"{_VERSIONS[kind]} {version}".strip()
            content = [text, "", *content] if text else content
        elif kind in _TITLED:
            label = self._inline(argument) or kind.capitalize()
        else:
            label = _ADMONITIONS[kind]
        body = self._capture(content) if content else []
        self._emit(label if label[-1:] in ".:?!" else f"{label}:", *body, "")

    def _tab(self, kind: str, argument: str, content: list[str]) -> None:
        label = argument
        if kind == "code-tab":  # ".. code-tab:: py Python": the language, then the label
            language, _, label = argument.partition(" ")
            label = label or language.capitalize()
            content = _fence(language, content)
        label = self._inline(label) or "Tab"
        if self._nested:
            self._emit("", f"**{label}**", *self._capture(content), "")
            return
        outer = self.level
        self._heading(max(outer + 1, 2), label)
        self._block(content, styles=[], base=self.level)
        self.level = outer
        self._emit(Close(outer))

    def _directive_table(
        self, kind: str, argument: str, options: dict[str, str], content: list[str]
    ) -> None:
        title = self._inline(argument)
        if kind == "csv-table":
            if options.get("file"):
                content = self._read_relative(options["file"], "csv-table file") or []
            delim = options.get("delim") or ","
            delimiter = {"tab": "\t", "space": " "}.get(delim, delim[:1])
            rows = csv_rows(options.get("header"), content, delimiter)
            self._table([[self._inline(cell) for cell in row] for row in rows], title)
        elif kind in ("list-table", "flat-table"):
            cells = list_table_rows(content)
            self._table([[self._cell(cell) for cell in row] for row in cells], title)
        else:  # "table": a title over a grid or simple table
            if title:
                self._emit(f"**{title}**")
            self._block(content, styles=[], base=self.level)

    def _literal_include(self, argument: str, options: dict[str, str]) -> None:
        lines = self._read_relative(argument, "literalinclude")
        if lines is None:
            return
        text = "\n".join(lines)
        if options.get("start-after") and options["start-after"] in text:
            text = text.split(options["start-after"], 1)[1]
        if options.get("end-before") and options["end-before"] in text:
            text = text.split(options["end-before"], 1)[0]
        language = options.get("language", "")
        self._emit(*_fence(language, _dedent(text.split("\n"))), "")

    def _read_relative(self, target: str, what: str) -> list[str] | None:
        if self.file is None or self.path is None:
            return None
        try:
            return self.file.tree.read(resolve(target, self.path, self.file)).split("\n")
        except ParseError as exc:
            self.file.warn(f"{what} '{target}' in {self.file.relative(self.path)}: {exc}")
            return None

    def _markdown(self, rest: list[str]) -> None:
        """An included Markdown file: cleaned like any Markdown, headings below this one."""
        try:
            _, body = split_front_matter("\n".join(_dedent(rest)))
        except ParseError:
            body = "\n".join(_dedent(rest))
        lines = clean_markdown(body).split("\n")
        fence = False
        heading = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
        levels = [len(m.group(1)) for line in lines if (m := heading.match(line))]
        shift = max(self.level + 1, 2) - min(levels) if levels else 0
        for line in lines:
            if line.lstrip().startswith(("```", "~~~")):
                fence = not fence
            match = None if fence else heading.match(line)
            if match:
                self._heading(len(match.group(1)) + shift, match.group(2))
            else:
                self._emit(line)
        self._emit("")
