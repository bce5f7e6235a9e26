"""Learning state: stage, path progress and next steps with a fixed clock; then the HTTP
endpoints and the chat's ``next_steps_for`` over the real app and the sample knowledge base."""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from assistant.app.deps import get_now
from assistant.app.factory import create_app
from assistant.events.model import Event, EventRow
from assistant.learning.rules import (
    LearningPath,
    Material,
    PathLibrary,
    Step,
    account_learning,
    activities,
    audience_for_role,
    user_learning,
)
from assistant.learning.service import LearningService

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

# --- a small library: one manager path, one end-user path --------------------------------

MANAGER = LearningPath("manager-path", "Managers", "manager", (
    Step("a/first-project.md", "Create a project", "week1", "viewed"),
    Step("a/timeline.md", "Plan on the timeline", "week1", "feature_used: views.timeline"),
    Step("a/filters.md", "Save filters", "month1", "feature_used: filters.save"),
    Step("a/dependencies.md", "Link dependent tasks", "month1", "viewed"),  # advanced
    Step("a/weekly.md", "Plan the week", "month1", "viewed"),
    Step("a/reports.md", "Schedule a report", "month3", "feature_used: reports.schedule"),
    Step("a/export.md", "Export tasks", "month3", "viewed"),
    Step("a/automations.md", "Automate updates", "ongoing", "feature_used: automations.create"),
))
END_USER = LearningPath("end-user-path", "End users", "end_user", (
    Step("a/tasks.md", "Create tasks", "week1", "feature_used: tasks.create"),
    Step("a/search.md", "Jump anywhere", "week1", "viewed"),
    Step("a/tags.md", "Tag tasks", "month1", "viewed"),
))


def material(ref: str, level: str = "beginner", feature: str | None = None) -> Material:
    return Material(ref, ref.title(), f"https://help.example/{ref}", "article", level, feature)


LIBRARY = PathLibrary.build(
    [MANAGER, END_USER],
    [
        material("a/first-project.md"),
        material("a/timeline.md", feature="views.timeline"),
        material("a/filters.md", "intermediate", "filters.save"),
        material("a/dependencies.md", "advanced", "tasks.dependencies"),
        material("a/weekly.md", "intermediate"),
        material("a/reports.md", "intermediate", "reports.schedule"),
        material("a/export.md", "intermediate", "export.run"),
        material("a/export-tip.md", "beginner", "export.run"),
        material("a/automations.md", "advanced", "automations.create"),
        material("a/tasks.md", feature="tasks.create"),
        material("a/search.md", feature="search.quick"),
        material("a/tags.md", feature="tags.apply"),
    ],
)


def row(kind: str, days_ago: float, subject: str | None = None, user: str = "mia",
        **props) -> EventRow:
    ts = int((NOW - timedelta(days=days_ago)).timestamp() * 1000)
    return EventRow("acme", user, kind, subject, ts, json.dumps(props))


def joined(days_ago: int, role: str = "manager", user: str = "mia") -> EventRow:
    created = (NOW - timedelta(days=days_ago)).isoformat()
    return row("user_updated", days_ago, user=user, role=role, created_at=created)


def state(*rows: EventRow, **options):
    return user_learning(activities(rows)["mia"], LIBRARY, NOW, **options)


def refs(steps) -> list[str]:
    return [s["ref"] for s in steps]


# --- stage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("days", "stage"), [
    (0, "week1"), (7, "week1"), (8, "month1"), (30, "month1"), (31, "month3"), (90, "month3"),
    (91, "ongoing"), (400, "ongoing"),
])
def test_stage_follows_tenure_boundaries(days, stage):
    learned = state(joined(days))
    assert (learned.tenure_days, learned.stage, learned.tenure_stage) == (days, stage, stage)


def test_tenure_counts_from_created_at_else_the_first_event():
    assert state(row("login", 8)).stage == "month1"
    # created_at is the host product's record of when the user joined; it wins.
    assert state(row("login", 8), joined(3)).stage == "week1"


def test_two_later_stage_features_move_a_user_exactly_one_stage_ahead():
    uses = [row("feature_used", 1, f) for f in
            ("filters.save", "reports.schedule", "automations.create", "export.run")]
    learned = state(joined(3), *uses)
    assert (learned.tenure_stage, learned.stage) == ("week1", "month1")
    assert learned.skill_features == ["automations.create", "filters.save", "reports.schedule"]
    assert "so Month 1" in learned.stage_reason


