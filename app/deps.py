"""The one way to the database: a session per request (full-stack-fastapi-template's
`SessionDep`), for the admin API and the dashboard alike."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.line import Line


def get_line(request: Request) -> Line:
    return request.app.state.line


def get_session(line: Annotated[Line, Depends(get_line)]) -> Iterator[Session]:
    """A session per request; a route commits its own unit of work, anything else rolls back."""
    with line.sessions() as session:
        yield session


LineDep = Annotated[Line, Depends(get_line)]
SessionDep = Annotated[Session, Depends(get_session)]
