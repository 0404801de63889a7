"""The one error type of the server's domain code; the app turns it into a Problem answer."""

from __future__ import annotations

from typing import Any

from fieldpass.sync.messages import PROBLEM_STATUS


class ApiError(Exception):
    """A refusal with a machine-readable ``code`` (see PROBLEM_STATUS) and a clear message."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        expected_seq: int | None = None,
        seq: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or PROBLEM_STATUS.get(code, 400)
        self.expected_seq = expected_seq
        self.seq = seq
        self.extra = extra or {}
        self.headers = headers or {}  # e.g. Retry-After on a 429

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "expected_seq": self.expected_seq,
            "seq": self.seq,
            **self.extra,
        }


def not_found(what: str) -> ApiError:
    return ApiError("not_found", f"{what} not found")
