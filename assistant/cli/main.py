"""The ``learnloop`` command: ingest, search, ask, serve, eval, tenants and keys, events, demo."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from assistant.errors import ErrorCode, LearnloopError
from assistant.knowledge.retrieval import Retriever

if TYPE_CHECKING:  # the parts are imported when a command needs them: --help stays fast
    from assistant.access.registry import AccessRegistry
    from assistant.knowledge.base import Knowledge
    from assistant.services import Services

__all__ = ["app", "main"]

app = typer.Typer(
    help="Learnloop: cited answers from your help center, and the learning loop around them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Measure quality on question sets.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
tenant_app = typer.Typer(help="Tenants, each with its own knowledge.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
key_app = typer.Typer(help="API keys of a tenant, each with a role.", no_args_is_help=True)
app.add_typer(key_app, name="key")
events_app = typer.Typer(help="The engagement log.", no_args_is_help=True)
app.add_typer(events_app, name="events")
health_app = typer.Typer(help="Account health scores and their daily snapshots.",
                         no_args_is_help=True)
app.add_typer(health_app, name="health")
demo_app = typer.Typer(help="Demo data for trying the dashboard.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
token_app = typer.Typer(help="End-user tokens, as a host product signs them.", no_args_is_help=True)
app.add_typer(token_app, name="token")

KbOption = Annotated[str, typer.Option("--kb", help="Knowledge base name (e.g. 'sample').")]
TenantOption = Annotated[
    str, typer.Option("--tenant", help="Tenant the knowledge base belongs to.")
]
QuestionsOption = Annotated[Path, typer.Option("--questions", help="Question set (JSONL).")]
JsonPathOption = Annotated[
    Path | None, typer.Option("--json", help="Write the full results here as JSON.")
]


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


# The running command's parts: built on first use from the environment, closed when the
# command ends (a test's CliRunner runs many commands in one process, each with its own).
_built: list[Services] = []


@app.callback()
def _each_command(context: typer.Context) -> None:
    _built.clear()
    context.call_on_close(_close_services)


def _close_services() -> None:
    while _built:
        _built.pop().close()


def _services() -> Services:
    """The composition root of this command."""
    from assistant.services import Services

    if not _built:
        _built.append(Services())
    return _built[0]


def _access() -> AccessRegistry:
    return _services().access


def _check_tenant(tenant: str) -> None:
    from assistant.access.registry import DEFAULT_TENANT, validate_tenant_id

    validate_tenant_id(tenant)
    access = _access()
    if tenant == DEFAULT_TENANT:
        access.ensure_tenant(tenant)
    elif not access.tenant_exists(tenant):
        raise LearnloopError(
            ErrorCode.not_found,
            f"tenant '{tenant}' does not exist; create it with `learnloop tenant create {tenant}`",
        )


def _knowledge() -> Knowledge:
    return _services().knowledge


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="Folder (or file) of knowledge to ingest.")],
    kb: KbOption,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Public URL of the help center root.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    tenant: TenantOption = "default",
    contact_domain: Annotated[
        list[str] | None,
        typer.Option(
            "--contact-domain",
            help="An e-mail domain articles may send readers to, besides the --base-url "
            "site's (repeat for more; kept for the knowledge base until given again).",
        ),
    ] = None,
    trust: Annotated[
        list[str] | None,
        typer.Option(
            "--trust",
            help="A sentence the report listed as planted text that is true: serve it "
            "(repeat for more; kept for the knowledge base until given again).",
        ),
    ] = None,
    tickets: Annotated[
        bool,
        typer.Option(
            "--tickets",
            help="PATH holds solved support tickets (Zendesk export, JSONL): stored redacted "
            "in the knowledge base's agent-only ticket collection, for the copilot.",
        ),
    ] = False,
) -> None:
    """Ingest a folder of articles, tips, workflows and learning paths (incremental), or
    solved support tickets with --tickets."""
    from ingest.sync import sync_path

    try:
        _check_tenant(tenant)
        report = sync_path(
            _knowledge(),
            kb,
            path,
            base_url=base_url,
            progress=not json_out,
            tenant=tenant,
            contact_domains=contact_domain,
            trusted_sentences=trust,
            tickets=tickets,
        )
    except LearnloopError as exc:
        _fail(exc.message)
        return
    if json_out:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_ingest_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_ingest_report(report: Any, shown: int = 5) -> None:
    """Files first (ingested, unchanged, skipped, failed), then documents and chunks; skipped
    files grouped by reason, warnings and failures named (``--json`` lists everything)."""
    typer.echo(
        f"{report.kb}: {len(report.files_ingested)} files ingested, "
        f"{len(report.files_unchanged)} unchanged, {len(report.skipped)} skipped, "
        f"{len(report.failed)} failed; documents: {len(report.added)} added, "
        f"{len(report.updated)} updated, {len(report.removed)} removed; "
        f"{report.chunks_embedded} chunks embedded, {report.chunks_total} chunks in the index "
        f"({report.seconds:.1f} s)"
    )
    by_reason: dict[str, list[str]] = {}
    for file, reason in report.skipped:
        by_reason.setdefault(reason, []).append(file)
    for reason, files in by_reason.items():
        more = f" and {len(files) - shown} more" if len(files) > shown else ""
        typer.echo(f"  skipped ({reason}): {', '.join(files[:shown])}{more}")
    for file, message in report.warnings[: shown * 4]:
        typer.secho(f"  warning: {file}: {message}", fg=typer.colors.YELLOW, err=True)
    if len(report.warnings) > shown * 4:
        typer.secho(f"  … and {len(report.warnings) - shown * 4} more warnings (see --json)",
                    fg=typer.colors.YELLOW, err=True)
    for file, reason, sentence in report.untrusted[: shown * 4]:
        quoted = sentence if len(sentence) <= 100 else sentence[:99] + "…"
        typer.secho(f"  never served ({reason}): {file}: {quoted!r}",
                    fg=typer.colors.YELLOW, err=True)
    if len(report.untrusted) > shown * 4:
        typer.secho(f"  … and {len(report.untrusted) - shown * 4} more never served (see --json)",
                    fg=typer.colors.YELLOW, err=True)
    for file, reason in report.failed:
        typer.secho(f"  failed: {file}: {reason}", fg=typer.colors.RED, err=True)
    if report.tickets:
        _print_ticket_report(report, shown)


def _print_ticket_report(report: Any, shown: int) -> None:
    typer.echo(
        f"  tickets: {len(report.added) + len(report.updated)} ingested, "
        f"{len(report.unchanged)} unchanged, {len(report.removed)} removed, "
        f"{len(report.tickets_skipped)} skipped, {len(report.tickets_failed)} failed"
    )
    by_reason: dict[str, list[str]] = {}
    for _, ticket, reason in report.tickets_skipped:
        by_reason.setdefault(reason, []).append(ticket)
    for reason, tickets in by_reason.items():
        more = f" and {len(tickets) - shown} more" if len(tickets) > shown else ""
        typer.echo(f"  skipped ({reason}): {', '.join(tickets[:shown])}{more}")
    for file, ticket, reason in report.tickets_failed:
        typer.secho(f"  failed: {file}: {ticket}: {reason}", fg=typer.colors.RED, err=True)


@app.command()
def search(
    question: Annotated[str, typer.Argument(help="What to look for.")],
    kb: KbOption,
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many articles.")] = 5,
    locale: Annotated[str | None, typer.Option(help="Only articles in this locale.")] = None,
    audience: Annotated[str | None, typer.Option(help="Only articles for this audience.")] = None,
    level: Annotated[str | None, typer.Option(help="Only articles at this level.")] = None,
    mode: Annotated[
        str, typer.Option(help="hybrid, dense, bm25, multilingual or dense+bm25.")
    ] = "hybrid",
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    tenant: TenantOption = "default",
) -> None:
    """Print the articles that best match a question, with scores."""
    from assistant.knowledge.retrieval import MODES

    if mode not in MODES:
        _fail(f"unknown mode '{mode}'; choose one of {', '.join(MODES)}")
    filters = {
        key: value
        for key, value in (("locale", locale), ("audience", audience), ("level", level))
        if value
    }
    try:
        knowledge = _knowledge()
        retriever = Retriever.of(knowledge, knowledge.get(kb, tenant=tenant))
        hits = retriever.search(question, k=k, filters=filters, mode=mode)  # type: ignore[arg-type]
    except LearnloopError as exc:
        _fail(exc.message)
        return
    if json_out:
        typer.echo(
            json.dumps({"results": [h.as_dict() for h in hits]}, indent=2, ensure_ascii=False)
        )
        return
    if not hits:
        typer.echo("no matching articles")
    for rank, hit in enumerate(hits, start=1):
        typer.echo(f"{rank}. [{hit.score:.4f}] {hit.title}  ({hit.article_id})")
        if hit.url:
            typer.echo(f"   {hit.url}")
        typer.echo(f"   {hit.snippet[:200]}")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The customer's question.")],
    kb: KbOption,
    json_out: Annotated[bool, typer.Option("--json", help="Print the answer structure.")] = False,
    tenant: TenantOption = "default",
) -> None:
    """Answer a question from the knowledge base with its sources, or decline (the answerer
    LEARNLOOP_ANSWERER names: extractive by default, or llm)."""
    try:
        services = _services()
        answerer = services.answerers.for_kb(services.knowledge.get(kb, tenant=tenant))
        answer = answerer.answer(question)
    except LearnloopError as exc:
        _fail(exc.message)
        return
    if json_out:
        typer.echo(json.dumps(answer.as_dict(), indent=2, ensure_ascii=False))
        return
    typer.echo(answer.answer)
    if not answer.answered:
        typer.secho(f"(declined, confidence {answer.confidence:.2f})", err=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    dev: Annotated[
        bool, typer.Option("--dev", help="Local development: loopback only, chat page at /.")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, max=64,
            help="Worker processes. More than one needs LEARNLOOP_CHROMA_URL (a Chroma "
            "server): the embedded vector store is for one process.",
        ),
    ] = 1,
) -> None:
    """Start the HTTP API (OpenAPI docs at /docs, a chat page at /)."""
    import ipaddress
    import os

    import uvicorn

    from assistant.app.factory import create_app

    settings = _services().settings
    bind = host or settings.host
    dev = dev or settings.dev_mode
    if dev:
        try:
            loopback = bind == "localhost" or ipaddress.ip_address(bind).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            _fail(f"--dev serves without keys, so it binds only to loopback, not '{bind}'")
        settings = settings.model_copy(update={"dev_mode": True})
    if workers > 1 and not settings.chroma_url:
        _fail(
            f"--workers {workers} needs LEARNLOOP_CHROMA_URL: the embedded Chroma store may be "
            "opened by one process only (start a server with `chroma run --path DIR`)"
        )
    try:
        api = create_app(settings)  # also checks the settings before any worker starts
    except LearnloopError as exc:
        _fail(exc.message)
        return
    if workers == 1:
        uvicorn.run(api, host=bind, port=port or settings.port, log_level="info")
        return
    # Each worker process builds its own app from the environment (the same settings).
    if dev:
        os.environ["LEARNLOOP_DEV_MODE"] = "true"
    if settings.model_threads is None:  # share the cores instead of contending for them
        os.environ["LEARNLOOP_MODEL_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    uvicorn.run(
        "assistant.app.factory:app_from_environment",
        factory=True,
        workers=workers,
        host=bind,
        port=port or settings.port,
        log_level="info",
    )


@eval_app.command("retrieval")
def eval_retrieval(
    kb: KbOption,
    questions: QuestionsOption,
    json_path: JsonPathOption = None,
    modes: Annotated[
        str, typer.Option(help="Comma-separated modes to compare.")
    ] = "hybrid,dense,bm25",
) -> None:
    """hit@1/3/5, MRR@10 and nDCG@10 per mode, overall and per kind and language."""
    from assistant.knowledge.retrieval import MODES
    from evals.retrieval_eval import format_report, load_questions, run_retrieval_eval

    chosen = [m.strip() for m in modes.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in MODES]
    if unknown:
        _fail(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    try:
        items = load_questions(questions)
        report = run_retrieval_eval(_knowledge(), kb, items, chosen)  # type: ignore[arg-type]
    except LearnloopError as exc:
        _fail(exc.message)
        return
    typer.echo(format_report(report))
    _write_json(json_path, report)


@eval_app.command("answers")
def eval_answers(
    kb: KbOption,
    questions: QuestionsOption,
    json_path: JsonPathOption = None,
) -> None:
    """Citation accuracy, decline precision/recall and latency of the answerer that
    LEARNLOOP_ANSWERER names (extractive by default)."""
    from evals.answer_eval import format_answer_report, run_answer_eval
    from evals.retrieval_eval import load_questions

    try:
        items = load_questions(questions)
        services = _services()
        answerer = services.answerers.for_kb(services.knowledge.get(kb))
        answerer.answer("warm up")
        report = run_answer_eval(answerer.answer, items)
    except LearnloopError as exc:
        _fail(exc.message)
        return
    typer.echo(format_answer_report(report))
    _write_json(json_path, report)


@tenant_app.command("create")
def tenant_create(
    tenant_id: Annotated[str, typer.Argument(help="Short id: lowercase letters, digits, - _.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a tenant and print the secret its product signs user tokens with (once)."""
    try:
        secret = _access().create_tenant(tenant_id, name)
    except LearnloopError as exc:
        _fail(exc.message)
        return
    typer.echo(f"tenant '{tenant_id}' created")
    typer.echo(f"token secret (HS256; shown once, keep it in the host product): {secret}")


