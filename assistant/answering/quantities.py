"""Numbers, units and durations in help-center text, normalised so two wordings compare.

"30 days", "thirty days", "treinta días" and "1 month"… are different claims only where they
should be: a quantity is its number plus, when a unit follows, the unit's dimension and the
value in that dimension's base unit (seconds, months, bytes, percent). "two weeks" equals
"14 days"; "7 days" differs from "7 hours"; "1,000", "1.000" and "1000" are one number; "8:00"
is a time of day. A bare number ("up to 30") matches the same number with any unit, so a
paraphrase may drop a unit the source attaches to a list ("30, 90 or 365 days").

Not numbers: digits glued to letters ("2FA", "GA4", "5xx", "IPv6"), and "one"/"a"/"un" unless a
unit follows ("one week"): they are mostly words ("one of your codes", "no one").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from assistant.language import fold

__all__ = ["Quantity", "quantities"]


@dataclass(frozen=True)
class Quantity:
    number: float  # as written ("14" in "14 days")
    dimension: str | None  # "time", "calendar", "size", "percent", "clock", a currency, or None
    base: float  # the value in the dimension's base unit (the number itself when bare)

    def matches(self, other: Quantity) -> bool:
        """The same amount: equal numbers when either is bare, else equal dimension and value."""
        if self.dimension is None or other.dimension is None:
            return _close(self.number, other.number)
        return self.dimension == other.dimension and _close(self.base, other.base)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


_MINUTE, _HOUR, _DAY = 60.0, 3600.0, 86400.0
_UNIT_NAMES: tuple[tuple[tuple[str, ...], str, float], ...] = (
    (("second", "seconds", "sec", "secs", "s", "segundo", "segundos", "seg"), "time", 1.0),
    (("minute", "minutes", "min", "mins", "m", "minuto", "minutos"), "time", _MINUTE),
    (("hour", "hours", "hr", "hrs", "h", "hora", "horas"), "time", _HOUR),
    (("day", "days", "d", "dia", "dias", "business day", "business days", "working day",
      "working days", "dia habil", "dias habiles"), "time", _DAY),
    (("week", "weeks", "semana", "semanas"), "time", 7 * _DAY),
    (("month", "months", "mes", "meses"), "calendar", 1.0),
    (("year", "years", "ano", "anos"), "calendar", 12.0),
    (("byte", "bytes"), "size", 1.0),
    (("kb", "kilobyte", "kilobytes"), "size", 1e3),
    (("mb", "megabyte", "megabytes"), "size", 1e6),
    (("gb", "gigabyte", "gigabytes"), "size", 1e9),
    (("tb", "terabyte", "terabytes"), "size", 1e12),
    (("%", "percent", "per cent", "por ciento", "porciento"), "percent", 1.0),
    (("usd", "dollar", "dollars", "dolar", "dolares"), "usd", 1.0),
    (("eur", "euro", "euros"), "eur", 1.0),
)
# unit (folded, lowercase) → (dimension, size in the dimension's base unit)
_UNITS = {name: (dimension, size) for names, dimension, size in _UNIT_NAMES for name in names}
# Units written straight after the digits ("90m", "4h", "5GB"); one-letter units only there.
_GLUED = {"s", "m", "h", "d", "min", "hr", "hrs", "kb", "mb", "gb", "tb", "%"}
_CURRENCY_SIGNS = {"$": "usd", "€": "eur"}

_EN_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "thousand": 1000,
}
_ES_WORDS = {
    "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9,
    "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15,
    "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20,
    "veintiuno": 21, "veintidos": 22, "veintitres": 23, "veinticuatro": 24, "veinticinco": 25,
    "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80,
    "noventa": 90, "cien": 100, "ciento": 100, "mil": 1000,
}
_WORDS = {"en": _EN_WORDS, "es": _ES_WORDS}
# Words for one count only before a unit ("one week"); elsewhere they are words ("no one").
# "a"/"un"/"una" never count: "100 requests a minute" means per minute.
_ONE = {"one", "uno"}
# Number words that are part of a name: "two-step verification", "verificación en dos pasos".
_NAMED = {("two", "step"), ("two", "steps"), ("two", "factor"), ("dos", "pasos"),
          ("dos", "factores")}

_DIGITS = re.compile(
    r"(?<![\w.,:])(?P<sign>[$€])?(?P<num>\d+(?:[.,:]\d+)*)(?:st|nd|rd|th|º|ª)?"
    r"(?P<glued>%|[a-zA-Z]{1,3})?(?!\w)"
)
_TOKEN = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*|%", re.UNICODE)
_AFTER = re.compile(r"^[\s-]*(?:de\s+)?([^\W\d_]+(?:\s+[^\W\d_]+)?|%)", re.UNICODE)
# "100 requests per minute", "100 peticiones por minuto": a rate, per the unit's base.
_RATE = re.compile(
    r"^\s+(?:[^\W\d_]+\s+){0,2}?(?:per|a|an|each|every|por|cada|al|a\s+la)\s+([^\W\d_]+)",
    re.UNICODE,
)


def quantities(text: str, language: str = "en") -> list[Quantity]:
    """The quantities stated in ``text``: digits in any language, number words in English and
    in ``language``."""
    found = [q for q in map(_from_digits, _DIGITS.finditer(text)) if q is not None]
    words = _EN_WORDS if language == "en" else {**_EN_WORDS, **_WORDS.get(language, {})}
    tokens = [(m, fold(m.group(0).lower())) for m in _TOKEN.finditer(text)]
    for i, (match, word) in enumerate(tokens):
        following = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        value = _word_value(word, words)
        if value is None and word in _ONE:
            value = 1.0
        parts = word.split("-")
        if value is None or (word, following) in _NAMED or (parts[0], parts[-1]) in _NAMED:
            continue
        previous = tokens[i - 1][1] if i else ""
        if value == 1000 and previous in words:
            continue  # "dos mil", "two thousand": counted with the word before
        end = match.end()
        if following in ("mil", "thousand"):
            value *= 1000
            end = tokens[i + 1][0].end()
        unit = _unit_after(text[end:])
        if word in _ONE and unit is None:
            continue
        found.append(_quantity(value, unit))
    return found


def _from_digits(match: re.Match[str]) -> Quantity | None:
    glued = (match.group("glued") or "").lower()
    if glued and glued not in _GLUED:
        return None  # "2FA", "3DS", "5xx": a name, not an amount
    digits = match.group("num")
    if ":" in digits:
        hours, minutes = (int(p) for p in digits.split(":")[:2])
        return Quantity(float(hours), "clock", float(hours * 60 + minutes))
    number = _number(digits)
    sign = match.group("sign")
    if sign:
        return Quantity(number, _CURRENCY_SIGNS[sign], number)
    unit = _UNITS.get(glued) if glued else _unit_after(match.string[match.end() :])
    return _quantity(number, unit)


def _word_value(word: str, words: dict[str, int]) -> float | None:
    parts = word.split("-")
    if len(parts) == 2 and parts[0] in words and parts[1] in words:  # "twenty-five"
        return float(words[parts[0]] + words[parts[1]])
    if word in words:
        return float(words[word])
    if len(parts) == 2 and parts[0] in words:  # "six-digit", "14-day" spelled out
        return float(words[parts[0]])
    return None


def _quantity(number: float, unit: tuple[str, float] | None) -> Quantity:
    if unit is None:
        return Quantity(number, None, number)
    dimension, size = unit
    return Quantity(number, dimension, number * size)


def _unit_after(rest: str) -> tuple[str, float] | None:
    """The unit that follows a number: " days", "-day", " días hábiles", " %", " de días", or
    a rate (" requests per minute")."""
    match = _AFTER.match(rest)
    if match:
        words = fold(match.group(1).lower()).split()
        if len(words) == 2 and " ".join(words) in _UNITS:
            return _UNITS[" ".join(words)]
        # "5 m" is ambiguous; one-letter units count only glued to the digits
        if (len(words[0]) > 1 or words[0] == "%") and words[0] in _UNITS:
            return _UNITS[words[0]]
    rate = _RATE.match(rest)
    if rate:
        per = _UNITS.get(fold(rate.group(1).lower()))
        if per is not None and per[0] in ("time", "calendar"):
            return f"rate/{per[0]}", 1.0 / per[1]
    return None


def _number(text: str) -> float:
    """"1,000" / "1.000" → 1000; "1.5" / "1,5" → 1.5; "2.13.0" → its digits."""
    groups = re.split(r"[.,]", text)
    if len(groups) > 1 and all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3:
        return float("".join(groups))  # thousands separators, English or Spanish
    if len(groups) == 2:
        return float(f"{groups[0]}.{groups[1]}")
    return float("".join(groups))
