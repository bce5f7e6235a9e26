"""Does a question ask for a figure, and does a quoted passage state one?

The extractive answerer (extractive.py) decides in three steps:

1. Policy (guardrails.py): requests about the assistant itself, legal advice and other
   customers' data are declined before retrieval.
2. Relevance: the reader (reader.py), a small learned model, judges from what retrieval found
   whether the passages answer the question, miss it (a gap in the help center) or whether
   the question is about somewhere else.
3. Detail (``asked_detail`` / ``states_detail``, here): a question that asks for a figure (a
   price, a duration, a count or limit) is answered outright only when a quoted passage
   states one. Otherwise the answer says that the figure is not in the help center (as far as
   the passages read go), quotes what it does say, and offers a person: a near-miss, counted
   as not answered.
"""

from __future__ import annotations

import re

__all__ = ["asked_detail", "states_detail"]


_I = re.IGNORECASE
# Questions that ask for a figure. Only interrogative shapes: "we went past our pageview
# limit, what happens?" mentions a limit but asks what happens.
_ASKS_PRICE = re.compile(
    r"\bhow much\b[^?.!]{0,40}\b(cost|costs|charge|charged|pay|price|per (month|year|user|seat))"
    r"|\b(what|what's|whats)\s+(is\s+|are\s+)?(the\s+)?(exact\s+)?(price|prices|pricing|cost|fee|fees)\b"
    r"|\bhow much (is|are|does|do)\b[^?.!]{0,30}\b(plan|plans|seat|seats|license|subscription)\b"
    r"|\bcu[aá]nto\s+(cuesta|cuestan|vale|valen|cobran|sale|se paga)\b"
    r"|\b(qu[eé]|cu[aá]l es el)\s+precio\b|\bprecio (exacto|del plan|de)\b",
    _I,
)
_ASKS_DURATION = re.compile(
    r"\bhow long\b"
    r"|\bhow many\s+(seconds|minutes|hours|days|weeks|months|years)\b"
    r"|\bcu[aá]nto tiempo\b"
    r"|\bcu[aá]nt[oa]s\s+(segundos|minutos|horas|d[ií]as|semanas|meses|a[nñ]os)\b",
    _I,
)
_ASKS_QUANTITY = re.compile(
    r"\bhow (many|much|big|large)\b"
    r"|\b(what|what's|whats)\s+(is\s+)?(the\s+)?(max|maximum|minimum|limit|biggest|largest|"
    r"smallest|most)\b"
    r"|\bis there (a|any)\s+(max|maximum|minimum|limit|cap|quota)\b"
    r"|\bcu[aá]nt[oa]s?\b|\bcomo m[aá]ximo\b|\b(cu[aá]l es el|hay (un|alg[uú]n))\s+"
    r"(m[aá]ximo|m[ií]nimo|l[ií]mite|tope)\b",
    _I,
)
# What counts as stating a figure of each kind.
# "one"/"una" are left out: in running text they are mostly not a count.
_NUMBER_WORDS = (
    r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|fifty|"
    r"hundred|thousand|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|veinte|treinta|cien|mil"
)
_STATES_PRICE = re.compile(
    r"[$€£]\s?\d|\d[\d.,]*\s?(usd|eur|gbp|dollars?|euros?|€|\$)"
    r"|\b(is|are|es|son)\s+(free|gratis)\b|\bfree of charge\b|\bat no (extra )?cost\b"
    r"|\bsin (costo|coste|cargo)\b",
    _I,
)
_STATES_DURATION = re.compile(
    rf"\b(\d+|{_NUMBER_WORDS}|one|a|an|un|una)[\s-]+(seconds?|minutes?|hours?|days?|weeks?|"
    r"months?|years?|segundos?|minutos?|horas?|d[ií]as?|semanas?|mes|meses|a[nñ]os?)\b"
    r"|\b(forever|indefinitely|para siempre|indefinidamente)\b",
    _I,
)
# A number standing alone ("20 tags", "2,000", "25%"), not inside a name ("2FA", "GA4"); a
# number word followed by a hyphen is a compound ("two-factor"), not a count.
_STATES_QUANTITY = re.compile(
    rf"(?<![\w.])\d[\d.,]*(?![^\W\d_])|\b({_NUMBER_WORDS})\b(?!-)|\bunlimited\b|\bno limit\b"
    r"|\bilimitad[oa]s?\b|\bsin l[ií]mite\b",
    _I,
)
_LIST_MARKER = re.compile(r"^\s*\d+[.)]\s+", re.MULTILINE)  # "1. Open..." numbers a step
_STATES = {"price": _STATES_PRICE, "duration": _STATES_DURATION, "quantity": _STATES_QUANTITY}


# "can I see how much traffic comes from ChatGPT?" asks whether a report exists, not a figure.
_CAPABILITY = re.compile(
    r"\b(see|show|shows|view|track|measure|count|report|ver|mostrar|medir|contar)\s+"
    r"((me|us)\s+)?$",
    _I,
)


def asked_detail(question: str) -> str | None:
    """The kind of figure a question asks for ("price", "duration", "quantity"), or None."""
    for kind, pattern in (
        ("price", _ASKS_PRICE),
        ("duration", _ASKS_DURATION),
        ("quantity", _ASKS_QUANTITY),
    ):
        for match in pattern.finditer(question):
            if not _CAPABILITY.search(question[max(0, match.start() - 30) : match.start()]):
                return kind
    return None


def states_detail(text: str, kind: str) -> bool:
    """True when ``text`` states a figure of that kind (a price, a duration, a number)."""
    return bool(_STATES[kind].search(_LIST_MARKER.sub("", text)))
