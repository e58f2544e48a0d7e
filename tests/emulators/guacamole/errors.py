"""Guacamole-shaped REST errors.

Every error the real web app returns is a JSON body produced from a
GuacamoleException (see ``org.apache.guacamole.rest.APIError``). Messages that
have no translation string are wrapped in the generic ``APP.TEXT_UNTRANSLATED``
key, exactly as the real server does.
"""
from __future__ import annotations

from typing import Any

UNTRANSLATED_KEY = "APP.TEXT_UNTRANSLATED"

USERNAME_PASSWORD_FIELDS = [
    {"name": "username", "type": "USERNAME"},
    {"name": "password", "type": "PASSWORD"},
]


class GuacError(Exception):
    """An error answered as ``status`` with the standard Guacamole error body."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        key: str | None = None,
        variables: dict[str, Any] | None = None,
        expected: list[dict[str, Any]] | None = None,
        patches: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.key = key
        self.variables = variables
        self.expected = expected
        self.patches = patches
        self.headers = headers or {}
        self.unchecked = False

    def body(self) -> dict[str, Any]:
        if self.key is None:
            translatable = {"key": UNTRANSLATED_KEY, "variables": {"MESSAGE": self.message}}
        else:
            translatable = {"key": self.key, "variables": self.variables}
        return {
            "message": self.message,
            "translatableMessage": translatable,
            "statusCode": None,
            "expected": self.expected,
            "patches": self.patches,
            "type": self.error_type,
        }


class JacksonError(GuacError):
    """A body Jackson could not read: Jersey's JacksonFeature (2.x) registers JsonParseExceptionMapper and
    JsonMappingExceptionMapper, more specific than guacamole's RESTExceptionMapper<Throwable>, and they answer 400
    with the exception's message as text/plain, not a Guacamole error body. Nothing of Guacamole runs."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "BAD_REQUEST", message)


def jackson_error(message: str) -> JacksonError:
    return JacksonError(message)


def bad_request(message: str, **kwargs: Any) -> GuacError:
    return GuacError(400, "BAD_REQUEST", message, **kwargs)


def permission_denied(message: str = "Permission denied.") -> GuacError:
    return GuacError(403, "PERMISSION_DENIED", message)


def not_found(message: str) -> GuacError:
    return GuacError(404, "NOT_FOUND", message)


def object_not_found(identifier: str) -> GuacError:
    return not_found(f'Not found: "{identifier}"')


def internal_error(message: str = "Unexpected internal error") -> GuacError:
    """An unchecked exception (NullPointerException, a database error, an unknown enum constant): no
    GuacamoleException, so RESTExceptionMapper wraps it in "Unexpected internal error", 500. The 1.6 atomic
    directory PATCH cannot turn one into a patch outcome (DirectoryResource.createPatchFailure returns null):
    the whole request fails with it."""
    error = GuacError(500, "INTERNAL_ERROR", message)
    error.unchecked = True
    return error


def unsupported(message: str) -> GuacError:
    # GuacamoleUnsupportedException: a server-side exception mapped to HTTP 501.
    return GuacError(501, "INTERNAL_ERROR", message)


def method_not_allowed(allowed: list[str]) -> GuacError:
    return GuacError(405, "BAD_REQUEST", "Method Not Allowed",
                     headers={"Allow": ", ".join(sorted(allowed))})


def invalid_credentials() -> GuacError:
    """JDBCAuthenticationProviderService.authenticateUser / getUserContext (unknown user, wrong password, disabled
    account): GuacamoleInvalidCredentialsException("Invalid login", USERNAME_PASSWORD), not Translatable, so
    APIError wraps its message in APP.TEXT_UNTRANSLATED (the web page's own LOGIN.ERROR_INVALID_LOGIN comes from the
    error type, not from the server)."""
    return GuacError(403, "INVALID_CREDENTIALS", "Invalid login", expected=list(USERNAME_PASSWORD_FIELDS))


def insufficient_credentials(message: str, key: str, expected: list[dict[str, Any]]) -> GuacError:
    return GuacError(403, "INSUFFICIENT_CREDENTIALS", message, key=key, expected=expected)


def translated_bad_request(message: str, key: str) -> GuacError:
    return GuacError(400, "BAD_REQUEST", message, key=key)


def error_for_status(status: int) -> GuacError:
    """A plausible Guacamole error for an injected fault with this HTTP status."""
    if status == 404:
        return not_found("Injected fault: not found")
    if status in (401, 403):
        return GuacError(status, "PERMISSION_DENIED", "Permission Denied.")
    if 400 <= status < 500:
        return GuacError(status, "BAD_REQUEST", "Injected fault: bad request")
    return GuacError(status, "INTERNAL_ERROR", "Unexpected internal error")
