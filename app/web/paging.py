"""Lists a page at a time, and the records a URL names by id."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.web.errors import not_found

PAGE_SIZE = 50
MAX_PAGE_NUMBER = 100_000


@dataclass(frozen=True)
class Pager:
    number: int
    size: int
    total: int
    base: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    def href(self, number: int) -> str:
        return f"{self.base}?{query_string({**self.params, 'page': number})}"

    @property
    def newer(self) -> str | None:
        return self.href(self.number - 1) if self.number > 1 else None

    @property
    def older(self) -> str | None:
        return self.href(self.number + 1) if self.number < self.pages else None


def query_string(params: dict[str, Any]) -> str:
    """A URL's query from the values that are set (None and "" are left out)."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def page_number(raw: str | None) -> int:
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE_NUMBER)


def page_of(
    db: Session,
    stmt: Select,
    raw_page: str | None,
    size: int,
    base: str,
    params: dict[str, Any],
    *order: Any,
) -> tuple[list[Any], Pager]:
    """One page of `stmt`'s rows in `order`, and its pager. A page past the last is the last
    (a link kept from before rows were purged, or a number typed in), never an empty page."""
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    last = max(1, math.ceil(total / size))
    pager = Pager(min(page_number(raw_page), last), size, total, base, params)
    rows = list(db.scalars(stmt.order_by(*order).limit(pager.size).offset(pager.offset)))
    return rows, pager


M = TypeVar("M")


def row_or_404(db: Session, model: type[M], raw: int | str, what: str) -> M:
    """The row a URL names by id, or the dashboard's "not found" naming what was asked for."""
    number = as_id(raw)
    row = db.get(model, number) if number is not None else None
    if row is None:
        raise not_found(what)
    return row


def as_id(raw: int | str) -> int | None:
    """A record id from a URL: a positive 32-bit integer, or None."""
    text = str(raw)
    if not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if 1 <= number <= 2_147_483_647 else None
