"""What every admin API route needs: the line, a database session, and the caller."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import pydantic_core
from fastapi import Depends, HTTPException, Path, Query, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clients
from app.api.schemas import MAX_ID, BadInput, Refusal
from app.deps import LineDep, SessionDep, get_line, get_session  # noqa: F401  (re-exported)
from app.domain import Conflict, Invalid, NotFound
from app.models import Client, User
from app.users import user_for_token

bearer = HTTPBearer(
    auto_error=False,
    description="An API token: `coachline create-user EMAIL --role admin` prints one "
    "(`coachline new-token EMAIL` makes another).",
)


class UnicodeJSONRequest(Request):
    """A request whose JSON body must be Unicode text throughout.

    JSON may escape half of a UTF-16 surrogate pair ("\\ud800"). Python's json module turns it
    into a str that neither database can store and no response can echo back, so pydantic's
    parser reads the body instead: it refuses that, nesting deeper than 200 and numbers longer
    than 4300 digits, and FastAPI answers each like any other malformed JSON, with a 422.
    """

    async def json(self) -> Any:
        body = await self.body()
        try:
            return pydantic_core.from_json(body)
        except ValueError as exc:
            raise json.JSONDecodeError(str(exc), body.decode(errors="replace"), 0) from None


class ApiRoute(APIRoute):
    """Every admin API route: its JSON body is read by `UnicodeJSONRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def unicode_json(request: Request) -> Response:
            return await handler(UnicodeJSONRequest(request.scope, request.receive))

        return unicode_json


def current_user(
    session: Annotated[Session, Depends(get_session)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    user = user_for_token(session, credentials.credentials) if credentials else None
    if user is None:
        raise HTTPException(
            status_code=401,
            detail="This needs an API token the line knows, sent as "
            "“Authorization: Bearer <token>”.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


def require_admin(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role != "admin":
        raise HTTPException(status_code=403, detail="Only an admin may do this.")
    return user


UserDep = Annotated[User, Depends(current_user)]
AdminDep = Annotated[User, Depends(require_admin)]


def domain_errors() -> Iterator[None]:
    """Turn the records' refusals into HTTP answers (a router-wide dependency).

    An IntegrityError is the database catching what a check above missed (two requests racing
    for one phone number): a conflict, not a server error.
    """
    try:
        yield
    except NotFound as exc:
        raise HTTPException(status_code=404, detail=exc.message) from exc
    except Conflict as exc:
        raise HTTPException(status_code=409, detail=exc.message) from exc
    except Invalid as exc:
        raise HTTPException(status_code=422, detail=exc.message) from exc
    except IntegrityError as exc:
        raise HTTPException(
            status_code=409,
            detail="That conflicts with a record saved at the same moment (the same phone "
            "number, perhaps). Look again, and try again.",
        ) from exc


# What the API answers when it refuses a request, for the OpenAPI document.
REFUSALS: dict[int, dict[str, Any]] = {
    401: {"model": Refusal, "description": "No API token, or one the line does not know"},
    403: {"model": Refusal, "description": "Only an admin (or the therapist themself) may"},
    404: {"model": Refusal, "description": "No such record, or not one the caller may see"},
    409: {"model": Refusal, "description": "Conflicts with an existing record"},
    422: {
        "model": BadInput,
        "description": "A value the records refuse, or input that cannot be read",
    },
}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented refusals of a route, beyond the 401 and 422 every route may give."""
    return {code: REFUSALS[code] for code in codes}


def actor(user: User) -> str:
    """How the audit log names the caller."""
    return user.email


def is_admin(user: User) -> bool:
    return user.role == "admin"


def visible_client(session: Session, user: User, client_id: int) -> Client:
    """A client the caller may see: any for an admin, their own for a therapist.

    Another therapist's client is "not found", so ids are not disclosed.
    """
    client = clients.get_client(session, client_id)
    own = user.therapist_id is not None and client.therapist_id == user.therapist_id
    if not (is_admin(user) or own):
        raise NotFound(f"client {client_id} not found")
    return client


def require_self_or_admin(user: User, therapist_id: int) -> None:
    """A therapist manages their own away and hours; only an admin manages anyone's."""
    if not is_admin(user) and user.therapist_id != therapist_id:
        raise HTTPException(
            status_code=403, detail="Only an admin, or the therapist themself, may do this."
        )


MAX_PAGE = 200


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


def paging(
    limit: Annotated[
        int, Query(ge=1, description=f"how many items per page (at most {MAX_PAGE})")
    ] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="how many items to skip")] = 0,
) -> Paging:
    # A limit above the cap is served capped rather than refused.
    return Paging(limit=min(limit, MAX_PAGE), offset=offset)


def paginate(
    session: Session, stmt: Select[Any], paging: Paging, *order_by: Any
) -> tuple[list[Any], int]:
    """One page of `stmt` in `order_by` order, and how many rows match in all."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.order_by(*order_by).limit(paging.limit).offset(paging.offset))
    return list(rows.all()), total


PagingDep = Annotated[Paging, Depends(paging)]
# Ids in paths and queries: beyond a 32-bit column's range is bad input (422), never a 500.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
