"""The page context: what every dashboard page needs.

A page is a plain FastAPI route taking `PageDep` (or `AdminPageDep`): the line, a database
session, the signed-in user, and `render`/`redirect`/`flash`. A form handler also takes `Form`
(`app.web.forms`), whose CSRF token has been checked. A stranger is sent to sign in. The
session behind it is the server's (`app.web.session`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from app.deps import LineDep, SessionDep
from app.line import Line
from app.models import PracticeSetting, User
from app.web.errors import LoginRequired, admin_only
from app.web.flash import flash
from app.web.guard import signed_in_user
from app.web.render import render
from app.web.session import DashboardSessionDep
from app.web.times import Fmt


@dataclass
class Page:
    request: Request
    line: Line
    db: Session
    user: User
    now: datetime

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    @property
    def therapist_id(self) -> int | None:
        return self.user.therapist_id

    @property
    def actor(self) -> str:
        """How the audit log names the signed-in user (as the API does)."""
        return self.user.email

    @property
    def tz(self) -> tzinfo:
        return self.line.settings.tz

    @property
    def fmt(self) -> Fmt:
        return Fmt(self.tz, self.now)

    def can_manage_therapist(self, therapist_id: int) -> bool:
        """Their own away and hours for a therapist; anyone's for an admin."""
        return self.is_admin or self.therapist_id == therapist_id

    def flash(self, message: str, kind: str = "ok") -> None:
        flash(self.request, message, kind)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template, status, user=self.user, fmt=self.fmt, **context)

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)


def page(
    request: Request, line: LineDep, session: SessionDep, _session: DashboardSessionDep
) -> Page:
    user = signed_in_user(request, session)
    if user is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(back if request.method == "GET" else "/")
    # The header shows the practice's name as the dashboard has set it (read afresh: the call
    # flow may keep a cached copy for a moment).
    stored = session.get(PracticeSetting, "practice_name")
    name = stored.value if stored is not None and isinstance(stored.value, str) else None
    request.scope["coachline.practice_name"] = name or line.settings.practice_name
    return Page(request=request, line=line, db=session, user=user, now=line.now())


def admin_page(ctx: Annotated[Page, Depends(page)]) -> Page:
    if not ctx.is_admin:
        raise admin_only()
    return ctx


PageDep = Annotated[Page, Depends(page)]
AdminPageDep = Annotated[Page, Depends(admin_page)]
