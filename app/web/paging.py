"""Lists a page at a time, and the records a URL names by id."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

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
        query = {k: v for k, v in self.params.items() if v not in (None, "")}
        query["page"] = number
        return f"{self.base}?{urlencode(query)}"

    @property
    def newer(self) -> str | None:
        return self.href(self.number - 1) if self.number > 1 else None

    @property
    def older(self) -> str | None:
        return self.href(self.number + 1) if self.number < self.pages else None


def page_number(raw: str | None) -> int:
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE_NUMBER)


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
