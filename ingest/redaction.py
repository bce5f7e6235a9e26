"""Personal data out of support tickets, before anything is stored.

Replaced with placeholders: e-mail addresses (``[email]``), phone numbers in international
and local formats (``[phone]``), and names (``[name]``): the ones the export names
(requester, assignee, users), after a greeting ("Hi Maria,", "Hola Juan:"), in a sign-off
("Thanks, Peter", "Best regards,\\nAnna Smith") and in an introduction ("my name is …").

What a ticket teaches stays: product words, versions (2.14.0), prices ($1,299.00), dates,
IP addresses, order and ticket numbers, durations ("14 days") and the order of steps. A
number is a phone only when it reads as one: a leading ``+``/``00``, or groups of digits
split the way phone numbers are (555-123-4567, (555) 123 4567, 612 345 678, 91 123 45 67),
or a plain run of digits right after a word such as "phone", "call" or "teléfono".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["Redactor"]

EMAIL = "[email]"
PHONE = "[phone]"
NAME = "[name]"

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# A run of digit groups with phone separators (space, dot, hyphen, parentheses); whether it
# is a phone is decided by ``_is_phone``.
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w$€£#./:,-])(?:\+|00)?\(?\d{1,4}\)?(?:[ .-]{1,2}\(?\d{1,5}\)?){1,5}"
    r"(?![\w$€£%/:-]|[.,]\d)"
)
_PHONE_WORD = re.compile(
    r"\b(?:phone|tel|telephone|call|mobile|cell|whatsapp|sms|fax|teléfono|telefono|tlf|"
    r"móvil|movil|celular|llamar|llámame|llamame|número|numero)\b[^\n\d]{0,20}(\+?\d{7,15})\b",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"^\d{4}[-.]\d{1,2}[-.]\d{1,2}$")
_DATE = re.compile(r"^\d{1,2}[-.]\d{1,2}[-.]\d{2,4}$")
_UNIT_AFTER = re.compile(
    r"^\s*(?:[€$£%]|(?:eur|usd|euros?|dollars?|users?|usuarios?|rows?|filas?|records?|"
    r"registros?|items?|bytes?|kb|mb|gb|ms|seconds?|segundos?|contacts?|contactos?)\b)",
    re.IGNORECASE,
)

_UPPER = "A-ZÁÉÍÓÚÑÜÀÈÌÒÙÇ"
_LOWER = "a-záéíóúñüàèìòùç"
_NAME_WORD = rf"[{_UPPER}][{_LOWER}'’-]+"
_NAME = rf"{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,2}}"
_GREETINGS = (
    r"hi|hello|hey|dear|good morning|good afternoon|good evening|greetings|"
    r"hola|buenos días|buenos dias|buenas tardes|buenas noches|buenas|estimado|estimada|"
    r"querido|querida|apreciado|apreciada"
)
_SIGN_OFFS = (
    r"thanks|thank you|many thanks|thanks again|cheers|best|best regards|kind regards|"
    r"warm regards|regards|sincerely|all the best|"
    r"gracias|muchas gracias|saludos|un saludo|saludos cordiales|atentamente|cordialmente|"
    r"un abrazo|quedo atento|quedo atenta"
)
# Greetings and sign-offs in any case; the name after them capitalised (re.M only: an
# IGNORECASE flag would let any word pass for a name).
_GREETING = re.compile(
    rf"(?m)^([ \t]*(?i:{_GREETINGS})[ \t]+)({_NAME}(?:[ \t]+(?:and|y|e|&)[ \t]+{_NAME})?)"
    rf"(?=[ \t]*[,:!.\n]|[ \t]*$)"
)
# At the start of a line or after a sentence: "… en español? Saludos, Carmen".
_SIGN_OFF_SAME_LINE = re.compile(
    rf"(?m)((?:^|(?<=[.!?])[ \t])[ \t]*(?i:{_SIGN_OFFS})[ \t]*,?[ \t]+)({_NAME})[ \t]*[.!]?[ \t]*$"
)
_SIGN_OFF_LINE = re.compile(
    rf"(?m)^[ \t]*(?i:{_SIGN_OFFS})[ \t]*[,.!]?[ \t]*\n([ \t]*)({_NAME})[ \t]*$"
)
_INTRODUCTION = re.compile(rf"(\b(?i:my name is|me llamo|mi nombre es|soy)[ \t]+)({_NAME})")
# Capitalised words a greeting is addressed to that are no one's name.
_NOT_NAMES = {
    "team", "support", "there", "all", "everyone", "everybody", "folks", "guys", "sir",
    "madam", "equipo", "soporte", "todos", "todas", "señor", "señora", "amigos", "again",
    "so", "much", "a", "the", "el", "la", "los", "las", "un", "una", "de", "del", "por",
    "for", "from", "to", "in", "on", "and", "y", "o",
}


def _is_phone(match: re.Match[str], text: str) -> bool:
    candidate = match.group(0).rstrip(" .-")
    digits = re.sub(r"\D", "", candidate)
    if not 7 <= len(digits) <= 15:
        return False
    if candidate.startswith(("+", "00")):
        return True
    compact = candidate.replace("(", "").replace(")", "")
    if _ISO_DATE.match(compact) or _DATE.match(compact):
        return False
    groups = re.findall(r"\d+", candidate)
    separators = set(re.sub(r"[\d()]", "", candidate))
    if separators == {"."}:
        # Dots alone are versions and IP addresses, but for the US 555.123.4567.
        return [len(g) for g in groups] == [3, 3, 4]
    if _UNIT_AFTER.match(text[match.end() :]):
        return False  # "1 250 000 users", "612 345 € al mes"
    if len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]) and len(digits) < 9:
        return False  # a number with thousands spaced out: "1 000 000"
    return len(groups) >= 2 and all(len(g) >= 2 for g in groups[1:])


class Redactor:
    """Redacts one ticket's text. ``names``: the people the export names (full names and
    e-mail display names); each name and each of its words of three letters or more is
    replaced wherever it appears capitalised."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        words: set[str] = set()
        for name in names:
            cleaned = " ".join(str(name).split())
            if not cleaned or "@" in cleaned:
                continue
            words.add(cleaned)
            words.update(w for w in re.split(r"[\s,]+", cleaned) if len(w) >= 3)
        # Longest first, so "Anna Smith" goes whole before "Anna" would split it.
        ordered = sorted(words, key=len, reverse=True)
        self._known = (
            re.compile(r"(?<![\w@.])(?:" + "|".join(re.escape(w) for w in ordered) + r")(?![\w@])")
            if ordered
            else None
        )

    def __call__(self, text: str) -> str:
        text = _EMAIL.sub(EMAIL, text)
        text = _PHONE_WORD.sub(lambda m: m.group(0).replace(m.group(1), PHONE), text)
        text = _PHONE_CANDIDATE.sub(lambda m: PHONE if _is_phone(m, text) else m.group(0), text)
        if self._known is not None:
            text = self._known.sub(lambda m: NAME if _capitalised(m.group(0)) else m.group(0), text)
        text = _GREETING.sub(_keep_prefix, text)
        text = _SIGN_OFF_SAME_LINE.sub(_keep_prefix, text)
        text = _SIGN_OFF_LINE.sub(_sign_off_name, text)
        text = _INTRODUCTION.sub(_keep_prefix, text)
        return re.sub(rf"\{NAME}(?:[ \t]+\{NAME})+", NAME, text)


def _capitalised(word: str) -> bool:
    return word[:1].isupper()


def _names_in(found: str) -> bool:
    return any(w.lower() not in _NOT_NAMES for w in found.split())


def _keep_prefix(match: re.Match[str]) -> str:
    prefix, found = match.group(1), match.group(2)
    return prefix + NAME if _names_in(found) else match.group(0)


def _sign_off_name(match: re.Match[str]) -> str:
    whole, found = match.group(0), match.group(2)
    if not _names_in(found):
        return whole
    return whole[: match.start(2) - match.start(0)] + NAME
