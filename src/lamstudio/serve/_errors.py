"""Errors the API answers with, in OpenAI's shape."""

from __future__ import annotations

from typing import Any

from lamstudio.io import JsonValueError


class ApiError(Exception):
    """An error response: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.param, self.code, self.headers = param, code, headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}


def bad_request(message: str, param: str | None = None,
                code: str | None = "invalid_value") -> ApiError:
    """A 400; ``code`` says why (``invalid_value`` unless a more precise reason applies)."""
    return ApiError(400, message, param=param, code=code)


def json_error(exc: JsonValueError, what: str, param: str | None) -> ApiError:
    """A 400 for outside JSON that ``lamstudio.io.parse_json`` refused, with its reason
    code (``bad_json`` is called ``invalid_json`` here, the API's name for it)."""
    code = "invalid_json" if exc.code == "bad_json" else exc.code
    return bad_request(f"{what}: {exc.message}", param=param, code=code)


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages that quote a client."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