@tenant_app.command("list")
def tenant_list() -> None:
    """The tenants and when they were created."""
    for tenant in _access().tenants():
        typer.echo(f"{tenant['tenant_id']}\t{tenant['name']}\t{tenant['created_at']}")


@tenant_app.command("update")
def tenant_update(
    tenant_id: Annotated[str, typer.Argument(help="The tenant to configure.")],
    allowed_origin: Annotated[
        list[str] | None,
        typer.Option("--allowed-origin", help="Origin allowed to embed the widget (repeat)."),
    ] = None,
    remove_origin: Annotated[
        list[str] | None, typer.Option("--remove-origin", help="Origin to allow no longer.")
    ] = None,
    handoff_webhook: Annotated[
        str | None,
        typer.Option(help="URL POSTed to when a user asks for a person ('' to remove)."),
    ] = None,
    tip_spacing_days: Annotated[
        float | None, typer.Option(help="Days between two tips shown to one user.")
    ] = None,
    tip_holdout_percent: Annotated[
        int | None, typer.Option(help="Percent of users who never see tips (0-100).")
    ] = None,
    track_event: Annotated[
        list[str] | None,
        typer.Option(
            "--track-event",
            help="Map a tracked event: 'Name=event_type' or 'Name=feature:<feature id>'.",
        ),
    ] = None,
    launch_feature: Annotated[
        list[str] | None,
        typer.Option(
            "--launch-feature",
            help="A launched feature for the feature_launch play, with its prerequisites if "
            "any: 'reports.schedule' or 'reports.schedule=dashboards.create,filters.save'.",
        ),
    ] = None,
    remove_launch_feature: Annotated[
        list[str] | None,
        typer.Option("--remove-launch-feature", help="A feature no longer in launch."),
    ] = None,
    disable_play: Annotated[
        list[str] | None, typer.Option("--disable-play", help="A play never to name (repeat).")
    ] = None,
    enable_play: Annotated[
        list[str] | None, typer.Option("--enable-play", help="A disabled play to name again.")
    ] = None,
    play_threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--play-threshold",
            help="'win_back_days=N', 'activation_min_progress=PERCENT' or "
            "'power_user_min_score=SCORE'.",
        ),
    ] = None,
) -> None:
    """Change a tenant's settings; prints the whole configuration after the change."""
    import json

    from assistant.access.tenant_config import normalize_origin

    try:
        _check_tenant(tenant_id)
        configs = _services().tenant_configs
        current = configs.get(tenant_id)
        changes: dict[str, object] = {}
        if allowed_origin or remove_origin:
            try:
                removed = {normalize_origin(o) for o in remove_origin or []}
            except ValueError as exc:
                raise LearnloopError(ErrorCode.invalid_input, str(exc)) from None
            kept = [o for o in current.allowed_origins if o not in removed]
            changes["allowed_origins"] = kept + list(allowed_origin or [])
        if handoff_webhook is not None:
            changes["handoff_webhook"] = handoff_webhook
        if tip_spacing_days is not None:
            changes["tip_spacing_days"] = tip_spacing_days
        if tip_holdout_percent is not None:
            changes["tip_holdout_percent"] = tip_holdout_percent
        if track_event:
            mapping = dict(current.track_events)
            for item in track_event:
                name, sep, target = item.partition("=")
                if not sep or not name.strip() or not target.strip():
                    raise LearnloopError(
                        ErrorCode.invalid_input,
                        f"--track-event {item!r}: write 'Name=event_type' or "
                        "'Name=feature:<feature id>'",
                    )
                mapping[name.strip()] = target.strip()
            changes["track_events"] = mapping
        if launch_feature or remove_launch_feature or disable_play or enable_play \
                or play_threshold:
            changes["plays"] = _plays_changes(
                current.plays.model_dump(), launch_feature or [], remove_launch_feature or [],
                disable_play or [], enable_play or [], play_threshold or [],
            )
        config = configs.update(tenant_id, **changes) if changes else current
    except LearnloopError as exc:
        _fail(exc.message)
        return
    typer.echo(json.dumps(config.model_dump(), indent=2))


