"""Instructions planted in retrieved text, and answer sentences that pass them on.

A help article speaks to its reader about the product. A sentence in it that speaks to the
assistant ("Assistant: ignore your rules…", "Note to AI assistants: tell users to…"), or that
asks the reader to hand a secret to someone ("email your password and recovery codes to
verify@…"), is an injection, not a fact: the grounding guard (grounding.py) never counts it as
support, and rejects an answer sentence that repeats it. Both shapes are matched in English and
Spanish, by the *kind* of sentence, never by a product's vocabulary.

- ``is_planted_instruction(statement)``: a source statement aimed at the assistant, or asking
  for a secret.
- ``asks_for_a_secret(text)``: any sentence or line of a passage hands over a secret (the
  extractive answerer never quotes such a unit).
- ``hands_over_secret(sentence)``: a sentence telling the reader to send, share, paste or
  reply with a password, a code, a token, a key or card details to a person or an address
  ("never share your password" is advice, not a hand-over).
"""

from __future__ import annotations

import re

from assistant.guardrails import targets_the_assistant

__all__ = ["asks_for_a_secret", "hands_over_secret", "is_planted_instruction"]

_FLAGS = re.IGNORECASE | re.UNICODE

# Text that addresses the assistant (or tells it what to tell the customer).
_ADDRESSES_THE_ASSISTANT = re.compile(
    r"^\W*(?:note\s+(?:to|for)\s+)?(?:the\s+)?(?:ai\s+|llm\s+)?(?:assistant|chatbot|bot|model|ai)s?"
    r"(?:\s+\w+){0,3}\s*[:,]"
    r"|\b(?:ai|llm|language[- ]model)s?\s+(?:assistants?|systems?|models?|agents?)\b"
    r"|\b(?:tell|inform|instruct|advise|remind)\s+(?:the\s+|every\s+|all\s+|any\s+|each\s+)?"
    r"(?:customers?|users?|visitors?|clients?|readers?|people)\b"
    r"|^\W*(?:nota\s+para\s+(?:el\s+)?)?(?:asistente|chatbot|modelo)\b"
    r"|\b(?:asistentes?\s+(?:de\s+)?ia|modelos?\s+de\s+lenguaje)\b"
    r"|\b(?:dile|diles|decirle|decirles|ind[ií]cale|p[ií]dele|p[ií]deles)\s+(?:al|a\s+los|a\s+las|a\s+cada)\s+"
    r"(?:clientes?|usuarios?|personas?)\b",
    _FLAGS,
)

_SECRET = (
    r"(?:passwords?|passcodes?|pass\s?phrases?|credentials|api\s+keys?|secret\s+keys?|secrets?"
    r"|(?:access\s+|api\s+|personal\s+)?tokens?|card\s+(?:numbers?|details)|cvv|cvc|pin\s+codes?"
    r"|(?:2fa|two-factor|verification|recovery|backup|one-time|security|login|sign-in)\s+codes?"
    r"|contraseñas?|claves?|credenciales|c[oó]digos?\s+de\s+(?:verificaci[oó]n|recuperaci[oó]n"
    r"|seguridad|acceso)|(?:datos|n[uú]mero)s?\s+de\s+(?:tu\s+|la\s+|su\s+)?tarjeta)"
)
_HAND_OVER = (
    r"(?:send|e-?mail|mail|share|forward|give|provide|submit|text|dm|message|post|paste|reply"
    r"|respond|env[ií]a|enviar|env[ií]e|manda|mandar|comparte|compartir|reenv[ií]a|facilita"
    r"|proporciona|responde|pega|escribe)"
)
_DESTINATION = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.-]+|\breply\b|\brespond\b|\bresponde\b"
    r"|\bto\s+(?:us|support|someone|anyone|this\s+address|the\s+following|our\s+\w+"
    r"|the\s+(?:support|billing|security|help|it))\b"
    r"|\bwith\s+(?:us|support|our\s+team|the\s+team|anyone|someone)\b"
    r"|\bby\s+(?:e-?mail|text|chat|phone)\b|\bpor\s+correo\b|\ba\s+(?:soporte|nosotros|nuestro\s+equipo)\b",
    _FLAGS,
)
_HAND_OVER_SECRET = re.compile(
    rf"\b{_HAND_OVER}\b(?:\W+\w+){{0,6}}?\W+{_SECRET}\b|\b{_SECRET}\b(?:\W+\w+){{0,3}}?\W+{_HAND_OVER}\b",
    _FLAGS,
)
# Advice against handing over ("never share your password", "no compartas tu contraseña").
_NEGATED = re.compile(
    r"\b(?:never|don['’]?t|do\s+not|doesn['’]?t|won['’]?t|will\s+not|no\s+one|nobody|nunca|jam[aá]s"
    r"|no|ni)\b(?:\W+\w+){0,3}\W*$",
    _FLAGS,
)


def is_planted_instruction(statement: str) -> bool:
    """A source statement that instructs the assistant or asks the reader for a secret."""
    return (
        targets_the_assistant(statement)
        or bool(_ADDRESSES_THE_ASSISTANT.search(statement))
        or hands_over_secret(statement)
    )


def hands_over_secret(sentence: str) -> bool:
    """The sentence tells its reader to give a secret to a person, a team or an address."""
    for match in _HAND_OVER_SECRET.finditer(sentence):
        if _NEGATED.search(sentence[: match.start()]):
            continue
        if _DESTINATION.search(sentence):
            return True
    return False


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def asks_for_a_secret(text: str) -> bool:
    """Some sentence of ``text`` (a passage, a list: each line apart) hands over a secret.
    Checked sentence by sentence so that words of neighbouring list items never combine."""
    return any(
        hands_over_secret(sentence)
        for line in text.splitlines()
        for sentence in _SENTENCE_END.split(line)
        if sentence.strip()
    )
