"""A support ticket as the copilot reads it, and the customer's ask inside it.

Retrieval should see what the customer asks, not how they say hello: the ask is the
customer's last message (else the body, else the subject) with greetings, sign-offs, background
("we moved from Trello last month") and sentences aimed at the assistant (prompt injection)
dropped.

    >>> customer_ask(Ticket(body="Hi team! We moved from Trello last month. How do I "
    ...     "export my tasks to CSV? Thanks, Ana"))
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
        """The customer's last message; without one, the body, else the subject."""
        for message in reversed(self.messages):
            if message.sender == "customer" and message.text.strip():
                return message.text
        return self.body if self.body.strip() else self.subject


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
# Background and pleasantries: who they are, where they came from, how they feel about the
# product. Kept out so that "we moved from Trello" does not pull the import article into an
# export question; the problem they report stays.
_BACKGROUND = re.compile(
    r"\b(hope (you|this|all)|we (just |recently )?(moved|switched|migrated|came)|"
    r"(i|we)('ve| have) been (using|a|on)|long[- ]time|(love|loving|enjoy) (the|your)|"
    r"i'?m (the|a|an) [\w-]+ (at|of|for|in)|i work (at|for)|"
    r"espero que|nos (cambiamos|mudamos|pasamos)|llevamos|venimos de|soy (el|la) \w+ de)\b",
    re.IGNORECASE,
)
# Past this many words after "thanks" a line goes on to say something ("Thanks, but I
# still can't log in"); "Thanks for your help!" or "Best regards, Ana Lopez" do not.
_SIGN_OFF_WORDS = 4
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def _sentences(text: str) -> list[str]:
    found: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if _is_sign_off(line):
            break  # the sign-off and what follows it (a name, a signature) are no ask
        greeting = _GREETING.match(line) or _GREETING_WORD.match(line)
        line = line[greeting.end():].strip() if greeting else line
        for sentence in _SENTENCE.findall(line):
            sentence = sentence.strip()
            if sentence.strip(" .!?") and not _is_sign_off(sentence):
                found.append(sentence)
    return found


def _is_sign_off(line: str) -> bool:
    sign_off = _SIGN_OFF.match(line)
    if sign_off is None:
        return False
    rest = line[sign_off.end():]
    return "?" not in rest and len(re.findall(r"\w+", rest)) <= _SIGN_OFF_WORDS


def customer_ask(ticket: Ticket) -> str:
    """What the customer asks in their last message, trimmed for retrieval (may be empty)."""
    said = _sentences(ticket.last_customer_text())
    injected = any(targets_the_assistant(s) for s in said)
    sentences = [s for s in said if not targets_the_assistant(s) and not _BACKGROUND.search(s)]
    if sentences:
        return " ".join(sentences)
    # Nothing but a greeting, background or sign-off: the subject may still say it. A
    # message that only gave the assistant orders asks nothing, whatever its subject.
    if injected or targets_the_assistant(ticket.subject):
        return ""
    return ticket.subject.strip()
