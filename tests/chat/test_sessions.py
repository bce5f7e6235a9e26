"""A user's conversations across devices: listed per user, never another user's."""

from __future__ import annotations

from pathlib import Path

from assistant.access.registry import Caller
from assistant.answering.answers import Answer, Handoff
from assistant.chat.conversations import ConversationStore
from assistant.storage.database import open_database


def test_users_list_their_own_sessions_latest_first_and_staff_their_tenants(
    tmp_path: Path, database_url: str | None
):
    database = open_database(database_url, tmp_path, "conversations.sqlite")
    store = ConversationStore(database)
    answer = Answer("Open Settings.", [], 0.9, True, Handoff(False))

    def session(tenant: str, user: str, kb: str = "sample", turns: int = 1) -> str:
        made = store.create_session(kb, tenant=tenant, user_id=user, account_id="acme")
        for n in range(turns):
            store.add_turn(made, f"question {n}", answer)
        return made

    older = session("t1", "ana")
    newer = session("t1", "ana", turns=2)
    other_kb = session("t1", "ana", kb="docs")
    store.create_session("sample", tenant="t1", user_id="ana")  # no turn yet: not listed
    colleague = session("t1", "ben")
    session("t2", "ana")  # the same user id in another tenant

    ana = Caller(tenant="t1", role="end_user", user_id="ana", account_id="acme")
    listed = store.sessions(ana, kb="sample")
    assert [s["session_id"] for s in listed] == [newer, older]
    assert listed[0]["messages"] == 4 and listed[0]["user_id"] == "ana"
    assert {s["session_id"] for s in store.sessions(ana)} == {older, newer, other_kb}
    # An end user cannot widen the list to someone else by naming them.
    assert colleague not in {s["session_id"] for s in store.sessions(ana, user_id="ben")}
    staff = Caller(tenant="t1", role="agent")
    assert [s["session_id"] for s in store.sessions(staff, user_id="ben")] == [colleague]
    assert len(store.sessions(staff)) == 4
    assert len(store.sessions(staff, limit=1)) == 1
    database.close()