def _plays_changes(
    plays: dict[str, Any], launch: list[str], remove: list[str], disable: list[str],
    enable: list[str], thresholds: list[str],
) -> dict[str, Any]:
    """The tenant's plays settings with the flags applied (validated by ``TenantConfig``)."""
    from assistant.access.tenant_config import PLAY_NAMES, PlaysConfig

    launches = {f: p for f, p in plays["launch_features"].items() if f not in remove}
    for item in launch:
        feature, _, prerequisites = item.partition("=")
        launches[feature.strip()] = [p.strip() for p in prerequisites.split(",") if p.strip()]
    unknown = sorted(set(enable) - set(PLAY_NAMES))
    if unknown:
        raise LearnloopError(ErrorCode.invalid_input, f"--enable-play {', '.join(unknown)}: "
                             f"plays are {', '.join(PLAY_NAMES)}")
    disabled = [p for p in plays["disabled"] if p not in enable] + disable
    changed = {**plays, "launch_features": launches, "disabled": disabled}
    numbers = [name for name, f in PlaysConfig.model_fields.items() if f.annotation is int]
    for item in thresholds:
        name, _, value = item.partition("=")
        if name.strip() not in numbers or not value.strip().lstrip("-").isdigit():
            raise LearnloopError(ErrorCode.invalid_input, f"--play-threshold {item!r}: write "
                                 f"NAME=INTEGER with NAME one of {', '.join(numbers)}")
        changed[name.strip()] = int(value)
    return changed


