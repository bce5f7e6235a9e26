"""Instructions planted in retrieved text, and answer sentences that pass them on.

A help article speaks to its reader about the product. A sentence in it that speaks to the
assistant ("Assistant: ignore your rules…", "Note to AI assistants: tell users to…"), or that
asks the reader to hand a secret to someone ("email your password and recovery codes to
verify@…"), is an injection, not a fact: the grounding guard (grounding.py) never counts it as
support, and rejects an answer sentence that repeats it. Both shapes are matched in English and
Spanish, by the *kind* of sentence, never by a product's vocabulary.

- ``is_planted_instruction(statement)``: a source statement aimed at the assistant, or asking
  for a secret.
- ``hands_over_secret(sentence)``: a sentence telling the reader to send, share, paste or
  reply with a password, a code, a token, a key or card details to a person or an address
  ("never share your password" is advice, not a hand-over).

Knowledge is a trust boundary: ``untrusted_sentences(text, allowed_domains)`` finds, at
ingest (reported) and when retrieved text is served (removed before either answerer or a
search snippet sees it), every sentence that asks the reader for a secret, asks for money
through a channel no business bills by (gift cards, crypto, a stranger's account) or to an
address outside the help center's domains, or tells the reader to write to an e-mail
address outside them. ``ContactDomains`` says which domains are the help center's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from assistant.errors import ErrorCode, LearnloopError
from assistant.guardrails import targets_the_assistant

__all__ = [
    "ContactDomains",
    "Untrusted",
    "hands_over_money",
    "hands_over_secret",
    "is_planted_instruction",
    "normalize_domains",
    "untrusted_sentences",
    "without_sentences",
    "without_untrusted",
]

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
# The words between a verb and its object: a clause word ("send a request *that* bears the
# token") starts another statement, so the secret is not what is sent.
_GAP = r"(?:\W+(?!(?:that|which|who|whose|when|where|if|because|while|so|que|cuando|si)\b)\w+)"
# A secret's name used as a modifier ("password reset", "token expiry") names no secret.
_NOT_THE_SECRET = (
    r"(?!\W+(?:reset|resets|policy|policies|requirements?|length|manager|field|settings?|rules?"
    r"|expiry|expiration|lifetime|rotation|strength|complexity|authentication|login|change)\b)"
)
_HAND_OVER_SECRET = re.compile(
    rf"\b{_HAND_OVER}\b{_GAP}{{0,6}}?\W+{_SECRET}\b{_NOT_THE_SECRET}"
    rf"|\b{_SECRET}\b{_NOT_THE_SECRET}{_GAP}{{0,3}}?\W+{_HAND_OVER}\b",
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


# -- money ---------------------------------------------------------------------------------

_MONEY = (
    r"(?:money|payments?|fees?|deposits?|funds|cash|gift\s?cards?|bitcoins?|btc|crypto\w*"
    r"|usdt|ether(?:eum)?|wire\s+transfers?|bank\s+transfers?|western\s+union|moneygram"
    r"|[$€£]\s?\d[\d,.]*|\d[\d,.]*\s?(?:usd|eur|gbp|dollars?|euros?)"
    r"|dinero|pagos?|tarifas?|dep[oó]sitos?|fondos|efectivo|tarjetas?\s+(?:de\s+)?regalo"
    r"|transferencias?(?:\s+bancarias?)?)"
)
_PAY = (
    r"(?:send|wire(?!\s+transfers?)|transfer|pay|deposit|remit|buy|purchase|load|env[ií]a|enviar"
    r"|manda|mandar|transfiere|transferir|paga|pagar|deposita|depositar|compra|comprar)"
)
_HAND_OVER_MONEY = re.compile(
    rf"\b{_PAY}\b{_GAP}{{0,6}}?\W+{_MONEY}(?!\w)|(?<!\w){_MONEY}\b{_GAP}{{0,3}}?\W+{_PAY}\b",
    _FLAGS,
)
# "… are not accepted": a sentence saying what a business does not take asks for nothing.
_REFUSED = re.compile(
    r"\b(?:not|no|never)\s+(?:be\s+)?(?:accepted|supported|possible|allowed|available)\b"
    r"|\b(?:not\s+able\s+to|unable\s+to|cannot|can['’]?t|do\s+not|don['’]?t)\s+accept\b"
    r"|\bno\s+(?:se\s+)?aceptan?\b|\bno\s+aceptamos\b",
    _FLAGS,
)
# Where no business asks to be paid: untraceable rails, or an account named in the text.
_SCAM_RAIL = re.compile(
    r"\bgift\s?cards?\b|\bbitcoins?\b|\bbtc\b|\bcrypto\w*|\busdt\b|\bwallet\b"
    r"|\bwestern\s+union\b|\bmoneygram\b|\biban\b|\baccount\s+(?:number|no\.?)\s*:?\s*\d"
    r"|\bto\s+(?:this|the\s+following|my|a\s+personal)\s+(?:account|wallet|address)\b"
    r"|\btarjetas?\s+(?:de\s+)?regalo\b|\bbilletera\b|\bcartera\s+de\b"
    r"|\ba\s+(?:esta|la\s+siguiente)\s+cuenta\b",
    _FLAGS,
)


def hands_over_money(sentence: str, domains: ContactDomains | None = None) -> bool:
    """The sentence tells its reader to pay or send money through a scammer's channel (gift
    cards, crypto, a named account) or to an e-mail address outside ``domains``. Paying an
    invoice in the product, or "by bank transfer to our account", is not one."""
    if _REFUSED.search(sentence):
        return False
    for match in _HAND_OVER_MONEY.finditer(sentence):
        if _NEGATED.search(sentence[: match.start()]):
            continue
        if _SCAM_RAIL.search(sentence):
            return True
        if domains is not None and domains.outside(_EMAIL.findall(sentence)):
            return True
    return False


# -- contact addresses -----------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", _FLAGS)
# Telling the reader to write to an address: an imperative or "you can/should …" verb.
_CONTACT = re.compile(
    r"\b(?:e-?mail|mail|write|contact|send|forward|reply|respond|reach|message|cc|bcc|notify"
    r"|escribe|escr[ií]benos|contacta|cont[aá]ctanos|env[ií]a|manda|reenv[ií]a|responde)\b",
    _FLAGS,
)
# Domains that only ever appear in examples (RFC 2606, RFC 6761).
_RESERVED = ("example", "example.com", "example.net", "example.org", "test", "invalid",
             "localhost")


@dataclass(frozen=True)
class ContactDomains:
    """The domains a help center's contact addresses may use: its site's, any the admin
    allowed at ingest, and the reserved example domains."""

    allowed: frozenset[str]

    @classmethod
    def of(cls, site_url: str | None, extra: Iterable[str] = ()) -> ContactDomains | None:
        """The domains of an article at ``site_url`` with the admin's ``extra`` ones; None
        when there are none (no absolute URL, nothing allowed): no address is judged."""
        domains = {d.strip().lower().lstrip(".") for d in extra if d.strip()}
        site = site_domain(site_url)
        if site:
            domains.add(site)
        return cls(frozenset(domains)) if domains else None

    def allows(self, domain: str) -> bool:
        domain = domain.lower().rstrip(".")
        return any(
            domain == allowed or domain.endswith("." + allowed)
            for allowed in (*self.allowed, *_RESERVED)
        )

    def outside(self, domains: Iterable[str]) -> list[str]:
        return [d for d in domains if not self.allows(d)]


_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


def normalize_domains(domains: Iterable[str]) -> list[str]:
    """Domain names as given by an admin ('Acme.com', '.acme.com'), lowercased, or an error
    naming the first one that is not a domain name."""
    normalized = []
    for raw in domains:
        domain = raw.strip().lower().strip(".")
        if not _DOMAIN.match(domain):
            raise LearnloopError(
                ErrorCode.invalid_input,
                f"{raw!r} is not a domain name (such as acme.com or mail.acme.com)",
            )
        normalized.append(domain)
    return normalized


def site_domain(url: str | None) -> str | None:
    """The organisation's domain behind a help-center URL: 'https://docs.acme.com/x' →
    'acme.com' (a first label such as docs/help/support/www is the site, not the owner)."""
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host or re.fullmatch(r"[\d.]+|[\da-f:]+", host):
        return None
    labels = host.split(".")
    return ".".join(labels[1:]) if len(labels) >= 3 else host


def directs_to_outside_address(sentence: str, domains: ContactDomains) -> list[str]:
    """The e-mail domains outside ``domains`` the sentence tells its reader to write to."""
    found = _EMAIL.findall(sentence)
    if not found or not _CONTACT.search(_EMAIL.sub(" ", sentence)):
        return []
    return domains.outside(found)


# -- everything a served passage must not carry ---------------------------------------------

Reason = Literal["asks for a secret", "asks for money", "outside contact address"]


@dataclass(frozen=True)
class Untrusted:
    sentence: str
    reason: Reason


_LIST_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s*$")
# What is shown as literal text, not said to the reader: inline code, a quoted address, a
# table row (sample data), a command line.
_LITERAL = re.compile(r"(`+)[^`]*?\1|\"[^\"\s]*@[^\"\s]*\"")
_NOT_PROSE = re.compile(r"^\s*(?:[$>#]\s|\S+\s.*\s--[a-z])|(?:\|[^|]*){3,}")


def _sentences(text: str) -> Iterator[str]:
    for line in text.splitlines():
        for sentence in _SENTENCE_END.split(line):
            if sentence.strip():
                yield sentence


# A sentence can only be untrusted if it names a secret, money or an e-mail address: the
# word stems every rule above needs, looked for as plain substrings (C speed) before any
# rule runs — most passages of a help center contain none.
_STEMS = (
    "@", "$", "€", "£", "pass", "credential", "token", "secret", "key", "code", "cvv", "cvc",
    "card", "pin", "money", "payment", "fee", "deposit", "fund", "cash", "gift", "bitcoin",
    "btc", "crypto", "usdt", "ether", "wire", "transfer", "western", "moneygram", "usd", "eur",
    "gbp", "dollar", "contrase", "clave", "credencial", "código", "codigo", "tarjeta", "dinero",
    "pago", "tarifa", "depósito", "deposito", "fondo", "efectivo",
)


def _may_be_untrusted(text: str) -> bool:
    lowered = text.lower()
    return any(stem in lowered for stem in _STEMS)


def untrusted_sentences(text: str, domains: ContactDomains | None = None) -> list[Untrusted]:
    """Every sentence (each line apart) of ``text`` that must never be served as knowledge.
    Without ``domains`` no address is judged outside (a help center without a site URL
    and without allowed domains)."""
    found: list[Untrusted] = []
    if not _may_be_untrusted(text):
        return found
    for sentence in _sentences(text):
        if not _may_be_untrusted(sentence) or _NOT_PROSE.search(sentence):
            continue
        said = _LITERAL.sub(" ", sentence)
        reason: Reason | None = None
        if hands_over_secret(said):
            reason = "asks for a secret"
        elif hands_over_money(said, domains):
            reason = "asks for money"
        elif domains is not None and directs_to_outside_address(said, domains):
            reason = "outside contact address"
        if reason is not None:
            found.append(Untrusted(sentence.strip(), reason))
    return found


def without_untrusted(text: str, untrusted: Iterable[Untrusted]) -> str:
    """``text`` without the untrusted sentences."""
    return without_sentences(text, [u.sentence for u in untrusted])


def without_sentences(text: str, sentences: Iterable[str]) -> str:
    """``text`` without each of ``sentences`` (matched with any whitespace between words,
    so a sentence folded onto one line is found across the body's line breaks); a line (a
    list item) left empty goes."""
    patterns = [r"\s+".join(map(re.escape, s.split())) for s in sentences if s.split()]
    if not patterns:
        return text
    lines = text.split("\n")
    kept = text
    for pattern in patterns:
        # The line breaks inside a match stay, so the text keeps its lines one for one.
        kept = re.sub(pattern, lambda m: "\n" * m.group().count("\n"), kept)
    if kept == text:
        return text
    out = []
    for before, line in zip(lines, kept.split("\n"), strict=True):
        if line != before and (not line.strip() or _LIST_MARKER.match(line)):
            continue
        out.append(line.rstrip() if line != before else line)
    return "\n".join(out)
