"""Requests a help-center assistant declines whatever its knowledge base holds.

- Requests aimed at the assistant rather than the product: prompt injection and attempts to
  extract its instructions (see the red-team sets in ../shared/redteam for the shapes these
  take). ``targets_the_assistant``.
- Requests for legal advice (is something legal for *us*, lawsuits, court) and for other
  customers' data (a competitor's traffic, "which companies use it"): a help center may
  well mention GDPR or visitors, so these read as on-topic to a similarity score, yet no
  article answers them and a guess does harm. ``out_of_policy``.

Both match the *kind* of request, in English and Spanish, never a product's vocabulary; no
sentence of the sample help center and no answerable question of the shipped eval sets
matches (tests/test_guardrails.py). They are the fast first pass: ``decline_reason(question,
kinds)`` then asks the request-kind model (request_kind.py), which judges the kind from
examples and so also covers what no rule lists (other wordings, reading back stored secrets,
acting on an account). Rules that only matched the phrasings of one question set were
dropped once the model covered their kind (evals/RESULTS.md).
"""

from __future__ import annotations

import re
from typing import Protocol

__all__ = ["ABOUT_THE_ASSISTANT", "REASONS", "KindJudge", "decline_reason", "is_refusal",
           "out_of_policy", "targets_the_assistant"]

ABOUT_THE_ASSISTANT = "the request is about the assistant, not the product"
_OUTSIDE = " is outside what the help center covers"
# Why each declined kind of request (request_kind.py) is declined; the keyword rules below
# give the same reasons for the kinds they cover.
REASONS = {
    "instructions": ABOUT_THE_ASSISTANT,
    "legal_advice": f"legal advice{_OUTSIDE}",
    "others_data": f"another customer's data{_OUTSIDE}",
    "secrets": f"reading back stored secrets (passwords, keys, card numbers){_OUTSIDE}",
    "act_on_account": f"acting on an account (billing, users, settings){_OUTSIDE}",
}

_PATTERNS = [
    # English
    r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}"
    r"\b(instructions?|rules|prompt|guidelines|directions)\b",
    r"\b(system|initial|original|hidden|starting|developer)\s+(prompt|instructions?)\b",
    r"\b(reveal|show|print|output|repeat|display|leak)\b.{0,40}"
    r"\b(prompt|instructions?|configuration)\b",
    r"\b(from now on|starting now),? you (are|will)\b",
    r"\b(developer|maintenance|debug|god|jailbreak)\s+mode\b",
    r"\b(text|words|conversation)\s+(above|you were given)\b|\bthe above text\b",
    r"\bsystem_?prompt\b",
    # Spanish
    r"\b(ignora|olvida|omite|salta)\b.{0,40}\b(instrucciones|reglas|indicaciones|prompt)\b",
    r"\b(prompt|instrucciones)\s+(del sistema|iniciales|originales|ocultas)\b",
    r"\b(muestra|revela|imprime|repite|dime)\b.{0,40}\b(prompt|instrucciones)\b",
    r"\bahora eres\b|\bmodo (desarrollador|mantenimiento|depuraci[oó]n)\b",
]
_MATCHERS = [re.compile(p, re.IGNORECASE | re.DOTALL) for p in _PATTERNS]

# A legal judgement on the asker's own situation. "Our legal team wants a DPA" is a product
# question (the help center may answer it); "is it legal for us to..." is not.
_LEGAL_ADVICE = [
    r"\b(is|are|was|would|will)\s+(it|this|that|these|those|we|i|they)\s+(even\s+|still\s+)?"
    r"(be\s+)?(legal|illegal|lawful|unlawful)\b",
    r"\blegally\b|\blegal advice\b",
    r"\b(sue|sued|suing|lawsuit|litigation)\b|\b(in|to|into)\s+(small[- ]claims\s+)?court\b",
    r"\b(get|be|being|are|were) (fined|penali[sz]ed)\b",
    r"\b(es|son|ser[ií]a|ser[aá]|ser[ií]an)\s+(legal|ilegal|l[ií]cito|il[ií]cito)\b",
    r"\blegalmente\b|\basesor[ií]a (legal|jur[ií]dica)\b",
    r"\b(demandar(nos|los|me)?|demanda judicial|juicio|tribunal(es)?|juzgado)\b",
    r"\bnos (multan|sancionan)\b",
]
# Another customer's or company's data: only the account's owner (or a public dashboard
# they chose to share) may see it, and the assistant sees no account data at all.
_OTHERS_DATA = [
    r"\bcompetitors?'?s?\b|\bcompetition'?s\b",
    # "your customers" in an article is the reader's; in a question it is the vendor's.
    r"\b(other|which of your|your other)\s+(customers|clients)\b",
    r"\bother\s+(companies|organi[sz]ations|businesses)'?\b",
    r"\b(which|what)\s+(companies|businesses|brands|organi[sz]ations)\s+(use|are using)\b",
    r"\bsomeone else'?s\b|\banother\s+(company|customer|person|user)'s\b",
    r"\b(mi|la|nuestra|su)\s+competencia\b|\bcompetidor(es|as?)?\b",
    r"\b(otros|otras|tus|sus|vuestros)\s+(clientes|empresas)\b",
    r"\bempresas\s+que\s+(usan|utilizan)\b|\bde\s+otra\s+(empresa|persona|cuenta)\b",
]
_POLICIES = [
    ("legal advice", [re.compile(p, re.IGNORECASE) for p in _LEGAL_ADVICE]),
    ("another customer's data", [re.compile(p, re.IGNORECASE) for p in _OTHERS_DATA]),
]


def targets_the_assistant(question: str) -> bool:
    """True when the question tries to instruct or inspect the assistant itself."""
    return any(m.search(question) for m in _MATCHERS)


def out_of_policy(question: str) -> str | None:
    """The policy a question falls under ("legal advice", "another customer's data"), or None."""
    for name, matchers in _POLICIES:
        if any(m.search(question) for m in matchers):
            return name
    return None


class KindJudge(Protocol):
    """Judges the kind of a request (request_kind.RequestKinds): one of ``REASONS``' values
    when it is a kind the assistant declines, else None."""

    def refusal(self, question: str) -> str | None: ...


def decline_reason(question: str, kinds: KindJudge | None = None) -> str | None:
    """Why a question is declined before retrieval, or None when it may be answered: the
    keyword rules first (fast, and they explain themselves), then ``kinds``' model if given."""
    if targets_the_assistant(question):
        return ABOUT_THE_ASSISTANT
    policy = out_of_policy(question)
    if policy:
        return f"{policy}{_OUTSIDE}"
    return kinds.refusal(question) if kinds is not None else None


def is_refusal(reason: str | None) -> bool:
    """Whether a handoff reason is one of ``decline_reason``'s."""
    return reason in REASONS.values() or any(
        reason == f"{name}{_OUTSIDE}" for name, _ in _POLICIES
    )
