"""Domain errors. The shell maps each one to a 4xx response with its `code`."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a request the domain refuses. Never a bug."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class InvalidTransition(DomainError):
    code = "invalid_transition"


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    code = "conflict"


class DuplicateExternalId(Conflict):
    code = "duplicate_external_id"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class InvalidInput(DomainError):
    code = "invalid_input"


class Unavailable(DomainError):
    """Cannot be served now, for a reason an operator can fix (a missing setting):
    the caller should retry later."""

    code = "unavailable"
