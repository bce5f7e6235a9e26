"""Learning state (DESIGN "Learning paths"): where a user stands and what to learn next.

Pure functions over a user's events, the learning paths of a knowledge base and a clock
passed in. The model, rule by rule:

stage       Tenure decides first: week1 (days 0-7), month1 (8-30), month3 (31-90), ongoing
            (91+), counted in whole days from the user's ``created_at`` (``user_updated``) or
            else their first event. Demonstrated skill then moves a user *one* stage ahead,
            never more and never back. Skill is evidence of doing, corroborated by asking:
            a feature counts when their path teaches it in a later stage than their tenure
            stage, or when the help center documents it only at advanced level; a question
            counts when the article it is about sits above the level expected at their
            tenure stage (beginner in week1 and month1, intermediate in month3). The move
            needs two such features, or one such feature and two such questions; questions
            alone never move anyone (asking about something is not doing it).
path        The path whose audience matches the user's role in the product (admin, manager,
            else end_user); a knowledge base without it falls back to the end-user path.
progress    A ``viewed`` step completes when the user viewed its article (``article_viewed``,
            ``citation_clicked``, ``tip_clicked``) or already uses the feature the article is
            about; an event
            step (``feature_used: reports.schedule``) when that event happened; any step when
            ``path_step_completed`` names its ref.
next steps  Incomplete steps of the user's stage, then steps of earlier stages left undone,
            then the coming stage; steps related to what the user asked (the current
            question first, then their recent ones) move to the front. Advanced material is
            never suggested while tenure is under 31 days, whatever the skill.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from assistant.clock import DAY_MS
from assistant.events.model import EventRow

__all__ = [
    "LEARNING_TYPES",
    "STAGES",
    "VIEW_TYPES",
    "AccountLearning",
    "DocumentLike",
    "LearningPath",
    "Material",
    "PathLibrary",
    "Question",
    "Relation",
    "Step",
    "StepEvidence",
    "UserActivity",
    "UserLearning",
    "account_learning",
    "activities",
    "audience_for_role",
    "library_from_documents",
    "path_for_role",
    "profile_update",
    "questions_to_relate",
    "stage_for_days",
    "step_completion",
    "user_learning",
]

STAGES = ("week1", "month1", "month3", "ongoing")
STAGE_TITLES = {"week1": "Week 1", "month1": "Month 1", "month3": "Month 3", "ongoing": "Ongoing"}
# The last tenure day of each stage but the open-ended one.
STAGE_LAST_DAY = {"week1": 7, "month1": 30, "month3": 90}
LEVELS = ("beginner", "intermediate", "advanced")
EXPECTED_LEVEL = {
    "week1": "beginner", "month1": "beginner", "month3": "intermediate", "ongoing": "advanced",
}
NEW_USER_STAGES = frozenset({"week1", "month1"})
RECENT_QUESTIONS = 5  # questions that re-rank next steps: the newest few …
RECENT_QUESTION_DAYS = 14  # … of the last two weeks
SKILL_QUESTIONS = 10  # questions weighed as skill evidence: the newest ten of the last 90 days
SKILL_QUESTION_DAYS = 90
# A step whose article shares its feature with an article a question is about is related too.
SAME_FEATURE_WEIGHT = 0.8
# Events that mean a user set out to learn something (feedback on an answer or a tip follows
# a question or a click already counted, so it is not counted again).
LEARNING_TYPES = frozenset({
    "article_viewed", "citation_clicked", "path_step_completed", "question_asked",
    "tip_clicked", "tip_adopted",
})
# Reading a resource: the event's subject is the article's, tip's or workflow's id.
VIEW_TYPES = frozenset({"article_viewed", "citation_clicked", "tip_clicked"})

# The articles a question is about, best first, each with a score in (0, 1].
Relation = Sequence[tuple[str, float]]


# --- paths and the material they point at --------------------------------------------------


@dataclass(frozen=True)
class Step:
    ref: str
    title: str
    stage: str
    completes: str  # "viewed" or "<event type>: <subject>"

    @property
    def event(self) -> tuple[str, str] | None:
        """The (event type, subject) that completes this step; None for a ``viewed`` step."""
        if self.completes == "viewed":
            return None
        kind, _, subject = self.completes.partition(":")
        return kind.strip(), subject.strip()


@dataclass(frozen=True)
class LearningPath:
    id: str
    title: str
    audience: str
    steps: tuple[Step, ...]

    @classmethod
    def from_extra(
        cls, path_id: str, title: str, audience: str, extra: Mapping[str, Any]
    ) -> LearningPath:
        """From the ``extra`` an ingested path document keeps (see ingest/learning_paths.py)."""
        steps = [
            Step(str(s["ref"]), str(s.get("title") or s["ref"]), str(stage["stage"]),
                 str(s.get("completes") or "viewed"))
            for stage in extra.get("stages", [])
            for s in stage.get("steps", [])
        ]
        return cls(path_id, title, audience, tuple(steps))


@dataclass(frozen=True)
class Material:
    """An article, tip or workflow a step points at, as the catalog knows it."""

    id: str
    title: str
    url: str | None
    kind: str
    level: str | None
    feature: str | None


@dataclass
class PathLibrary:
    """A knowledge base's learning paths and the material their steps point at."""

    paths: dict[str, LearningPath]
    materials: dict[str, Material]  # by document id and by source path
    feature_levels: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, paths: Iterable[LearningPath], materials: Iterable[Material],
              sources: Mapping[str, str] | None = None) -> PathLibrary:
        """``sources`` maps a document's source path to its id, for steps whose ref is the
        file of a document whose front matter set another id."""
        by_id = {m.id: m for m in materials}
        found = dict(by_id)
        for source, doc_id in (sources or {}).items():
            if doc_id in by_id:
                found.setdefault(source, by_id[doc_id])
        levels: dict[str, set[str]] = {}
        for m in by_id.values():
            if m.feature and m.level:
                levels.setdefault(m.feature, set()).add(m.level)
        return cls(
            {p.id: p for p in sorted(paths, key=lambda p: p.id)},
            found,
            {f: frozenset(v) for f, v in levels.items()},
        )

    def path_for(self, role: str | None) -> LearningPath | None:
        return path_for_role(self.paths.values(), role)

    def step_feature(self, step: Step) -> str | None:
        """The feature a step teaches: the one its completion event names
        (``feature_used: reports.schedule``), else the feature of the material it points at."""
        event = step.event
        if event is not None and event[0] == "feature_used":
            return event[1]
        material = self.material(step.ref)
        return material.feature if material else None

    def material(self, ref: str) -> Material | None:
        return self.materials.get(ref)

    def advanced_only(self, feature: str) -> bool:
        return self.feature_levels.get(feature) == frozenset({"advanced"})


