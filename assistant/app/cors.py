"""CORS for the embedded widget: which page origins may read the API's answers.

``get_caller`` decides each credentialed call from another origin (``OriginPolicy.check``)
and records the decision in the request's state; this middleware turns it into headers.
Preflights carry no credentials, so they are answered for any origin some tenant allows
(``OriginPolicy.may_preflight``). An answer that was refused for its origin carries no CORS
headers, so the page cannot read it; an answer given before any decision (an expired or bad
token, an unknown route) carries them when the origin could be allowed, so the widget can
tell its user the session expired instead of failing blindly.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.access.origins import OriginPolicy

__all__ = ["BrowserOrigins", "cross_origin"]

_ALLOW_METHODS = "GET, POST, OPTIONS"
_ALLOW_HEADERS = "authorization, content-type"
# Chromium caps a cached preflight at 2 hours; 10 minutes keeps a config change visible soon.
_PREFLIGHT_MAX_AGE = "600"
_UNDECIDED = object()


def cross_origin(scope: Scope) -> str | None:
    """The request's ``Origin`` when the page is on another origin than this server: the
    browser says so itself (``Sec-Fetch-Site``, which page scripts cannot set), or else the
    Origin's host and port differ from those the request was addressed to (behind a TLS
    proxy the scheme is not ours to see)."""
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin is None or headers.get("sec-fetch-site") == "same-origin":
        return None
    host = headers.get("host", "")
    if origin.partition("://")[2].lower() == host.lower():
        return None
    return origin


class BrowserOrigins:
    def __init__(self, app: ASGIApp, policy: Callable[[], OriginPolicy]) -> None:
        self.app = app
        # Read per request: the policy's stores are built with the app's parts, after this.
        self._policy = policy

    @property
    def policy(self) -> OriginPolicy:
        return self._policy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = cross_origin(scope) if scope["type"] == "http" else None
        if origin is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin)(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                decided = state.get("cors_origin", _UNDECIDED)
                if decided == origin or (
                    decided is _UNDECIDED and self.policy.may_preflight(origin)
                ):
                    response_headers = MutableHeaders(scope=message)
                    response_headers["access-control-allow-origin"] = origin
                    response_headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight(self, origin: str) -> Response:
        if not self.policy.may_preflight(origin):
            return Response(status_code=403, headers={"vary": "Origin"})
        return Response(
            status_code=204,
            headers={
                "access-control-allow-origin": origin,
                "access-control-allow-methods": _ALLOW_METHODS,
                "access-control-allow-headers": _ALLOW_HEADERS,
                "access-control-max-age": _PREFLIGHT_MAX_AGE,
                "vary": "Origin",
            },
        )
