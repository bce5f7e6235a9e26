"""What the answerers say to customers, per language: one table, English the fallback.

The answers themselves quote the help center; only these few sentences are Learnloop's own
(a decline with the offer of a person, "I couldn't find that price", the "Sources" heading).
A new language adds one ``Messages`` entry here beside its entry in ``language.py``'s
registry; until then its customers read English.

    >>> messages("es").sources
    'Fuentes'
    >>> messages("de").sources  # no German entry: English
    'Sources'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assistant.language import DEFAULT_LANGUAGE

__all__ = ["MESSAGES", "Messages", "by_language", "messages"]


@dataclass(frozen=True)
class Messages:
    """One language's sentences.

    - ``decline``: the extractive answerer found nothing good enough.
    - ``model_declined``: the LLM answerer's model said the sources do not answer.
    - ``sources``: the heading over the list of cited articles.
    - ``not_stated``: a question asked for a figure no quoted passage states; keys ``price``,
      ``duration``, ``quantity`` (what could not be found), ``intro`` (before the nearest
      passage) and ``offer`` (the handoff).
    """

    decline: str
    model_declined: str
    sources: str
    not_stated: Mapping[str, str]


MESSAGES: dict[str, Messages] = {
    "en": Messages(
        decline="I couldn't find this in the help center, so I won't guess. "
        "I can hand you over to a person on the support team.",
        model_declined="The help center doesn't answer this, so I won't guess. "
        "I can hand you over to a person on the support team.",
        sources="Sources",
        # "Couldn't find" rather than "doesn't state": the answerer reads each article's best
        # passage, so a figure stated elsewhere in the article can be missed.
        not_stated={
            "price": "I couldn't find that price in the help center.",
            "duration": "I couldn't find how long that is in the help center.",
            "quantity": "I couldn't find that number or limit in the help center.",
            "intro": "This is the closest it gets:",
            "offer": "A person on the support team can give you the exact figure; "
            "I can hand you over.",
        },
    ),
    "es": Messages(
        decline="No encontré esto en el centro de ayuda y prefiero no adivinar. "
        "Puedo pasarte con una persona del equipo de soporte.",
        model_declined="El centro de ayuda no responde a esto y prefiero no adivinar. "
        "Puedo pasarte con una persona del equipo de soporte.",
        sources="Fuentes",
        not_stated={
            "price": "No encontré ese precio en el centro de ayuda.",
            "duration": "No encontré ese plazo en el centro de ayuda.",
            "quantity": "No encontré esa cifra ni ese límite en el centro de ayuda.",
            "intro": "Esto es lo más cercano que dice:",
            "offer": "Una persona del equipo de soporte puede darte el dato exacto; "
            "puedo pasarte con ella.",
        },
    ),
}


def messages(language: str) -> Messages:
    """The sentences for ``language`` (a code such as ``es``); English when it has none."""
    return MESSAGES.get(language) or MESSAGES[DEFAULT_LANGUAGE]


def by_language(name: str) -> dict[str, Any]:
    """One sentence (or group) in every language: ``{"en": ..., "es": ...}``."""
    return {code: getattr(entry, name) for code, entry in MESSAGES.items()}