def test_one_feature_needs_two_questions_above_level_and_questions_alone_never_move():
    asked = [row("question_asked", 1, question=f"how do dependencies work {i}") for i in range(3)]
    topics = {f"how do dependencies work {i}": [("a/dependencies.md", 0.7)] for i in range(3)}
    feature = row("feature_used", 1, "reports.schedule")
    assert state(joined(3), feature, *asked, topics=topics).stage == "month1"
    assert state(joined(3), *asked, topics=topics).stage == "week1"
    assert state(joined(3), feature, asked[0], topics=topics).stage == "week1"
    # Beginner-level questions are no evidence of skill.
    easy = {text: [("a/first-project.md", 0.7)] for text in topics}
    assert state(joined(3), feature, *asked, topics=easy).stage == "week1"


def test_features_of_earlier_stages_are_no_evidence_and_ongoing_is_the_last_stage():
    early = [row("feature_used", 1, f) for f in ("views.timeline", "tasks.create")]
    assert state(joined(40), *early).stage == "month3"
    late = [row("feature_used", 1, f) for f in ("automations.create", "tasks.dependencies")]
    assert state(joined(200), *late).stage == "ongoing"


# --- path and progress ----------------------------------------------------------------------


@pytest.mark.parametrize(("role", "audience"), [
    ("manager", "manager"), ("Team-Lead", "manager"), ("admin", "admin"), ("Owner", "admin"),
    ("member", "end_user"), ("guest", "end_user"), (None, "end_user"),
])
def test_role_maps_to_a_path_audience(role, audience):
    assert audience_for_role(role) == audience


def test_path_for_the_role_with_end_user_fallback_and_the_callers_role_first():
    assert state(joined(3, role="manager")).path.id == "manager-path"
    assert state(joined(3, role="member")).path.id == "end-user-path"
    # This library has no admin path: admins follow the end-user one.
    assert state(joined(3, role="admin")).path.id == "end-user-path"
    assert state(joined(3, role="member"), user_role="manager").path.id == "manager-path"


def test_viewed_steps_complete_from_views_citation_clicks_or_using_their_feature():
    learned = state(
        joined(20),
        row("article_viewed", 19, "a/first-project.md"),
        row("citation_clicked", 10, "a/weekly.md"),
        row("feature_used", 5, "tasks.dependencies"),  # the feature a.dependencies.md is about
        row("article_viewed", 4, "a/unrelated.md"),
    )
    assert {c.ref: c.how for c in learned.completed} == {
        "a/first-project.md": "viewed", "a/weekly.md": "viewed",
        "a/dependencies.md": "feature_used",
    }
    assert learned.progress() == {"completed": 3, "total": 8, "percent": 38}


def test_event_steps_complete_from_their_event_only():
    learned = state(
        joined(20),
        row("article_viewed", 9, "a/timeline.md"),  # reading is not doing: still open
        row("feature_used", 8, "filters.save"),
    )
    assert [(c.ref, c.how) for c in learned.completed] == [("a/filters.md", "feature_used")]
    assert learned.completed[0].as_dict()["completed_at"] == "2026-05-24T12:00:00Z"


def test_an_explicit_path_step_completed_completes_any_step():
    learned = state(joined(20), row("path_step_completed", 2, "a/timeline.md",
                                    path_id="manager-path", ref="a/timeline.md"))
    assert [(c.ref, c.how) for c in learned.completed] == [("a/timeline.md", "marked")]


def test_on_track_means_every_step_of_earlier_stages_is_done():
    week1 = [row("article_viewed", 30, "a/first-project.md"), row("feature_used", 30,
                                                                  "views.timeline")]
    assert not state(joined(20), week1[0]).on_track
    assert state(joined(20), *week1).on_track
    assert state(joined(2)).on_track  # nothing is due in the first week


# --- next steps -----------------------------------------------------------------------------


def test_next_steps_are_the_stage_first_then_leftovers_then_what_comes_next():
    learned = state(joined(40), row("feature_used", 1, "reports.schedule"), limit=10)
    assert refs(learned.next_steps) == [
        "a/export.md",  # month3, the stage
        "a/first-project.md", "a/timeline.md", "a/filters.md", "a/dependencies.md",
        "a/weekly.md",  # left from week1 and month1, in path order
        "a/automations.md",  # ongoing, coming up
    ]
    reasons = [s["reason"] for s in learned.next_steps]
    assert reasons[0] == "next in your Month 3 path"
    assert reasons[1] == "still open from your Week 1 path"
    assert reasons[-1] == "coming up in your Ongoing path"
    assert set(learned.next_steps[0]) == {"ref", "title", "url", "stage", "kind", "reason"}
    limited = state(joined(40), row("feature_used", 1, "reports.schedule"), limit=2)
    assert limited.next_steps == learned.next_steps[:2]


