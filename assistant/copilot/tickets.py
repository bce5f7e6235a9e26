"""A support ticket as the copilot reads it, and the customer's ask inside it.

Retrieval should see what the customer asks, not how they say hello: the ask is the
customer's last message (else the subject and body) with greetings, sign-offs and sentences
aimed at the assistant (prompt injection) dropped, and background dropped when a sentence
that asks or reports a problem remains.

    >>> customer_ask(Ticket(subject="Export", body="Hi team! We moved from Trello last "
    ...     "month. How do I export my tasks to CSV? Thanks, Ana"))
    'How do I export my tasks to CSV?'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from assistant.guardrails import targets_the_assistant

__all__ = ["Ticket", "TicketMessage", "customer_ask"]

Sender = Literal["customer", "agent"]


@dataclass(frozen=True)
class TicketMessage:
    sender: Sender
    text: str
    ts: str | None = None


@dataclass(frozen=True)
class Ticket:
    subject: str = ""
    body: str = ""
    messages: list[TicketMessage] = field(default_factory=list)

    def last_customer_text(self) -> str:
        """The customer's last message; without one, the subject and body."""
        for message in reversed(self.messages):
            if message.sender == "customer" and message.text.strip():
                return message.text
        return "\n".join(part for part in (self.subject, self.body) if part.strip())


_GREETINGS = (r"(hi|hello|hey|dear|good (morning|afternoon|evening)|greetings|hola|"
              r"buen[oa]s( d[ií]as| tardes| noches)?|estimad[oa]s?|qu[eé] tal)\b")
# A greeting with up to two words of name after it and its punctuation ("Hi team!",
# "Hola Ana,"); else the greeting word alone ("Hello how do I…" keeps "how do I…").
_GREETING = re.compile(rf"^{_GREETINGS}(\s+[^\s,.!?:;]+){{0,2}}\s*[,.!:;]\s*", re.IGNORECASE)
_GREETING_WORD = re.compile(rf"^{_GREETINGS}\s*", re.IGNORECASE)
_SIGN_OFF = re.compile(
    r"^(thanks?( you)?( so much| in advance| a lot)?|many thanks|cheers|best( regards)?|"
    r"kind regards|regards|sincerely|gracias( de antemano| por adelantado)?|muchas gracias|"
    r"saludos|un saludo|atentamente|un abrazo)\b",
    re.IGNORECASE,
)
# A sentence that asks something or reports a problem, in English or Spanish.
_ASKS = re.compile(
    r"[?¿]|\b(how|what|where|when|why|which|can|could|is there|do you|does|need|want|"
    r"trying|unable|can't|cannot|won't|doesn't|isn't|not working|error|fails?|failed|"
    r"stuck|help|c[oó]mo|qu[eé]|d[oó]nde|cu[aá]ndo|por qu[eé]|puedo|necesito|quiero|"
    r"no puedo|no funciona|falla|ayuda)\b",
    re.IGNORECASE,
)
# A longer line that opens with "thanks" goes on to say something ("Thanks, but how…").
_SIGN_OFF_CHARS = 40
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def _sentences(text: str) -> list[str]:
    found: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if _SIGN_OFF.match(line) and len(line) <= _SIGN_OFF_CHARS:
            break  # the sign-off and what follows it (a name, a signature) are no ask
        greeting = _GREETING.match(line) or _GREETING_WORD.match(line)
        line = line[greeting.end():].strip() if greeting else line
        found += [s.strip() for s in _SENTENCE.findall(line) if s.strip(" .!?")]
    return found


def customer_ask(ticket: Ticket) -> str:
    """What the customer asks in their last message, trimmed for retrieval (may be empty)."""
    sentences = [s for s in _sentences(ticket.last_customer_text())
                 if not targets_the_assistant(s)]
    asking = [s for s in sentences if _ASKS.search(s)]
    if asking:
        return " ".join(asking)
    if sentences:
        return " ".join(sentences)
    # Nothing but a greeting or sign-off in the message: the subject may still say it.
    return ticket.subject.strip() if not targets_the_assistant(ticket.subject) else ""
