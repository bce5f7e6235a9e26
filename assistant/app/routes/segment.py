"""The Segment-compatible tracking API: ``POST /v1/batch``, ``/v1/track``, ``/v1/identify``,
``/v1/group`` (and ``/v1/page``, ``/v1/screen``, ``/v1/alias``, which are skipped).

Segment's libraries send the write key as the HTTP Basic user name with an empty password;
here the write key is a Learnloop API key of role ``ingest`` or ``admin``. The mapping onto
the engagement log is ``assistant.events.segment``.

Answers, chosen for the official clients (they retry 429 and 5xx, drop other 4xx):

    200 {"success": true, …}   every message stored, already stored, or skipped on purpose
    400 {"success": false, …}  some messages are wrong: each is named by index and message;
                               the valid ones ARE stored. A retry cannot fix a bad message,
                               so a 4xx stops the client retrying; a retry would be harmless
                               anyway, since stored messages are idempotent by messageId.
    400 / 413                  the request as a whole is unreadable or too large; nothing stored
    401 / 403                  no valid write key / a key whose role may not send events
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from assistant.access.registry import Caller, is_learnloop_credential
from assistant.access.tenant_config import TenantConfigs
from assistant.app.deps import (
    DEV_ADMIN,
    EventLogDep,
    NowDep,
    SettingsDep,
    TenantConfigsDep,
    get_services,
)
from assistant.errors import ErrorCode, LearnloopError
from assistant.events.log import EventLog
from assistant.events.segment import MAX_BATCH_BYTES, MESSAGE_TYPES, Outcome, map_messages
from assistant.services import Services

__all__ = ["router", "segment_caller"]

router = APIRouter(prefix="/v1", tags=["segment"])


def segment_caller(
    request: Request, services: Annotated[Services, Depends(get_services)]
) -> Caller:
    """The caller a Segment write key stands for: ``Authorization: Basic base64(key + ":")``
    (``Bearer <key>`` is taken too). Only ``ingest`` and ``admin`` keys may write; the
    request is spent from the key's budget like any other."""
    header = request.headers.get("authorization")
    if header is None:
        if services.settings.dev_mode:
            return DEV_ADMIN
        raise LearnloopError(
            ErrorCode.unauthorized,
            "missing write key: send a Learnloop ingest key as the HTTP Basic user name "
            "(the Segment libraries do this with write_key=<key>)",
        )
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credential, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise LearnloopError(
                ErrorCode.unauthorized, "the Basic credentials are not base64 of 'key:'"
            ) from None
        credential = decoded.partition(":")[0].strip()  # the password is unused, as in Segment
    elif scheme.lower() != "bearer":
        raise LearnloopError(
            ErrorCode.unauthorized, "the Authorization header must be 'Basic base64(key:)'"
        )
    # As for Bearer credentials (``get_caller``): dev mode takes any write key that is not a
    # Learnloop credential (``write_key="dev"``) as the default tenant's admin.
    if services.settings.dev_mode and not is_learnloop_credential(credential):
        return DEV_ADMIN
    if not credential:
        raise LearnloopError(
            ErrorCode.unauthorized, "the write key (the Basic user name) is empty"
        )
    caller = services.access.authenticate(credential)
    caller.require("ingest", "admin")
    services.rate_limiter.spend(caller)
    return caller


SegmentCallerDep = Annotated[Caller, Depends(segment_caller)]


@router.post("/batch")
async def batch(
    request: Request,
    caller: SegmentCallerDep,
    events_log: EventLogDep,
    configs: TenantConfigsDep,
    settings: SettingsDep,
    now: NowDep,
) -> JSONResponse:
    """Segment's batch call: ``{"batch": [messages], "sentAt": …}``. Valid messages are
    stored even when others are refused; each refused one is named by its index."""
    try:
        body = await _json_body(request)
    except _Refusal as exc:
        return _refused(exc.status, str(exc))
    messages = body.get("batch")
    if not isinstance(messages, list) or not messages:
        return _refused(400, "'batch' must be a non-empty list of Segment messages")
    if len(messages) > settings.max_event_batch:
        return _refused(
            400, f"the batch has {len(messages)} messages; the limit is {settings.max_event_batch}"
        )
    # Segment's batch call may carry context for every message (each message's own wins).
    shared = body.get("context")
    if isinstance(shared, dict):
        messages = [
            {**m, "context": {**shared, **(m.get("context") or {})}}
            if isinstance(m, dict) and isinstance(m.get("context", {}), dict) else m
            for m in messages
        ]
    return await _store(caller, messages, body.get("sentAt"), events_log, configs, now)