def test_the_question_just_asked_moves_related_steps_up():
    plain = state(joined(10))
    assert refs(plain.next_steps)[:2] == ["a/filters.md", "a/weekly.md"]
    asked = state(joined(10), question="how do I export my tasks to Excel?",
                  question_topics=[("a/export-tip.md", 0.9)], limit=3)
    # Same feature (export.run) as the cited tip; export.md is a month3 step pulled forward.
    assert refs(asked.next_steps) == ["a/export.md", "a/filters.md", "a/weekly.md"]
    assert asked.next_steps[0]["reason"] == (
        "related to your question “how do I export my tasks to Excel?”")


def test_recent_questions_rank_too_and_the_current_question_ranks_first():
    past = [
        row("question_asked", 2, question="can I schedule a weekly report?"),
        row("answer_given", 2, answered=True, confidence=0.8, cited=["a/reports.md"]),
    ]
    learned = state(joined(10), *past)
    assert refs(learned.next_steps)[0] == "a/reports.md"
    now_asked = state(joined(10), *past, question="export?", question_topics=[("a/export.md", 0.6)])
    assert refs(now_asked.next_steps)[:2] == ["a/export.md", "a/reports.md"]
    # Questions older than two weeks no longer steer.
    old = [row("question_asked", 20, question="q"), row("answer_given", 20, answered=True,
                                                          confidence=0.8, cited=["a/reports.md"])]
    assert refs(state(joined(30), *old).next_steps)[0] == "a/filters.md"


def test_no_advanced_material_for_a_new_user_even_when_asked_or_skilled():
    about = [("a/dependencies.md", 0.9)]
    for learned in (
        state(joined(10), question="dependencies?", question_topics=about, limit=10),
        # promoted to month3 by skill, but still in their first month by tenure
        state(joined(20), row("feature_used", 1, "reports.schedule"),
              row("feature_used", 1, "automations.create"), question="deps?",
              question_topics=about, limit=10),
    ):
        assert "a/dependencies.md" not in refs(learned.next_steps)
        assert "a/automations.md" not in refs(learned.next_steps)
    veteran = state(joined(40), question="dependencies?", question_topics=about)
    assert refs(veteran.next_steps)[0] == "a/dependencies.md"


def test_account_view_lists_users_and_aggregates():
    rows = [
        joined(3), row("article_viewed", 2, "a/first-project.md"),
        row("feature_used", 2, "views.timeline"),
        joined(40, role="member", user="sam"), row("login", 1, user="sam"),
        row("account_updated", 1, user=None),
    ]
    view = account_learning("acme", activities(rows), LIBRARY, NOW).as_dict()
    assert [u["user_id"] for u in view["users"]] == ["mia", "sam"]
    assert view["users"][0]["progress"] == {"completed": 2, "total": 8, "percent": 25}
    assert view["aggregate"] == {
        "users": 2, "by_stage": {"week1": 1, "month1": 0, "month3": 1, "ongoing": 0},
        "average_percent": 12, "completion_share": round(2 / 11, 4), "completed_paths": 0,
        "on_track_share": 0.5, "steps_done": 2,
    }


# --- over HTTP, on the sample knowledge base ------------------------------------------------


def event(n: int, kind: str, user: str | None, days_ago: float, account: str = "acct-1",
          **props) -> Event:
    return Event(f"t{n}", kind, account, user, NOW - timedelta(days=days_ago), props)


SAMPLE_EVENTS = [
    event(1, "user_updated", "mia", 12, role="manager",
          created_at=(NOW - timedelta(days=12)).isoformat()),
    event(2, "article_viewed", "mia", 11,
          article_id="articles/getting-started/create-your-first-project.md"),
    event(3, "feature_used", "mia", 10, feature="templates.use"),
    event(4, "question_asked", "mia", 1, question="How do I export my tasks to a spreadsheet?"),
    event(5, "user_updated", "sam", 50, role="member",
          created_at=(NOW - timedelta(days=50)).isoformat()),
    event(6, "feature_used", "sam", 40, feature="tasks.create"),
    event(7, "login", "kim", 2, account="acct-2"),
]


@pytest.fixture
def app_client(sample_knowledge, tmp_path):
    settings = sample_knowledge.settings.model_copy(update={"data_dir": tmp_path / "learn"})
    app = create_app(settings, sample_knowledge)
    app.dependency_overrides[get_now] = lambda: NOW
    with TestClient(app) as client:
        access = client.app.state.services.access
        access.create_tenant("globex")
        client.keys = {  # type: ignore[attr-defined]
            role: access.create_key("default", role)[1] for role in ("csm", "agent", "ingest")
        }
        client.keys["globex"] = access.create_key("globex", "admin")[1]  # type: ignore[attr-defined]
        client.app.state.services.event_log.append("default", SAMPLE_EVENTS)
        yield client


def get(client, path: str, credential: str, **params):
    return client.get(path, params=params, headers={"authorization": f"Bearer {credential}"})


