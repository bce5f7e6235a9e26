"""Inline reStructuredText markup (Sphinx roles included) → readable Markdown-ish text.

- ``:ref:`text <target>``` and ``:doc:`` → ``text``; a bare target → the target made readable
  (``/guide/send-messages`` → "Send messages", ``page:configure magic links`` → "Configure
  magic links"); ``:term:``, ``:download:`` and unknown roles → their text.
- ``:guilabel:`&Save``` → "Save"; ``:menuselection:`A --> B``` → "A > B"; ``:kbd:``,
  ``:command:``, ``:file:`` and the like → their text; ``:pep:`8``` → "PEP 8".
- ```text <url>`_`` and ```text`_`` → ``text``; ``name_`` → ``name``; footnote references
  dropped.
- ``|name|`` → the ``replace::`` text (itself inline markup), nothing for an image, else the
  name made readable.
- ````code```` → ```code```; ``*emphasis*`` and ``**strong**`` are already Markdown and stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.titles import readable_name

__all__ = ["Substitutions", "inline_text", "readable_target", "role_text"]

_LITERAL = re.compile(r"``(.+?)``(?!`)", re.DOTALL)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_INTERPRETED = re.compile(
    r"(?<![\w`])(?::(?P<role>[A-Za-z][\w.+-]*(?::[A-Za-z][\w.+-]*)?):)?"
    r"`(?P<body>[^`]+)`"
    r"(?::(?P<suffix>[A-Za-z][\w.+-]*(?::[A-Za-z][\w.+-]*)?):)?(?P<ref>__?)?(?![\w`])"
)
_TARGETED = re.compile(r"^(.*?)\s*<([^<>]+)>\s*$", re.DOTALL)
_SUBSTITUTION = re.compile(r"(?<![\w|])\|(?! )([^|\n]*?[^ |\n])\|(?:__?)?(?![\w|])")
_FOOTNOTE_REF = re.compile(r"\s?\[(?:\d+|#[\w-]*|\*)\]_")
_CITATION_REF = re.compile(r"\[([A-Za-z][\w.-]*)\]_")
_NAMED_REF = re.compile(r"(?<![\w`/.-])([A-Za-z][\w.-]*[A-Za-z0-9])__?(?![\w])")
_SPACES = re.compile(r"(?<=\S) {2,}")
_DROPPED = re.compile(r"\s*\x03(?=[.,;:!?)]|\s*$)")
# A role whose backquotes were forgotten (":doc:v11 notes </page>"): Sphinx prints it as is,
# but the reader wants the text.
_BROKEN_ROLE = re.compile(r":(?:doc|ref):`?([^`<>\s][^`<>]*?)\s*<[^<>]+>`?")
_ORPHAN_ROLE = re.compile(r":(?:doc|ref|term|any|numref):\s+")  # ":ref: `text <x>`"
# A link whose opening backquote is missing ("see 'the docs <https://…>`_"): drop the URL.
_STRAY_LINK = re.compile(r"\s*<(?:https?|mailto|ftp):[^<>\s]*>`__?")
# Unknown substitutions with these words in their names stand for pictures: drop them.
_PICTURE_WORDS = {"icon", "img", "image", "logo", "badge", "screenshot", "gif", "png", "svg"}
_REFERENCE_ROLES = {"ref", "doc", "any", "numref", "term", "download", "keyword", "token"}
_CODE_ROLES = {
    "code", "literal", "samp", "file", "command", "program", "option", "envvar", "makevar",
    "mailheader", "regexp", "math", "kbd", "sup", "sub", "abbr", "dfn", "emphasis", "strong",
    "title-reference", "t", "superscript", "subscript",
}  # fmt: skip


@dataclass
class Substitutions:
    """``|name|`` definitions of a file, its includes and its Sphinx ``conf.py``."""

    replace: dict[str, str] = field(default_factory=dict)
    images: set[str] = field(default_factory=set)

    def text(self, name: str, seen: frozenset[str] = frozenset()) -> str:
        key = " ".join(name.split())
        if key in self.images:
            return ""
        if key in self.replace and key not in seen:
            return inline_text(self.replace[key], self, seen | {key})
        words = re.split(r"[-_\s]+", key)
        if {w.lower() for w in words} & _PICTURE_WORDS:
            return ""
        return " ".join(words)  # mid-sentence: no capital


def readable_target(role: str, target: str) -> str:
    """What Sphinx would show for a bare reference: a readable form of its target."""
    target = target.strip().lstrip("~!")
    if role == "doc":
        name = target.rstrip("/").rsplit("/", 1)[-1]
        return readable_name(name.rsplit(".", 1)[0] if name.endswith((".rst", ".md")) else name)
    if role in ("ref", "numref", "any") and ":" in target:
        # autosectionlabel: "path/to/page:section title"
        section = target.rsplit(":", 1)[1].strip()
        return section[:1].upper() + section[1:] if section else target
    if role in ("ref", "numref", "any", "download"):
        return readable_name(target.rsplit("/", 1)[-1])
    return target


def inline_text(text: str, subs: Substitutions, seen: frozenset[str] = frozenset()) -> str:
    """Readable text of one paragraph's (or title's, or cell's) inline markup."""
    verbatim: list[str] = []  # code and escaped characters: restored last, untouched
    kept: list[str] = []

    def keep_verbatim(value: str) -> str:
        verbatim.append(value)
        return f"\x02{len(verbatim) - 1}\x02"

    def keep(value: str) -> str:
        kept.append(value)
        return f"\x00{len(kept) - 1}\x00"

    text = _LITERAL.sub(lambda m: keep_verbatim(f"`{m.group(1)}`"), text)
    text = text.replace("\\ ", "").replace("\\\n", "")  # escaped whitespace joins words
    text = _ESCAPE.sub(lambda m: keep_verbatim(m.group(1)), text)
    text = _INTERPRETED.sub(lambda m: keep(_interpreted(m)), text)
    text = _BROKEN_ROLE.sub(r"\1", text)
    text = _STRAY_LINK.sub("", _ORPHAN_ROLE.sub("", text))
    text = _SUBSTITUTION.sub(lambda m: keep(subs.text(m.group(1), seen) or "\x03"), text)
    text = _FOOTNOTE_REF.sub("", text)
    text = _CITATION_REF.sub(r"[\1]", text)
    text = _NAMED_REF.sub(r"\1", text)
    text = re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text)
    # A dropped picture takes the space before it along: "select **Send** |icon|." reads
    # "select **Send**."
    text = _DROPPED.sub("", text).replace("\x03", "")
    text = _SPACES.sub(" ", text).strip()
    return re.sub(r"\x02(\d+)\x02", lambda m: verbatim[int(m.group(1))], text)


