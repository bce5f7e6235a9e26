"""Solved support tickets: parsing, redaction at ingest, the agent-only ticket collection, the
ingest report, incremental re-ingest and ``similar_tickets``."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES

from assistant.access.registry import Caller
from assistant.cli.main import app as cli_app
from assistant.errors import LearnloopError
from assistant.knowledge.base import Knowledge
from assistant.knowledge.similar_tickets import similar_tickets
from ingest.redaction import Redactor
from ingest.sync import sync_path
from ingest.tickets import load_tickets

TICKETS = FIXTURES / "tickets"
ZENDESK = TICKETS / "zendesk_tickets.json"
JSONL = TICKETS / "solved_tickets.jsonl"
AGENT = Caller(tenant="default", role="agent")

# Personal data the fixtures carry, none of which may be stored.
PII = [
    "maria.lopez@acme-corp.com", "juan.perez@ejemplo.es", "sofia.r@gmail.com",
    "kim.lee@example.org", "555-0132", "612 345 678", "020 7946 0958", "55 1234 5678",
    "91 123 45 67", "0412 345 678", "Maria", "Lopez", "Juan", "Pérez", "Peter", "Brandt",
    "Oliver", "Grant", "Sofía", "Lucía", "Fernández", "Dmitri", "Kim Lee", "Anna Smith",
    "Carmen",
]


def _load(path: Path):
    return load_tickets(path, path)


# --- redaction ---------------------------------------------------------------------------


def test_an_english_ticket_loses_emails_phones_and_names():
    text = (
        "Hi Maria,\n\nSince version 2.14.0 the Export button is greyed out. Reach me at "
        "+1 (415) 555-0132, 415-555-0132 or maria.lopez@acme-corp.com.\n\n"
        "Best regards,\nAnna Smith"
    )
    assert Redactor()(text) == (
        "Hi [name],\n\nSince version 2.14.0 the Export button is greyed out. Reach me at "
        "[phone], [phone] or [email].\n\nBest regards,\n[name]"
    )


def test_a_spanish_ticket_loses_emails_phones_and_names():
    text = (
        "Hola Juan:\n\nMi móvil es 612 345 678, el fijo 91 123 45 67 y el de México "
        "+52 55 1234 5678. Escribidme a juan.perez@ejemplo.es.\n\nGracias, Pedro"
    )
    assert Redactor()(text) == (
        "Hola [name]:\n\nMi móvil es [phone], el fijo [phone] y el de México "
        "[phone]. Escribidme a [email].\n\nGracias, [name]"
    )


@pytest.mark.parametrize(
    "text",
    [
        "Upgrade to 2.14.0 or v3.2.1.4, then restart.",
        "The Pro plan is $1,299.00 a year, or 1.299,00 € / 49,99 € al mes.",
        "Refunds within 14 days; the export takes 5 minutes.",
        "Steps: 1. Open Settings 2. Click Export 3. Choose CSV.",
        "Order #100234567 from 2024-03-15 (15.03.2024) at 10:30.",
        "Our server is 192.168.1.20, build 2.5.1000.",
        "We import 1 000 000 rows and 1 250 000 users every night.",
        "Hi team, hello there, Dear Support, Hola equipo:",
        "iPhone 13, iOS 17.4, app 5.2.1 with 3.500 filas.",
        "Thanks, that worked!",
    ],
)
def test_product_words_and_numbers_stay(text: str):
    assert Redactor()(text) == text


def test_names_the_export_carries_are_redacted_wherever_they_appear():
    redact = Redactor(["Peter Brandt", "Sofía Ramírez"])
    assert redact("Peter Brandt escalated it; Sofía confirmed, and Brandt closed it.") == (
        "[name] escalated it; [name] confirmed, and [name] closed it."
    )
    # Lower-case words that happen to spell a name are words.
    assert Redactor(["Mark Will"])("mark as done, it will sync") == "mark as done, it will sync"


def test_a_greeting_to_two_people():
    assert Redactor()("Hi Maria and Juan,\nthanks") == "Hi [name],\nthanks"
    assert Redactor()("Hola Ana y Luis:") == "Hola [name]:"


def test_names_after_a_sign_off_on_its_own_line_or_an_introduction():
    assert Redactor()("Saludos cordiales,\nCarmen Ruiz") == "Saludos cordiales,\n[name]"
    assert Redactor()("Thanks again! My name is Laura Gómez.") == "Thanks again! My name is [name]."
    assert Redactor()("¿Cómo lo pongo en español? Saludos, Carmen") == (
        "¿Cómo lo pongo en español? Saludos, [name]"
    )


def test_a_plain_run_of_digits_is_a_phone_only_after_a_phone_word():
    assert Redactor()("call me on 5551234567") == "call me on [phone]"
    assert Redactor()("invoice 5551234567 is paid") == "invoice 5551234567 is paid"


# --- parsing ---------------------------------------------------------------------------


def test_a_zendesk_export_becomes_one_document_per_solved_ticket():
    load = _load(ZENDESK)
    assert load.error is None
    assert [d.id for d in load.documents] == [
        "ticket/1201", "ticket/1202", "ticket/1204", "ticket/1206", "ticket/1207",
        "ticket/1209", "ticket/1211", "ticket/1212",
    ]
    first = load.documents[0]
    assert first.kind == "ticket" and first.title == "Can't export invoices to CSV"
    assert [s.heading_path for s in first.sections] == [("Problem",), ("Resolution",)]
    assert "greyed out" in first.sections[0].text
    assert "set both the start and end date" in first.sections[1].text
    assert first.url == "https://acme.zendesk.com/agent/tickets/1201"
    assert first.tags == ["billing", "export"] and first.locale == "en"
    assert first.extra["ticket_id"] == "1201"
    assert {d.id: d.locale for d in load.documents}["ticket/1202"] == "es"


def test_internal_notes_are_left_out():
    first = _load(ZENDESK).documents[0]
    assert "legacy Pro plan" not in json.dumps(first.sections, default=str)


def test_unsolved_and_empty_tickets_are_skipped_and_a_malformed_one_fails_alone():
    load = _load(ZENDESK)
    assert dict(load.tickets_skipped) == {
        "ticket #1203": "status 'open': only solved and closed tickets are knowledge",
        "ticket #1205": "status 'pending': only solved and closed tickets are knowledge",
        "ticket #1208": "status 'new': only solved and closed tickets are knowledge",
        "ticket #1210": "empty: no resolution and no reply from an agent",
    }
    assert load.tickets_failed == [("ticket #1213", "'comments' is not a list")]
    assert load.kept == ["ticket/1213"]


def test_a_jsonl_of_solved_tickets():
    load = _load(JSONL)
    assert [d.id for d in load.documents] == ["ticket/T-301", "ticket/T-302"]
    calendar, language = load.documents
    # The resolution field wins over the agent's messages; without it, the agent's messages.
    assert calendar.sections[1].text.startswith("Disconnect the personal calendar")
    assert calendar.url == "https://help.example.com/tickets/T-301"
    assert language.sections[1].text.startswith("Hola [name]: ve a Perfil")
    assert load.tickets_skipped == [
        ("ticket #T-303", "status 'open': only solved and closed tickets are knowledge")
    ]
    assert load.tickets_failed == [
        ("ticket #T-304", "messages[0].from must be 'customer' or 'agent'")
    ]


def test_no_personal_data_survives_parsing():
    for path in (ZENDESK, JSONL):
        stored = json.dumps(
            [[d.title, d.sections, d.extra] for d in _load(path).documents],
            default=str, ensure_ascii=False,
        )
        assert [p for p in PII if p in stored] == []


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ('{"tickets": [', r"not valid JSON: .* at line 1 column \d+"),
        ('{"articles": []}', r"not a tickets export"),
        ('{"tickets": {"id": 1}}', r"'tickets' is not a list"),
        ('{"id": "a", "subject": "x"}\n{"id": "b",\n', r"line 2: not valid JSON"),
        ("   \n", r"empty file"),
    ],
)
def test_a_bad_file_is_named_with_the_reason(tmp_path: Path, content: str, error: str):
    path = tmp_path / "tickets.jsonl"
    path.write_text(content, encoding="utf-8")
    load = _load(path)
    assert load.error is not None and re.search(error, load.error), load.error
    assert load.documents == []


@pytest.mark.parametrize(
    ("ticket", "reason"),
    [
        ({"subject": "x", "messages": []}, "'id' is missing"),
        ({"id": "a/b", "subject": "x", "messages": []}, "'id' is missing or not a ticket id"),
        ({"id": 1, "messages": []}, "'subject' is missing or empty"),
        ({"id": 1, "subject": "x", "messages": "hi"}, "'messages' is not a list"),
        ({"id": 1, "subject": "x", "tags": "billing", "messages": []}, "'tags' is not a list"),
        ({"id": 1, "subject": "x", "messages": [{"from": "agent", "text": 3}]},
         "messages[0].text is missing"),
        ({"id": 1, "subject": "x", "resolution": ["a"], "messages": []},
         "'resolution' is not a string"),
    ],
)
def test_a_malformed_ticket_fails_with_the_reason(tmp_path: Path, ticket: dict, reason: str):
    good = {"id": 9, "subject": "Fine", "messages": [
        {"from": "customer", "text": "How do I export?"},
        {"from": "agent", "text": "Use Export > CSV."}]}
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(t) for t in (ticket, good)), encoding="utf-8")
    load = _load(path)
    assert [d.id for d in load.documents] == ["ticket/9"]
    assert len(load.tickets_failed) == 1 and reason in load.tickets_failed[0][1]


# --- the ticket collection ---------------------------------------------------------------


def test_ingest_reports_tickets_and_keeps_them_apart(knowledge: Knowledge):
    report = sync_path(knowledge, "help", TICKETS, tickets=True)
    tickets = report.as_dict()["tickets"]
    assert tickets["ingested"] == 10
    assert len(tickets["skipped"]) == 5
    assert {(f["file"], f["ticket"]) for f in tickets["failed"]} == {
        ("zendesk_tickets.json", "ticket #1213"), ("solved_tickets.jsonl", "ticket #T-304")}
    assert not report.ok  # a failed ticket makes the run fail, like a failed file
    # Apart from the knowledge bases: not listed, not opened by name.
    assert knowledge.names() == []
    with pytest.raises(LearnloopError, match="does not exist"):
        knowledge.get("help")
    base = knowledge.tickets("help")
    assert base.dir == knowledge.settings.data_dir / "tickets" / "help"
    assert len(base.catalog.documents()) == 10


def test_nothing_personal_is_stored(knowledge: Knowledge):
    sync_path(knowledge, "help", TICKETS, tickets=True)
    stored = b"".join(
        p.read_bytes() for p in knowledge.settings.data_dir.rglob("*")
        if p.is_file() and not p.is_symlink() and "models" not in p.parts
    ).decode("utf-8", errors="ignore")
    assert [p for p in PII if p in stored] == []
    assert "greyed out" in stored  # the check reads what was stored


def test_similar_tickets_finds_the_solved_ticket_in_either_language(knowledge: Knowledge):
    sync_path(knowledge, "help", TICKETS, tickets=True)
    found = similar_tickets(
        knowledge, AGENT, "help", "The export button on invoices is disabled, I need a CSV")
    assert found[0].ticket_id == "1201" and found[0].citation == "ticket #1201"
    assert found[0].url == "https://acme.zendesk.com/agent/tickets/1201"
    assert "start and end date" in found[0].resolution and "[name]" in found[0].resolution
    assert len(found) == 3 and found[0].score >= found[1].score
    spanish = similar_tickets(
        knowledge, AGENT, "help", "¿Cómo cambio la tarjeta de crédito de mi suscripción?", k=1)
    assert [t.ticket_id for t in spanish] == ["1202"]
    calendar = similar_tickets(
        knowledge, Caller(tenant="default", role="admin"), "help",
        "Google Calendar shows every event twice", k=1)
    assert calendar[0].as_dict()["citation"] == "ticket #T-301"


@pytest.mark.parametrize("role", ["end_user", "csm", "ingest"])
def test_similar_tickets_refuses_other_roles(knowledge: Knowledge, role: str):
    sync_path(knowledge, "help", TICKETS, tickets=True)
    with pytest.raises(LearnloopError, match=f"role '{role}' may not do this"):
        similar_tickets(knowledge, Caller(tenant="default", role=role), "help", "export csv")


def test_similar_tickets_stays_in_the_callers_tenant(knowledge: Knowledge):
    sync_path(knowledge, "help", TICKETS, tickets=True)
    other = Caller(tenant="globex", role="agent")
    assert similar_tickets(knowledge, other, "help", "export invoices csv") == []
    assert similar_tickets(knowledge, AGENT, "nothing-here", "export invoices csv") == []


def test_reingest_is_incremental(knowledge: Knowledge, tmp_path: Path):
    folder = Path(shutil.copytree(TICKETS, tmp_path / "tickets"))
    sync_path(knowledge, "help", folder, tickets=True)
    again = sync_path(knowledge, "help", folder, tickets=True)
    assert (len(again.added), len(again.updated), len(again.unchanged)) == (0, 0, 10)
    assert again.chunks_embedded == 0
    export = json.loads((folder / "zendesk_tickets.json").read_text())
    by_id = {t["id"]: t for t in export["tickets"]}
    by_id[1204]["status"] = "open"  # reopened: no longer knowledge
    by_id[1206]["comments"][1]["plain_body"] += " Then force-quit the app once."
    by_id[1201]["comments"] = 7  # now malformed: its ingested version stays
    (folder / "zendesk_tickets.json").write_text(json.dumps(export), encoding="utf-8")
    third = sync_path(knowledge, "help", folder, tickets=True)
    assert third.removed == ["ticket/1204"] and third.updated == ["ticket/1206"]
    assert ("zendesk_tickets.json", "ticket #1201", "'comments' is not a list") in (
        third.tickets_failed)
    assert knowledge.tickets("help").catalog.document("ticket/1201") is not None


def test_a_ticket_in_two_exports_fails_in_the_second(knowledge: Knowledge, tmp_path: Path):
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(JSONL, folder / "a.jsonl")
    shutil.copy(JSONL, folder / "b.jsonl")
    report = sync_path(knowledge, "help", folder, tickets=True)
    assert len(report.added) == 2
    assert ("b.jsonl", "ticket #T-301", "ticket #T-301 is already ingested from a.jsonl") in (
        report.tickets_failed)


def test_cli_ingests_tickets_with_the_flag(cli, knowledge: Knowledge, tmp_path: Path):
    result = cli.invoke(cli_app, ["ingest", str(JSONL), "--kb", "help", "--tickets", "--json"])
    assert result.exit_code == 1  # T-304 is malformed
    report = json.loads(result.stdout)
    assert report["tickets"]["ingested"] == 2
    assert report["tickets"]["failed"] == [{
        "file": "solved_tickets.jsonl", "ticket": "ticket #T-304",
        "reason": "messages[0].from must be 'customer' or 'agent'"}]
    plain = cli.invoke(cli_app, ["ingest", str(JSONL), "--kb", "help", "--tickets"])
    assert "tickets: 0 ingested, 2 unchanged, 0 removed, 1 skipped, 1 failed" in plain.output
