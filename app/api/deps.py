"""What every admin API route needs: the line, a database session, and the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.auth import user_for_token
from app.context import Line
from app.models import User

bearer = HTTPBearer(auto_error=False, description="An API token from `coachline create-user`")


def get_line(request: Request) -> Line:
    return request.app.state.line


def get_session(line: Annotated[Line, Depends(get_line)]) -> Iterator[Session]:
    """A session per request; a route commits its own unit of work, anything else rolls back."""
    with line.sessions() as session:
        yield session


def current_user(
    session: Annotated[Session, Depends(get_session)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    user = user_for_token(session, credentials.credentials) if credentials else None
    if user is None:
        raise HTTPException(
            status_code=401,
            detail="missing or unknown API token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


def require_admin(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role != "admin":
        raise HTTPException(status_code=403, detail="admin only")
    return user


LineDep = Annotated[Line, Depends(get_line)]
SessionDep = Annotated[Session, Depends(get_session)]
UserDep = Annotated[User, Depends(current_user)]
AdminDep = Annotated[User, Depends(require_admin)]
