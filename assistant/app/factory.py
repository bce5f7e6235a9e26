"""The HTTP API: ``create_app(settings)`` builds the heavy parts once in the lifespan.

Routers are thin: parse, call a service, return a schema. Every ``LearnloopError`` becomes
``{"error": {"code", "message"}}`` with the code's HTTP status; request bodies over the size
limit are refused before they are read into memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.access.origins import is_loopback_name
from assistant.answering.factory import check_answerer_settings
from assistant.app.cors import BrowserOrigins
from assistant.app.routes.chat import router as chat_router
from assistant.app.routes.copilot import router as copilot_router
from assistant.app.routes.events import router as events_router
from assistant.app.routes.health import router as health_router
from assistant.app.routes.insights import router as insights_router
from assistant.app.routes.learning import router as learning_router
from assistant.app.routes.openai import router as openai_router
from assistant.app.routes.search import router as search_router
from assistant.app.routes.segment import router as segment_router
from assistant.app.routes.tips import router as tips_router
from assistant.bundled import WEB_DIR
from assistant.clock import Clock, utc_now
from assistant.errors import ErrorCode, LearnloopError
from assistant.knowledge.base import Knowledge
from assistant.services import Services
from assistant.settings import Settings

__all__ = ["app_from_environment", "create_app"]

_CHAT_PAGE = WEB_DIR / "chat.html"
_DASHBOARD_PAGE = WEB_DIR / "dashboard.html"
_WIDGET_SCRIPT = WEB_DIR / "widget.js"


def create_app(
    settings: Settings | None = None,
    knowledge: Knowledge | None = None,
    clock: Clock = utc_now,
) -> FastAPI:
    """The app over one ``Services`` (the composition root). ``knowledge`` lets tests share
    loaded models; ``clock`` is what every request's "now" comes from."""
    settings = settings or Settings()
    check_answerer_settings(settings)  # an LLM answerer without an endpoint fails here, not later
    services = Services(settings, knowledge=knowledge, clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Build every part and load the models before /healthz says ready.
        services.warm_up()
        app.state.ready = True
        yield
        services.close()

    app = FastAPI(
        title="Learnloop",
        version="0.1.0",
        description="Cited answers from your help center, and the learning loop around them.",
        lifespan=lifespan,
    )
    app.state.ready = False
    app.state.services = services

    @app.exception_handler(LearnloopError)
    async def on_error(_: Request, exc: LearnloopError) -> JSONResponse:
        return JSONResponse(
            {"error": exc.to_dict()}, status_code=exc.code.http_status, headers=exc.headers()
        )

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
        message = "invalid request: " + "; ".join(problems)
        return JSONResponse(
            {
                "error": {
                    "code": ErrorCode.invalid_input.value,
                    "message": message,
                    "details": _plain(exc.errors()),
                }
            },
            status_code=422,
        )

    @app.get("/healthz", tags=["ops"])
    async def healthz(request: Request) -> JSONResponse:
        if not request.app.state.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ok"})

    app.include_router(search_router)
    app.include_router(chat_router)
    app.include_router(events_router)
    app.include_router(insights_router)
    app.include_router(openai_router)
    app.include_router(health_router)
    app.include_router(learning_router)
    app.include_router(tips_router)
    app.include_router(segment_router)
    app.include_router(copilot_router)

    @app.get("/", include_in_schema=False)
    async def chat_page() -> HTMLResponse:
        """A minimal page to try the chat against the running knowledge bases."""
        return HTMLResponse(_CHAT_PAGE.read_text(encoding="utf-8"))

    @app.get("/dashboard", include_in_schema=False)
    async def dashboard_page() -> HTMLResponse:
        """The CSM dashboard: a static page that reads the health, events, learning and
        insights API with the caller's key (none needed in dev mode)."""
        return HTMLResponse(_DASHBOARD_PAGE.read_text(encoding="utf-8"))

    @app.get("/widget.js", include_in_schema=False)
    async def widget_script() -> Response:
        """The embeddable widget (README "Embed the widget"): one script a host product's
        pages load with their user's token."""
        return Response(
            _WIDGET_SCRIPT.read_bytes(),
            media_type="text/javascript; charset=utf-8",
            headers={"cache-control": "public, max-age=300"},
        )

    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    app.add_middleware(BrowserOrigins, policy=lambda: services.origin_policy)
    if settings.dev_mode:
        app.add_middleware(LoopbackHostOnly)
    return app


def app_from_environment() -> FastAPI:
    """The app over settings read from the environment: what each worker process of
    ``learnloop serve --workers N`` builds for itself."""
    return create_app(Settings())


class LoopbackHostOnly:
    """Dev mode answers only requests addressed to a loopback name. Without credentials it
    acts as an admin, so a web page whose domain re-resolves to 127.0.0.1 (DNS rebinding)
    must not be able to read it: that page's requests carry its own domain in ``Host``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope.get("headers") or []).get(b"host")
            name = _host_name(host.decode("latin-1")) if host is not None else None
            if name is not None and not is_loopback_name(name):
                error = LearnloopError(
                    ErrorCode.forbidden,
                    f"dev mode answers only requests addressed to localhost, 127.0.0.1 or "
                    f"[::1]; this one is addressed to {name!r}",
                )
                response = JSONResponse({"error": error.to_dict()}, status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _host_name(host: str) -> str:
    """The name in a Host header, without its port: 'localhost:8000' → 'localhost',
    '[::1]:8000' → '::1'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if ":" in host else host


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes, declared or streamed (chunked) alike,
    before the app reads them into memory."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send, int(declared))
            return
        # No declared length (chunked): buffer up to the limit, then replay to the app.
        buffered: list[Message] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(scope, receive, send, size)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: int) -> None:
        error = LearnloopError(
            ErrorCode.payload_too_large,
            f"request body is at least {size} bytes; the limit is {self.limit} bytes",
        )
        response = JSONResponse({"error": error.to_dict()}, status_code=413)
        await response(scope, receive, send)


def _plain(errors: Any) -> list[dict[str, Any]]:
    """Validation details made JSON-safe: no raw input echoed back, locations as lists."""
    return [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in errors
    ]