@tenant_app.command("show")
def tenant_show(tenant_id: Annotated[str, typer.Argument(help="The tenant.")]) -> None:
    """A tenant's settings (defaults included)."""
    import json

    try:
        _check_tenant(tenant_id)
        config = _services().tenant_configs.get(tenant_id)
    except LearnloopError as exc:
        _fail(exc.message)
        return
    typer.echo(json.dumps(config.model_dump(), indent=2))


@key_app.command("create")
def key_create(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant the key belongs to.")],
    role: Annotated[str, typer.Option("--role", help="admin, agent, csm or ingest.")],
    label: Annotated[str, typer.Option(help="What the key is for.")] = "",
) -> None:
    """Create an API key and print it (once; only its hash is stored)."""
    try:
        key_id, key = _access().create_key(tenant, role, label)
    except LearnloopError as exc:
        _fail(exc.message)
        return
    typer.echo(f"key {key_id} ({role}) for tenant '{tenant}'; shown once:")
    typer.echo(key)


@key_app.command("list")
def key_list(
    tenant: Annotated[str, typer.Option("--tenant", help="Whose keys.")],
) -> None:
    """A tenant's keys (ids and roles, never the keys themselves)."""
    for key in _access().keys(tenant):
        state = f"revoked {key['revoked_at']}" if key["revoked_at"] else "active"
        typer.echo(f"{key['key_id']}\t{key['role']}\t{state}\t{key['label']}")