_ROLE_AUDIENCE = {
    "admin": "admin", "administrator": "admin", "owner": "admin", "workspace_admin": "admin",
    "super_admin": "admin", "it_admin": "admin",
    "manager": "manager", "team_lead": "manager", "lead": "manager", "project_manager": "manager",
    "pm": "manager", "director": "manager", "supervisor": "manager", "head": "manager",
}


def audience_for_role(role: str | None) -> str:
    """The path audience for a user's role in the product: admin, manager, else end_user."""
    key = (role or "").strip().lower().replace("-", "_").replace(" ", "_")
    return _ROLE_AUDIENCE.get(key, "end_user")


def path_for_role(paths: Iterable[LearningPath], role: str | None) -> LearningPath | None:
    """The path a user with ``role`` follows: the one for their audience, else the end-user
    path, else the first (by id)."""
    ordered = sorted(paths, key=lambda p: p.id)
    audience = audience_for_role(role)
    for wanted in (audience, "end_user"):
        for path in ordered:
            if path.audience == wanted:
                return path
    return ordered[0] if ordered else None


class DocumentLike(Protocol):
    """What the rules read of a document: the catalog's ``DocumentRow`` or a loader's
    ``Document``."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def audience(self) -> str | None: ...
    @property
    def level(self) -> str | None: ...
    @property
    def feature(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def extra(self) -> dict[str, Any]: ...


def library_from_documents(documents: Iterable[DocumentLike]) -> PathLibrary:
    """The one reading of learning paths: each ``path`` document's stages and steps (as
    ingest/learning_paths.py stored them in ``extra``), and every other document as the
    material a step may point at, by id or by source file."""
    docs = list(documents)
    paths: dict[str, LearningPath] = {}
    for d in docs:
        if d.kind == "path" and d.id not in paths:
            paths[d.id] = LearningPath.from_extra(d.id, d.title, d.audience or "end_user", d.extra)
    materials = [
        Material(d.id, d.title, d.url, d.kind, d.level, d.feature)
        for d in docs
        if d.kind != "path"
    ]
    sources = {d.source: d.id for d in docs if d.kind != "path" and d.source}
    return PathLibrary.build(paths.values(), materials, sources)


# --- what a user did ------------------------------------------------------------------------


@dataclass
class StepEvidence:
    """What can complete path steps, from one user's events: the first time of each thing.
    Events may arrive in any order (health reads the log unordered)."""

    viewed: dict[str, int] = field(default_factory=dict)  # document id -> first view
    marked: dict[str, int] = field(default_factory=dict)  # ref -> first path_step_completed
    happened: dict[tuple[str, str], int] = field(default_factory=dict)  # (type, subject)

    def add(self, kind: str, subject: str | None, ts: int) -> None:
        if subject is None:
            return
        if kind in VIEW_TYPES:
            _first(self.viewed, subject, ts)
        elif kind == "path_step_completed":
            _first(self.marked, subject, ts)
        _first(self.happened, (kind, subject), ts)

    @property
    def features(self) -> dict[str, int]:
        return {s: ts for (t, s), ts in self.happened.items() if t == "feature_used"}


def step_completion(
    step: Step, evidence: StepEvidence, library: PathLibrary,
    features: Mapping[str, int] | None = None,
) -> tuple[int, str] | None:
    """When and how a user completed ``step``, or None. A ``viewed`` step completes when
    they viewed its material (by ref or by the material's id) or already use the feature
    it is about; an event step when that event happened; any step when
    ``path_step_completed`` names it. The earliest of these counts. ``features``: the
    evidence's ``features``, when the caller already has them."""
    found: list[tuple[int, str]] = []
    if step.ref in evidence.marked:
        found.append((evidence.marked[step.ref], "marked"))
    event = step.event
    if event is None:
        material = library.material(step.ref)
        for article in {step.ref, material.id if material else step.ref}:
            if article in evidence.viewed:
                found.append((evidence.viewed[article], "viewed"))
        used = evidence.features if features is None else features
        if material and material.feature and material.feature in used:
            found.append((used[material.feature], "feature_used"))
    elif event in evidence.happened:
        found.append((evidence.happened[event], event[0]))
    return min(found) if found else None


@dataclass(frozen=True)
class Question:
    ts_ms: int
    text: str
    articles: tuple[str, ...] = ()  # what its answer cited (answer_given.properties.cited)


@dataclass
class UserActivity:
    """One user's events, reduced to what learning needs (first time of each thing)."""

    user_id: str
    account_id: str | None = None
    first_ms: int | None = None
    created_ms: int | None = None
    role: str | None = None
    evidence: StepEvidence = field(default_factory=StepEvidence)
    questions: list[Question] = field(default_factory=list)  # in time order
    last_learning_ms: int | None = None

    @property
    def features(self) -> dict[str, int]:
        return self.evidence.features

    def add(self, row: EventRow) -> None:
        ts = row.ts_ms
        if self.first_ms is None or ts < self.first_ms:
            self.first_ms = ts
        self.account_id = row.account_id
        kind, subject = row.type, row.subject
        if kind in LEARNING_TYPES:
            self.last_learning_ms = max(ts, self.last_learning_ms or ts)
        if kind == "user_updated":
            role, created = profile_update(row.props())
            self.role = role or self.role
            self.created_ms = created if created is not None else self.created_ms
        elif kind == "question_asked":
            props = row.props()
            text = props.get("question")
            if isinstance(text, str) and text.strip():
                self.questions.append(Question(ts, text.strip(), _articles(props)))
        elif kind == "answer_given" and self.questions:
            # An answer logged with the articles it cited tells what its question was about.
            cited = _articles(row.props())
            if cited and not self.questions[-1].articles:
                last = self.questions[-1]
                self.questions[-1] = Question(last.ts_ms, last.text, cited)
        self.evidence.add(kind, subject, ts)


def profile_update(props: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """What a ``user_updated`` event says of the user: their role in the product and when
    they joined (epoch ms); None for what it does not say."""
    role = props.get("role")
    return (role if isinstance(role, str) else None), _parse_ms(props.get("created_at"))


def activities(rows: Iterable[EventRow]) -> dict[str, UserActivity]:
    """Per user, from rows in time order (account-level events without a user are skipped)."""
    users: dict[str, UserActivity] = {}
    for row in rows:
        if row.user_id is None:
            continue
        user = users.get(row.user_id)
        if user is None:
            user = users[row.user_id] = UserActivity(row.user_id)
        user.add(row)
    return users


def questions_to_relate(activity: UserActivity, now: datetime) -> list[str]:
    """The question texts ``user_learning`` weighs (recent ones and skill evidence), for the
    caller to relate to articles beforehand; those whose answer logged its articles are not
    listed."""
    now_ms = _ms(now)
    wanted: list[str] = []
    for question in _recent(activity, now_ms, RECENT_QUESTION_DAYS, RECENT_QUESTIONS) + _recent(
        activity, now_ms, SKILL_QUESTION_DAYS, SKILL_QUESTIONS
    ):
        if not question.articles and question.text not in wanted:
            wanted.append(question.text)
    return wanted


# --- the state ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Completion:
    ref: str
    title: str
    stage: str
    how: str  # viewed | feature_used | marked | the event type that completed it
    ts_ms: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref, "title": self.title, "stage": self.stage, "how": self.how,
            "completed_at": _iso(self.ts_ms),
        }


@dataclass
class UserLearning:
    user_id: str
    account_id: str | None
    role: str | None
    tenure_days: int
    tenure_stage: str
    stage: str
    stage_reason: str
    skill_features: list[str]
    skill_questions: list[str]
    path: LearningPath | None
    completed: list[Completion]
    next_steps: list[dict[str, Any]]
    last_learning_ms: int | None

    @property
    def total(self) -> int:
        return len(self.path.steps) if self.path else 0

    @property
    def percent(self) -> int:
        return round(100 * len(self.completed) / self.total) if self.total else 0

    @property
    def due(self) -> int:
        """Steps of the stages before the user's tenure stage: what they should have done."""
        return len(self._due_refs())

    @property
    def on_track(self) -> bool:
        done = {c.ref for c in self.completed}
        return self._due_refs() <= done

    def _due_refs(self) -> set[str]:
        if self.path is None:
            return set()
        before = STAGES[: STAGES.index(self.tenure_stage)]
        return {s.ref for s in self.path.steps if s.stage in before}

    def progress(self) -> dict[str, int]:
        return {"completed": len(self.completed), "total": self.total, "percent": self.percent}

    def summary(self) -> dict[str, Any]:
        """What an account view lists per user."""
        return {
            "user_id": self.user_id,
            "role": self.role,
            "stage": self.stage,
            "tenure_days": self.tenure_days,
            "path_id": self.path.id if self.path else None,
            "progress": self.progress(),
            "on_track": self.on_track,
            "last_learning_at": _iso(self.last_learning_ms) if self.last_learning_ms else None,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "account_id": self.account_id,
            "role": self.role,
            "stage": self.stage,
            "stage_title": STAGE_TITLES[self.stage],
            "tenure_days": self.tenure_days,
            "tenure_stage": self.tenure_stage,
            "stage_reason": self.stage_reason,
            "skill": {"features": self.skill_features, "questions": self.skill_questions},
            "path": (
                {"id": self.path.id, "title": self.path.title, "audience": self.path.audience}
                if self.path else None
            ),
            "progress": self.progress(),
            "on_track": self.on_track,
            "completed_steps": [c.as_dict() for c in self.completed],
            "next_steps": self.next_steps,
            "last_learning_at": _iso(self.last_learning_ms) if self.last_learning_ms else None,
        }


def stage_for_days(days: int) -> str:
    for stage, last_day in STAGE_LAST_DAY.items():
        if days <= last_day:
            return stage
    return "ongoing"


def user_learning(
    activity: UserActivity,
    library: PathLibrary,
    now: datetime,
    *,
    user_role: str | None = None,
    topics: Mapping[str, Relation] | None = None,
    question: str | None = None,
    question_topics: Relation = (),
    limit: int = 5,
) -> UserLearning:
    """A user's stage, path progress and next steps at ``now``.

    ``topics`` relates past question texts to articles (see ``questions_to_relate``);
    ``question`` is the one being asked right now and ``question_topics`` what it is about.
    ``user_role`` (the role the host product vouches for now) wins over a logged one.
    """
    now_ms = _ms(now)
    topics = topics or {}
    role = user_role or activity.role
    start = activity.created_ms if activity.created_ms is not None else activity.first_ms
    tenure_days = max(0, (now_ms - start) // DAY_MS) if start is not None else 0
    tenure_stage = stage_for_days(tenure_days)
    path = library.path_for(role)
    features = _skill_features(activity, path, library, tenure_stage)
    asked = _skill_questions(activity, library, tenure_stage, topics, now_ms)
    stage, reason = _stage(tenure_days, tenure_stage, features, asked)
    completed = _completions(path, activity, library) if path else []
    ranked: list[dict[str, Any]] = []
    if path is not None and limit > 0:
        # The question just asked first, then the recent ones, newest first.
        steering: list[tuple[str, Relation]] = [(question, question_topics)] if question else []
        for past in _recent(activity, now_ms, RECENT_QUESTION_DAYS, RECENT_QUESTIONS):
            if past.text != question:
                steering.append((past.text, _topics_of(past, topics)))
        ranked = _next_steps(
            path, {c.ref for c in completed}, stage, tenure_stage, library, steering, limit
        )
    return UserLearning(
        user_id=activity.user_id,
        account_id=activity.account_id,
        role=role,
        tenure_days=int(tenure_days),
        tenure_stage=tenure_stage,
        stage=stage,
        stage_reason=reason,
        skill_features=features,
        skill_questions=asked,
        path=path,
        completed=completed,
        next_steps=ranked,
        last_learning_ms=activity.last_learning_ms,
    )


def _skill_features(
    activity: UserActivity, path: LearningPath | None, library: PathLibrary, tenure_stage: str
) -> list[str]:
    later = set(STAGES[STAGES.index(tenure_stage) + 1 :])
    taught_later = {
        event[1]
        for step in (path.steps if path else ())
        if step.stage in later and (event := step.event) and event[0] == "feature_used"
    }
    return sorted(
        f for f in activity.features if f in taught_later or library.advanced_only(f)
    )


def _skill_questions(
    activity: UserActivity,
    library: PathLibrary,
    tenure_stage: str,
    topics: Mapping[str, Relation],
    now_ms: int,
) -> list[str]:
    expected = LEVELS.index(EXPECTED_LEVEL[tenure_stage])
    above: list[str] = []
    for question in _recent(activity, now_ms, SKILL_QUESTION_DAYS, SKILL_QUESTIONS):
        about = _topics_of(question, topics)
        material = library.material(about[0][0]) if about else None
        if material and material.level in LEVELS and LEVELS.index(material.level) > expected:
            above.append(question.text)
    return above


def _stage(
    days: int, tenure_stage: str, features: list[str], questions: list[str]
) -> tuple[str, str]:
    said = f"day {days} of tenure: {STAGE_TITLES[tenure_stage]}"
    index = STAGES.index(tenure_stage)
    if index == len(STAGES) - 1:
        return tenure_stage, said
    if len(features) >= 2 or (features and len(questions) >= 2):
        ahead = STAGES[index + 1]
        evidence = f"uses {', '.join(features)}"
        if len(features) < 2:
            evidence += f" and asked {len(questions)} questions above their level"
        return ahead, f"{said}; {evidence}, so {STAGE_TITLES[ahead]}"
    return tenure_stage, said


def _completions(
    path: LearningPath, activity: UserActivity, library: PathLibrary
) -> list[Completion]:
    features = activity.features
    done: list[Completion] = []
    for step in path.steps:
        found = step_completion(step, activity.evidence, library, features)
        if found is not None:
            ts, how = found
            done.append(Completion(step.ref, step.title, step.stage, how, ts))
    return done


def _next_steps(
    path: LearningPath,
    done: set[str],
    stage: str,
    tenure_stage: str,
    library: PathLibrary,
    questions: Sequence[tuple[str, Relation]],
    limit: int,
) -> list[dict[str, Any]]:
    current = STAGES.index(stage)
    # By tenure, not by skill: a quick learner in their first month still gets no advanced step.
    no_advanced = tenure_stage in NEW_USER_STAGES
    pool: list[tuple[tuple[float, ...], dict[str, Any]]] = []
    for order, step in enumerate(path.steps):
        if step.ref in done:
            continue
        material = library.material(step.ref)
        if no_advanced and material is not None and material.level == "advanced":
            continue
        at = STAGES.index(step.stage)
        title = STAGE_TITLES[step.stage]
        if at == current:
            group, reason = 0, f"next in your {title} path"
        elif at < current:
            group, reason = 1, f"still open from your {title} path"
        elif at == current + 1:
            group, reason = 2, f"coming up in your {title} path"
        else:
            continue
        tier, score, about = _relevance(step, material, library, questions)
        if about:
            reason = f"related to your question “{_shorten(about)}”"
        pool.append(((tier, -score, group, order), {
            "ref": step.ref,
            "title": step.title,
            "url": material.url if material else None,
            "stage": step.stage,
            "kind": material.kind if material else None,
            "reason": reason,
        }))
    pool.sort(key=lambda item: item[0])
    return [entry for _, entry in pool[:limit]]


def _relevance(
    step: Step,
    material: Material | None,
    library: PathLibrary,
    questions: Sequence[tuple[str, Relation]],
) -> tuple[int, float, str]:
    """(tier, score, question): tier 0 when the step is about the first question (the one
    just asked, or else the newest), 1 about an older one, 2 about none."""
    ids = {step.ref, material.id} if material else {step.ref}
    feature = material.feature if material else None
    for tier, (text, relation) in enumerate(questions):
        best = 0.0
        for doc_id, score in relation:
            if doc_id in ids:
                best = max(best, score)
            elif feature and (other := library.material(doc_id)) and other.feature == feature:
                best = max(best, score * SAME_FEATURE_WEIGHT)
        if best > 0:
            return min(tier, 1), best, text
    return 2, 0.0, ""


# --- an account -----------------------------------------------------------------------------


@dataclass
class AccountLearning:
    account_id: str
    users: list[UserLearning]

    def as_dict(self) -> dict[str, Any]:
        users = sorted(self.users, key=lambda u: u.user_id)
        total = sum(u.total for u in users)
        completed = sum(len(u.completed) for u in users)
        by_stage = {stage: sum(1 for u in users if u.stage == stage) for stage in STAGES}
        count = len(users)
        return {
            "account_id": self.account_id,
            "users": [u.summary() for u in users],
            "aggregate": {
                "users": count,
                "by_stage": by_stage,
                "average_percent": round(sum(u.percent for u in users) / count) if count else 0,
                # Of all the path steps the account's users have, the share they completed.
                "completion_share": round(completed / total, 4) if total else 0.0,
                # Distinct steps of the account's paths done by a user following that path
                # (health's education component counts the same).
                "steps_done": len({
                    (u.path.id, c.ref) for u in users if u.path for c in u.completed
                }),
                "completed_paths": sum(1 for u in users if u.total and u.percent == 100),
                "on_track_share": (
                    round(sum(1 for u in users if u.on_track) / count, 4) if count else 0.0
                ),
            },
        }


def account_learning(
    account_id: str,
    users: Mapping[str, UserActivity],
    library: PathLibrary,
    now: datetime,
    topics: Mapping[str, Relation] | None = None,
) -> AccountLearning:
    """Every user's stage and progress (no next steps) and the account's aggregate."""
    return AccountLearning(
        account_id,
        [user_learning(activity, library, now, topics=topics, limit=0) for activity in
         users.values()],
    )


# --- helpers --------------------------------------------------------------------------------


def _recent(activity: UserActivity, now_ms: int, days: int, count: int) -> list[Question]:
    since = now_ms - days * DAY_MS
    recent = [q for q in activity.questions if since <= q.ts_ms <= now_ms]
    return recent[::-1][:count]


def _topics_of(question: Question, topics: Mapping[str, Relation]) -> Relation:
    if question.articles:
        return [(a, 1.0 - 0.05 * i) for i, a in enumerate(question.articles[:5])]
    return topics.get(question.text, ())


def _articles(props: Mapping[str, Any]) -> tuple[str, ...]:
    """The article ids an answer cited (chat turns log them as ``cited``)."""
    value = props.get("cited", props.get("articles"))
    if isinstance(value, list):
        return tuple(str(a) for a in value if isinstance(a, str) and a)
    return ()


def _first(times: dict[Any, int], key: Any, ts: int) -> None:
    if key not in times or ts < times[key]:
        times[key] = ts


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _parse_ms(value: object) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
    return _ms(when)


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat().replace("+00:00", "Z")