def _single(kind: str) -> Callable[..., Awaitable[JSONResponse]]:
    async def single(
        request: Request,
        caller: SegmentCallerDep,
        events_log: EventLogDep,
        configs: TenantConfigsDep,
        now: NowDep,
    ) -> JSONResponse:
        try:
            message = await _json_body(request)
        except _Refusal as exc:
            return _refused(exc.status, str(exc))
        if message.get("type") is None:
            message["type"] = kind
        if message["type"] != kind:
            return _refused(400, f"this is /v1/{kind}; the message says type {message['type']!r}")
        return await _store(caller, [message], None, events_log, configs, now)

    single.__name__ = f"segment_{kind}"
    single.__doc__ = f"Segment's {kind} call: one message (see /v1/batch for the answers)."
    return single


for _kind in MESSAGE_TYPES:
    router.add_api_route(f"/{_kind}", _single(_kind), methods=["POST"])


async def _store(
    caller: Caller,
    messages: list[Any],
    sent_at: object,
    events_log: EventLog,
    configs: TenantConfigs,
    now: datetime,
) -> JSONResponse:
    tenant = caller.tenant

    def map_and_append() -> tuple[list[Outcome], int, int]:
        mapping = configs.get(tenant).track_events
        outcomes = map_messages(
            messages, mapping, lambda user: events_log.joined_account(tenant, user), now, sent_at
        )
        events = [o.event for o in outcomes if o.event is not None]
        appended = events_log.append(tenant, events)
        # A messageId seen before under different content (a retry whose time Segment's
        # rules derive from the receipt time) keeps its first copy, as Segment dedups.
        return outcomes, appended.accepted, appended.duplicates + len(appended.conflicts)

    outcomes, stored, duplicates = await run_in_threadpool(map_and_append)
    errors = [{"index": o.index, "message": o.error} for o in outcomes if o.error]
    skipped = [{"index": o.index, "reason": o.skipped} for o in outcomes if o.skipped]
    report = {"stored": stored, "duplicates": duplicates, "skipped": skipped, "errors": errors}
    if not errors:
        return JSONResponse({"success": True, **report})
    refused = (
        f"{len(errors)} of {len(messages)} messages refused (the others were handled)"
        if len(errors) < len(messages)
        else f"all {len(messages)} messages refused" if len(messages) > 1
        else "the message was refused"
    )
    return _refused(
        400,
        f"{refused}: "
        + "; ".join(f"[{e['index']}] {e['message']}" for e in errors[:5])
        + (" …" if len(errors) > 5 else ""),
        **report,
    )


async def _json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, gunzipped when the client compressed it (the Segment
    libraries can), refused whole when it is over Segment's batch limit or unreadable."""
    raw = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            # Inflate at most one byte past the limit: a small bomb cannot fill memory.
            raw = inflater.decompress(raw, MAX_BATCH_BYTES + 1)
        except zlib.error:
            raise _Refusal(400, "the body is marked gzip but is not gzip data") from None
    if len(raw) > MAX_BATCH_BYTES:
        raise _Refusal(
            413, f"the request is over {MAX_BATCH_BYTES} bytes (Segment's batch limit): send "
            "smaller batches"
        )
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Refusal(400, f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _Refusal(400, "the body must be a JSON object")
    return body


class _Refusal(ValueError):
    """A whole request refused before any message is looked at (answered by ``_refused``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _refused(status: int, message: str, **extra: Any) -> JSONResponse:
    """Segment's clients read ``code`` and ``message`` at the top level; Learnloop's own
    clients read ``error``. Both are given."""
    code = "payload_too_large" if status == 413 else "invalid_input"
    return JSONResponse(
        {"success": False, "code": code, "message": message,
         "error": {"code": code, "message": message}, **extra},
        status_code=status,
    )
