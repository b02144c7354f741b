"""Web-only errors, turned into pages by the handlers in `moderation.web.app`."""

from __future__ import annotations


class WebError(Exception):
    """Base for errors that end a request with a rendered page."""

    status_code = 400
    title = "Bad request"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.title)


class LoginRequired(WebError):
    """No valid session: the handler redirects to the login page."""

    status_code = 303


class CsrfFailed(WebError):
    """A form arrived without this session's CSRF token."""

    status_code = 403
    title = "Form expired"

    def __init__(self) -> None:
        super().__init__("This form expired or came from another site. Reload the page and try again.")
