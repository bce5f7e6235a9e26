"""One error type for the whole service.

LearnloopError(code, message)      base: a code from ErrorCode, mapped to an HTTP status
├── raised by services (retrieval, ingestion, evals) for bad input or missing things
└── turned into JSON by the app's single handler, and into a message + exit code by the CLI
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ErrorCode", "LearnloopError"]


class ErrorCode(StrEnum):
    invalid_input = "invalid_input"
    kb_not_found = "kb_not_found"
    not_found = "not_found"
    payload_too_large = "payload_too_large"
    locked = "locked"
    unauthorized = "unauthorized"
    forbidden = "forbidden"
    conflict = "conflict"
    rate_limited = "rate_limited"

    @property
    def http_status(self) -> int:
        return {
            ErrorCode.invalid_input: 422,
            ErrorCode.kb_not_found: 404,
            ErrorCode.not_found: 404,
            ErrorCode.payload_too_large: 413,
            ErrorCode.locked: 409,
            ErrorCode.unauthorized: 401,
            ErrorCode.forbidden: 403,
            ErrorCode.conflict: 409,
            ErrorCode.rate_limited: 429,
        }[self]


class LearnloopError(Exception):
    def __init__(self, code: ErrorCode, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after  # seconds, sent as Retry-After (rate limits)

    def headers(self) -> dict[str, str] | None:
        """The HTTP headers this error is answered with."""
        if self.code == ErrorCode.unauthorized:
            return {"www-authenticate": "Bearer"}
        if self.retry_after is not None:
            return {"retry-after": str(self.retry_after)}
        return None

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}
