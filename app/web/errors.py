"""The errors the dashboard answers with a page of its own (see `app.web.install`)."""

from __future__ import annotations


class WebError(Exception):
    """Answered with the friendly error page."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.message = message


class LoginRequired(Exception):
    """Answered with a redirect to the sign-in page, which returns to `next_path`."""

    def __init__(self, next_path: str) -> None:
        super().__init__("login required")
        self.next_path = next_path


def not_found(what: str = "page") -> WebError:
    return WebError(404, "Not found", f"There is no such {what}, or it is not yours to see.")


def admin_only() -> WebError:
    return WebError(403, "Admins only", "Only the practice admin can see or change this.")
