"""Domain errors: a stable code, a Chinese and an English message, the rule they come from.

One exception handler (in :mod:`trading.app`) turns them, and the framework's own client errors, into the
same JSON shape (or an HTML page for the portal). Messages never carry secrets.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every refusal the platform explains to a person."""

    status_code: ClassVar[int] = 400
    code: str = "bad_request"

    def __init__(
        self,
        message_zh: str,
        message_en: str,
        *,
        code: str | None = None,
        rule: str | None = None,
        details: dict[str, Any] | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en
        if code is not None:
            self.code = code
        self.rule = rule
        self.details = details or {}
        if status_code is not None:
            self.status_code = status_code  # type: ignore[misc]
        #: Response headers the refusal needs (Retry-After on a 429).
        self.headers = headers or {}

    @property
    def message(self) -> str:
        return f"{self.message_zh} / {self.message_en}"

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }
        if self.rule:
            body["rule"] = self.rule
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(DomainError):
    status_code = 400
    code = "invalid_input"


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"

    def __init__(self) -> None:
        super().__init__("请先登录", "Please sign in first")


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class RuleViolation(DomainError):
    """A statutory period or a procedure rule refuses the act; the message names the rule."""

    status_code = 422
    code = "rule_violation"


class TooManyRequests(DomainError):
    """Refused for now; ``retry_after`` seconds from now it may work (sent as Retry-After)."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message_zh: str, message_en: str, *, retry_after: int, **kwargs: Any) -> None:
        retry_after = max(1, int(retry_after))
        details = {"retry_after_seconds": retry_after, **(kwargs.pop("details", None) or {})}
        super().__init__(message_zh, message_en, details=details, headers={"Retry-After": str(retry_after)}, **kwargs)


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class ServiceUnavailable(DomainError):
    """A part the platform depends on (the database, the blob store) is not answering: nothing was done that a
    retry could not repeat, and the client may try again after ``retry_after`` seconds (sent as Retry-After)."""

    status_code = 503
    code = "service_unavailable"

    def __init__(self, message_zh: str, message_en: str, *, retry_after: int = 5, **kwargs: Any) -> None:
        retry_after = max(1, int(retry_after))
        details = {"retry_after_seconds": retry_after, **(kwargs.pop("details", None) or {})}
        super().__init__(message_zh, message_en, details=details, headers={"Retry-After": str(retry_after)}, **kwargs)


class InsufficientStorage(DomainError):
    """The blob store has no room for what was sent: nothing of it was kept."""

    status_code = 507
    code = "insufficient_storage"
