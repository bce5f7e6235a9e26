"""Requests aimed at the assistant rather than the product: prompt injection and attempts to
extract its instructions. They are declined before retrieval, whatever the knowledge base
holds (see the red-team sets in ../shared/redteam for the shapes these take)."""

from __future__ import annotations

import re

__all__ = ["targets_the_assistant"]

_PATTERNS = [
    # English
    r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}"
    r"\b(instructions?|rules|prompt|guidelines|directions)\b",
    r"\b(system|initial|original|hidden|starting|developer)\s+(prompt|instructions?)\b",
    r"\b(reveal|show|print|output|repeat|display|leak)\b.{0,40}"
    r"\b(prompt|instructions?|configuration)\b",
    r"\b(from now on|starting now),? you (are|will)\b",
    r"\b(developer|maintenance|debug|god|jailbreak)\s+mode\b",
    r"\bwhat (were you|have you been) told\b",
    r"\b(text|words|conversation)\s+(above|you were given)\b|\bthe above text\b",
    r"\b(my|your) instructions\b|\binstructed to\b|\bnot supposed to tell\b",
    r"\bsystem_?prompt\b|\binitiali[sz]ation string\b",
    # Spanish
    r"\b(ignora|olvida|omite|salta)\b.{0,40}\b(instrucciones|reglas|indicaciones|prompt)\b",
    r"\b(prompt|instrucciones)\s+(del sistema|iniciales|originales|ocultas)\b",
    r"\b(muestra|revela|imprime|repite|dime)\b.{0,40}\b(prompt|instrucciones)\b",
    r"\bahora eres\b|\bmodo (desarrollador|mantenimiento|depuraci[oó]n)\b",
]
_MATCHERS = [re.compile(p, re.IGNORECASE | re.DOTALL) for p in _PATTERNS]


def targets_the_assistant(question: str) -> bool:
    """True when the question tries to instruct or inspect the assistant itself."""
    return any(m.search(question) for m in _MATCHERS)