def token(client, user: str, account: str = "acct-1", role: str | None = None) -> str:
    return client.app.state.services.access.issue_token("default", user, account, role)


def test_staff_read_a_users_learning(app_client):
    response = get(app_client, "/v1/users/mia/learning", app_client.keys["csm"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["stage"], body["tenure_days"], body["path"]["id"]) == (
        "month1", 12, "manager-onboarding")
    assert [s["ref"] for s in body["completed_steps"]] == [
        "articles/getting-started/create-your-first-project.md",
        "tips/start-projects-from-a-template.md",
    ]
    assert body["progress"] == {"completed": 2, "total": 16, "percent": 12}
    first = body["next_steps"][0]
    # Her question about exports (related through the article cards) comes first …
    assert first["ref"] == "articles/how-to/export-data.md"
    assert first["reason"].startswith("related to your question")
    assert first["url"].startswith("https://help.tasklane.example/")
    # … and the advanced month1 step (task dependencies) is not pushed on a new manager.
    assert "articles/how-to/task-dependencies.md" not in [s["ref"] for s in body["next_steps"]]
    assert get(app_client, "/v1/users/mia/learning", app_client.keys["agent"],
               account_id="acct-1").status_code == 200


def test_an_end_user_reads_only_their_own_learning(app_client):
    mia = token(app_client, "mia", role="manager")
    own = get(app_client, "/v1/users/mia/learning", mia)
    assert own.status_code == 200 and own.json()["user_id"] == "mia"
    for path, params in (("/v1/users/sam/learning", {}),
                         ("/v1/users/mia/learning", {"account_id": "acct-2"}),
                         ("/v1/accounts/acct-1/learning", {})):
        refused = get(app_client, path, mia, **params)
        assert refused.status_code == 403, (path, refused.text)
    # A brand-new user (no event yet) starts at week 1 of the path for their role.
    new = get(app_client, "/v1/users/neo/learning", token(app_client, "neo", role="admin"))
    assert new.status_code == 200
    assert (new.json()["stage"], new.json()["path"]["id"]) == ("week1", "admin-onboarding")


def test_unknown_users_and_other_tenants_are_not_found(app_client):
    keys = app_client.keys
    for path, credential in (
        ("/v1/users/nobody/learning", keys["csm"]),
        ("/v1/users/mia/learning", keys["globex"]),
        ("/v1/accounts/acct-9/learning", keys["csm"]),
        ("/v1/accounts/acct-1/learning", keys["globex"]),
    ):
        response = get(app_client, path, credential)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] in ("not_found", "kb_not_found")
    wrong_account = get(app_client, "/v1/users/kim/learning", keys["csm"], account_id="acct-1")
    assert wrong_account.status_code == 404
    assert get(app_client, "/v1/users/mia/learning", keys["ingest"]).status_code == 403


def test_account_learning_lists_each_user(app_client):
    response = get(app_client, "/v1/accounts/acct-1/learning", app_client.keys["csm"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(u["user_id"], u["stage"], u["path_id"]) for u in body["users"]] == [
        ("mia", "month1", "manager-onboarding"), ("sam", "month3", "end-user-onboarding")]
    assert body["aggregate"]["users"] == 2
    assert body["aggregate"]["completion_share"] == round(3 / 32, 4)


def test_next_steps_for_a_chat_answer(app_client):
    state = app_client.app.state.services
    service = LearningService(state.knowledge, state.event_log)
    steps = service.next_steps_for(
        "default", "mia", "acct-1", "manager", "Can I send a status report every week?", NOW,
        kb="sample", related=["articles/how-to/scheduled-reports.md"],
    )
    assert len(steps) == 3
    assert steps[0]["ref"] == "articles/how-to/scheduled-reports.md"
    assert steps[0]["reason"] == "related to your question “Can I send a status report every week?”"
    assert service.next_steps_for("default", None, None, None, "hi", NOW, kb="sample") == []
    assert service.next_steps_for("default", "mia", "acct-1", None, "hi", NOW,
                                  kb="missing") == []
    # Without citations the question is related through the article cards.
    embedded = service.next_steps_for("default", "mia", "acct-1", "manager",
                                      "how do I build a dashboard for my team", NOW, kb="sample")
    assert embedded[0]["ref"] == "articles/how-to/dashboards.md"

    timings = []
    for _ in range(30):
        started = time.perf_counter()
        service.next_steps_for("default", "mia", "acct-1", "manager", "export?", NOW,
                               kb="sample", related=["articles/how-to/export-data.md"])
        timings.append(time.perf_counter() - started)
    assert statistics.median(timings) < 0.05  # typically ~1 ms; the bound only catches a blow-up
