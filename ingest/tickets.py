"""Solved support tickets as agent-only knowledge: a Zendesk tickets export or a generic JSONL.

Formats (one file may hold many tickets):

- Zendesk: ``{"tickets": [...], "users": [...]?}`` as the Tickets API returns it (a bare list
  too), or Zendesk's JSON export with one ticket per line. A ticket's conversation is its
  ``comments`` (``author_id``, ``plain_body``/``body``, ``public``); without them its
  ``description`` is the customer's message and there is no resolution. The requester writes
  as the customer, everyone else as an agent (sideloaded ``users`` with ``role: end-user``
  also count as the customer). Internal notes (``public: false``) are left out.
- Generic JSONL, one ticket a line: ``{"id", "subject", "messages": [{"from":
  "customer"|"agent", "text", "ts"}], "resolution"?, "tags"?, "status"?, "url"?}``; without a
  ``resolution`` the agent's messages are the resolution.

Only ``solved`` and ``closed`` tickets are knowledge (a generic ticket without a status is
taken as solved); others are skipped with the reason, and so is a ticket with no customer
message or no resolution. A ticket that is malformed fails alone, named with the reason,
and nothing of it is stored. Everything kept is redacted first (redaction.py): subject,
problem and resolution.

A ticket becomes one document ``ticket/<id>`` titled by its subject, with a "Problem"
section (the customer's messages) and a "Resolution" section; its citation is
"ticket #<id>".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.knowledge.documents import Document, ParseError, Section
from assistant.language import detect_document_language
from ingest.loaders import MAX_FILE_BYTES, LoadResult
from ingest.redaction import Redactor
from ingest.sources import read_text

__all__ = [
    "KNOWLEDGE_STATUSES",
    "TICKET_SUFFIXES",
    "TicketLoad",
    "discover_tickets",
    "load_tickets",
    "ticket_doc_id",
]

KNOWLEDGE_STATUSES = ("solved", "closed")
TICKET_SUFFIXES = (".json", ".jsonl", ".ndjson")
MAX_TEXT_CHARS = 20_000  # a ticket's problem or resolution beyond this is cut
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ZENDESK_API_URL = re.compile(r"^(https://[^/]+)/api/v2/tickets/(\d+)\.json$")


def ticket_doc_id(ticket_id: str) -> str:
    return f"ticket/{ticket_id}"


@dataclass
class TicketLoad(LoadResult):
    """A tickets file: its documents, plus the tickets skipped and failed (each named
    ``ticket #<id>`` or by its place in the file, with the reason) and the ids of failed
    tickets (their earlier version, if any, is kept)."""

    tickets_skipped: list[tuple[str, str]] = field(default_factory=list)
    tickets_failed: list[tuple[str, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


class _TicketError(ValueError):
    """One ticket that cannot be ingested; the message names the reason."""


class _Skip(Exception):  # not an error: a ticket that is not knowledge
    pass


def discover_tickets(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The ticket files under ``root`` (or ``root`` itself) and the files skipped."""
    candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in candidates:
        parts = path.relative_to(root).parts if root.is_dir() else (path.name,)
        if any(part.startswith(".") for part in parts):
            continue
        if path.suffix.lower() in TICKET_SUFFIXES:
            files.append(path)
        else:
            skipped.append((path, "not a tickets format (.json, .jsonl, .ndjson)"))
    return files, skipped


def load_tickets(path: Path, root: Path) -> TicketLoad:
    """Parse one tickets file; a failure of the file or of one ticket is reported, never
    raised."""
    rel = path.name if root.is_file() else path.relative_to(root).as_posix()
    load = TicketLoad(path, rel, [])
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ParseError(
                f"file is {size // 1_048_576} MB; the limit is {MAX_FILE_BYTES // 1_048_576} MB"
            )
        text = read_text(path)
        if not text.strip():
            raise ParseError("empty file")
        items, users = _items(text)
    except ParseError as exc:
        load.error = str(exc)
        return load
    except OSError as exc:
        load.error = f"cannot read: {exc.strerror}"
        return load
    seen: set[str] = set()
    for where, item in items:
        label = _label(item, where)
        try:
            doc = _document(item, users, rel)
        except _Skip as skip:
            load.tickets_skipped.append((label, str(skip)))
            continue
        except _TicketError as exc:
            load.tickets_failed.append((label, str(exc)))
            ticket_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(ticket_id, int | str) and _ID.match(str(ticket_id)):
                load.kept.append(ticket_doc_id(str(ticket_id)))
            continue
        if doc.id in seen:
            load.tickets_failed.append((label, "the file lists this ticket id twice"))
            continue
        seen.add(doc.id)
        load.documents.append(doc)
    if not items:
        load.skipped = "no tickets in it"
    return load


def _items(text: str) -> tuple[list[tuple[str, Any]], dict[str, dict[str, Any]]]:
    """The file's tickets, each with where it is (``tickets[3]``, ``line 4``), and the users
    the export sideloads, by id."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2:
            # One line that is not JSON: say where, like for any JSON file.
            _parse_json(text)
        found: list[tuple[str, Any]] = []
        for number, line in lines:
            found.append((f"line {number}", _parse_json(line, f"line {number}")))
        return found, {}
    if isinstance(data, dict) and "tickets" in data:
        tickets = data["tickets"]
        if not isinstance(tickets, list):
            raise ParseError("'tickets' is not a list")
        return [(f"tickets[{i}]", t) for i, t in enumerate(tickets)], _users(data.get("users"))
    if isinstance(data, list):
        return [(f"[{i}]", t) for i, t in enumerate(data)], {}
    if isinstance(data, dict) and "id" in data:
        return [("line 1", data)], {}  # a JSONL file of one ticket
    raise ParseError(
        "not a tickets export: expected {\"tickets\": [...]} (Zendesk), a list of tickets, "
        "or one ticket per line (JSONL)"
    )


def _parse_json(text: str, where: str = "") -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at = f"{where}: " if where else ""
        raise ParseError(
            f"{at}not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def _users(raw: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, list):
        return {}
    return {str(u["id"]): u for u in raw if isinstance(u, dict) and "id" in u}


def _label(item: Any, where: str) -> str:
    ticket_id = item.get("id") if isinstance(item, dict) else None
    if isinstance(ticket_id, int | str) and not isinstance(ticket_id, bool) and str(ticket_id):
        return f"ticket #{ticket_id}"
    return where


def _document(item: Any, users: dict[str, dict[str, Any]], source: str) -> Document:
    if not isinstance(item, dict):
        raise _TicketError("not a JSON object")
    raw_id = item.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, int | str) or not _ID.match(str(raw_id)):
        raise _TicketError("'id' is missing or not a ticket id (letters, digits, '-', '_', '.')")
    ticket_id = str(raw_id)
    status = item.get("status")
    if status is not None and not isinstance(status, str):
        raise _TicketError("'status' is not a string")
    if status is not None and status.lower() not in KNOWLEDGE_STATUSES:
        raise _Skip(f"status '{status}': only solved and closed tickets are knowledge")
    subject = item.get("subject") or item.get("raw_subject")
    if not isinstance(subject, str) or not subject.strip():
        raise _TicketError("'subject' is missing or empty")
    tags = item.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise _TicketError("'tags' is not a list of strings")
    if "messages" in item:
        customer, agent, names = _generic_conversation(item)
        url = item.get("url") if isinstance(item.get("url"), str) else None
    else:
        customer, agent, names = _zendesk_conversation(item, users)
        url = _agent_url(item.get("url"))
    resolution_field = item.get("resolution")
    if resolution_field is not None and not isinstance(resolution_field, str):
        raise _TicketError("'resolution' is not a string")
    redact = Redactor(names)
    problem = _clip(redact("\n\n".join(customer)))
    resolution = _clip(redact(resolution_field.strip() if resolution_field else "\n\n".join(agent)))
    if not problem:
        raise _Skip("empty: no message from the customer")
    if not resolution:
        raise _Skip("empty: no resolution and no reply from an agent")
    title = " ".join(redact(subject).split())
    return Document(
        id=ticket_doc_id(ticket_id),
        title=title,
        sections=[Section(("Problem",), problem), Section(("Resolution",), resolution)],
        kind="ticket",
        url=url,
        locale=detect_document_language(f"{title}\n{problem}\n{resolution}"),
        tags=[t.strip() for t in tags if t.strip()],
        source=source,
        extra={"ticket_id": ticket_id, "resolution": resolution},
    )


def _generic_conversation(item: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    messages = item["messages"]
    if not isinstance(messages, list):
        raise _TicketError("'messages' is not a list")
    customer: list[str] = []
    agent: list[str] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _TicketError(f"messages[{index}] is not an object")
        sender, text = message.get("from"), message.get("text")
        if sender not in ("customer", "agent"):
            raise _TicketError(f"messages[{index}].from must be 'customer' or 'agent'")
        if not isinstance(text, str):
            raise _TicketError(f"messages[{index}].text is missing or not a string")
        if text.strip():
            (customer if sender == "customer" else agent).append(text.strip())
    names = [
        str(item[key])
        for key in ("requester_name", "customer_name", "agent_name", "assignee_name")
        if isinstance(item.get(key), str)
    ]
    return customer, agent, names


def _zendesk_conversation(
    item: dict[str, Any], users: dict[str, dict[str, Any]]
) -> tuple[list[str], list[str], list[str]]:
    requester = str(item.get("requester_id", ""))
    names = [str(u["name"]) for u in users.values() if isinstance(u.get("name"), str)]
    source = (item.get("via") or {}).get("source") if isinstance(item.get("via"), dict) else None
    # The sender of an e-mail ticket (``via.source.to`` is the help desk itself).
    sender = source.get("from") if isinstance(source, dict) else None
    if isinstance(sender, dict) and isinstance(sender.get("name"), str):
        names.append(sender["name"])
    comments = item.get("comments")
    if comments is None:
        description = item.get("description")
        if description is not None and not isinstance(description, str):
            raise _TicketError("'description' is not a string")
        return ([description.strip()] if description and description.strip() else []), [], names
    if not isinstance(comments, list):
        raise _TicketError("'comments' is not a list")
    customer: list[str] = []
    agent: list[str] = []
    for index, comment in enumerate(comments):
        if not isinstance(comment, dict):
            raise _TicketError(f"comments[{index}] is not an object")
        text = comment.get("plain_body", comment.get("body"))
        if not isinstance(text, str):
            raise _TicketError(f"comments[{index}] has no plain_body or body text")
        if comment.get("public") is False or not text.strip():
            continue  # internal notes are not the conversation
        author = str(comment.get("author_id", ""))
        role = users.get(author, {}).get("role")
        from_customer = author == requester or role == "end-user"
        (customer if from_customer else agent).append(text.strip())
    return customer, agent, names


def _agent_url(api_url: Any) -> str | None:
    """The ticket's page in Zendesk's agent interface, from the API url the export carries."""
    match = _ZENDESK_API_URL.match(api_url) if isinstance(api_url, str) else None
    return f"{match.group(1)}/agent/tickets/{match.group(2)}" if match else None


def _clip(text: str) -> str:
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS].rsplit(" ", 1)[0]