def _interpreted(match: re.Match[str]) -> str:
    role = (match.group("role") or match.group("suffix") or "").lower()
    body = " ".join(match.group("body").split())
    if match.group("ref"):  # a hyperlink reference: `text <url>`_ or `name`_
        targeted = _TARGETED.match(body)
        if targeted:
            return targeted.group(1) or targeted.group(2)
        return body
    return role_text(role, body)


def role_text(role: str, body: str) -> str:
    """What a reader sees of ``:role:`body```."""
    short_role = role.lower().rsplit(":", 1)[-1]
    if short_role == "guilabel":
        return re.sub(r"&(.)", r"\1", body.replace("&&", "\x01")).replace("\x01", "&")
    if short_role == "menuselection":
        return re.sub(r"\s*-->\s*", " > ", re.sub(r"&(.)", r"\1", body))
    if short_role == "pep":
        return f"PEP {body}"
    if short_role == "rfc":
        return f"RFC {body}"
    targeted = _TARGETED.match(body)
    if targeted and targeted.group(1):
        return targeted.group(1)
    if short_role in _REFERENCE_ROLES:
        return readable_target(short_role, targeted.group(2) if targeted else body)
    if short_role in _CODE_ROLES or not short_role:
        return body
    # Domain roles (:py:func:`~pkg.mod.name`) and anything unknown: the text, "~" shortened.
    return body[1:].rsplit(".", 1)[-1] if body.startswith("~") else body