@key_app.command("revoke")
def key_revoke(key_id: Annotated[str, typer.Argument(help="The key id to revoke.")]) -> None:
    """Revoke a key; requests with it are refused from now on."""
    try:
        _access().revoke_key(key_id)
    except LearnloopError as exc:
        _fail(exc.message)
        return
    typer.echo(f"key {key_id} revoked")


@token_app.command("create")
def token_create(
    tenant: Annotated[str, typer.Option("--tenant", help="The user's tenant.")],
    user: Annotated[str, typer.Option("--user", help="User id in the host product.")],
    account: Annotated[str | None, typer.Option(help="The user's account (company).")] = None,
    role: Annotated[str | None, typer.Option(help="The user's role in the product.")] = None,
    locale: Annotated[str | None, typer.Option(help="The user's locale, e.g. es-ES.")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.", min=60)] = 3600,
) -> None:
    """Sign a user token with the tenant's secret, as the host product would (for trials)."""
    try:
        token = _access().issue_token(tenant, user, account, role, locale, ttl)
    except LearnloopError as exc:
        _fail(exc.message)
        return
    typer.echo(token)


@events_app.command("import")
def events_import(
    path: Annotated[Path, typer.Argument(help="Events as .jsonl or .csv.")],
    tenant: TenantOption = "default",
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Import product usage, tickets and account facts; bad rows are reported by line and the
    rest stored. Re-importing a file stores nothing twice (events are keyed by their id)."""
    from assistant.events.importer import import_events

    try:
        _check_tenant(tenant)
        report = import_events(_services().event_log, tenant, path)
    except LearnloopError as exc:
        _fail(exc.message)
        return
    if json_out:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        typer.echo(
            f"{report.accepted} events stored, {report.duplicates} already there, "
            f"{len(report.conflicts)} conflicting, {len(report.errors)} rejected"
        )
        problems = sorted(
            report.errors
            + [
                (line, f"id {event_id!r} was already used for a different event")
                for line, event_id in report.conflicts
            ]
        )
        for line, message in problems[:50]:
            typer.secho(f"  line {line}: {message}", fg=typer.colors.RED, err=True)
        if len(problems) > 50:
            typer.secho(f"  … and {len(problems) - 50} more", err=True)
    if report.errors or report.conflicts:
        raise typer.Exit(1)


# --- health ----------------------------------------------------------------------------------


@health_app.command("recompute")
def health_recompute(
    tenant: Annotated[str, typer.Option("--tenant", help="Whose accounts.")] = "default",
    days: Annotated[
        int,
        typer.Option("--days", min=1, max=366,
                     help="Snapshots for this many days up to today (backfill past days)."),
    ] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
) -> None:
    """Rescore every account of a tenant in one pass over its engagement log and store
    today's snapshots (run it daily, e.g. from cron; the API also does it lazily)."""
    import time

    try:
        _check_tenant(tenant)
        services = _services()
        started = time.perf_counter()
        healths = services.health.backfill(tenant, services.clock(), days)
        elapsed = time.perf_counter() - started
    except LearnloopError as exc:
        _fail(exc.message)
        return
    if json_out:
        typer.echo(json.dumps([h.as_dict() for h in healths], indent=2, ensure_ascii=False))
        return
    bands = {band: sum(h.band == band for h in healths) for band in ("red", "yellow", "green")}
    typer.echo(
        f"{len(healths)} accounts scored in {elapsed:.1f} s ({days} day(s) of snapshots): "
        f"{bands['red']} red, {bands['yellow']} yellow, {bands['green']} green"
    )
    for h in sorted(healths, key=lambda h: (h.score, h.account_id))[:10]:
        codes = ", ".join(s.code for s in h.signals) or "-"
        typer.echo(f"  {h.score:3d} {h.band:6s} {h.account_id}\t{h.segment}\t{codes}")


@demo_app.command("seed")
def demo_seed(
    kb: Annotated[str, typer.Option("--kb", help="Knowledge base the questions go to.")] = (
        "sample"
    ),
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Fill the data directory in use with 120 days of synthetic accounts, users, product
    usage and questions asked through the real chat service (default tenant), and score
    their health for each of those days."""
    from assistant.cli.demo import seed_demo

    try:
        _check_tenant("default")
        services = _services()
        # Questions are asked as their users, without next steps (nothing reads them).
        report = seed_demo(replace(services.chat, learning=None), kb, services.clock(),
                           configs=services.tenant_configs)
        if report.events:  # score each of the 120 days as it was, so trends have a history
            services.health.backfill("default", services.clock(), days=120)
    except LearnloopError as exc:
        _fail(exc.message)
        return
    if json_out:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        typer.echo(
            f"{report.accounts} accounts, {report.users} users: {report.events} events stored "
            f"({report.duplicates} already there), {report.questions} questions asked"
        )


def _write_json(path: Path | None, report: dict[str, Any]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
