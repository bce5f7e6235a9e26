"""A draft lists the solved tickets like the one at hand, cited as tickets and kept out of the
reply text; tickets of another tenant are never among them."""

from __future__ import annotations

from conftest import FIXTURES, MINI_KB
from fastapi.testclient import TestClient

from assistant.app.factory import create_app
from ingest.sync import sync_path

TICKETS = FIXTURES / "tickets"


def test_a_draft_lists_similar_solved_tickets_of_its_own_tenant_only(knowledge, settings):
    assert sync_path(knowledge, "help", MINI_KB).ok
    assert sync_path(knowledge, "help", TICKETS, tickets=True).tickets
    with TestClient(create_app(settings, knowledge)) as client:
        access = client.app.state.services.access
        access.create_tenant("globex")
        agent = access.create_key("default", "agent")[1]
        stranger = access.create_key("globex", "agent")[1]
        ticket = {"subject": "Google calendar shows every due date twice",
                  "body": "Hi, since we connected Google Calendar all our due dates appear "
                          "twice. How do we fix the duplicates?"}
        response = client.post("/v1/copilot/draft", json={"kb": "help", "ticket": ticket},
                               headers={"authorization": f"Bearer {agent}"})
        assert response.status_code == 200, response.text
        body = response.json()
        similar = body["similar_tickets"]
        assert similar and similar[0]["ticket_id"] == "T-301"
        assert similar[0]["citation"] == "ticket #T-301"
        assert "kim.lee@example.org" not in response.text  # redacted at ingest
        assert "workspace calendar" not in body["draft"]  # tickets never become the reply
        other = client.post("/v1/copilot/draft", json={"kb": "help", "ticket": ticket},
                            headers={"authorization": f"Bearer {stranger}"})
        assert other.status_code == 404  # globex has no knowledge base 'help'
