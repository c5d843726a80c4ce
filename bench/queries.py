"""The SQL one webhook request runs: every statement, how often, and how long it takes.

The real app (`create_app()` with the benchmark's settings, on the benchmark's database) is
driven in this process through Starlette's TestClient, one request at a time, with SQLAlchemy
cursor events timing each statement (the DBAPI call: sending it, the database running it, the
answer coming back; not fetching rows nor building ORM objects). The statements the hot
webhooks run on the driver (`app.db.DriverStatement`) raise no such events: they are timed
around their whole run (their values converted both ways included). Only statements are
shown, never their parameters.
"""

from __future__ import annotations

import re
import time
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from unittest import mock

from sqlalchemy import event

from app.db import DriverStatement
from app.main import create_app
from app.settings import Settings
from bench.load import Prepared
from bench.serve import line_settings

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Statement:
    sql: str
    per_request: float
    mean_ms: float
    total_ms_per_request: float


@dataclass(frozen=True)
class Census:
    requests: int
    statements_per_request: float
    db_ms_per_request: float  # time inside the DBAPI calls
    wall_ms_per_request: float  # the whole request, in process
    statements: list[Statement]


def _short(sql: str, width: int = 118) -> str:
    flat = _SPACE.sub(" ", sql).strip()
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def census(database_url: str, requests: Sequence[Prepared]) -> Census:
    """Time the statements of `requests` (the first ten only warm up)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's note on httpx vs httpx2
        from fastapi.testclient import TestClient

    settings = Settings(
        _env_file=None, **{k.lower(): v for k, v in line_settings(database_url).items()}
    )
    app = create_app(settings)
    engines = (app.state.line.engine, app.state.line.webhook_engine)
    times: dict[str, list[float]] = defaultdict(list)

    def before(conn: Any, _cursor: Any, _statement: str, _params: Any, _ctx: Any, _many: bool):
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(conn: Any, _cursor: Any, statement: str, _params: Any, _ctx: Any, _many: bool):
        started = conn.info["bench_started"].pop()
        times[statement].append((time.perf_counter() - started) * 1000)

    driver_all = DriverStatement.all

    def timed_all(statement: DriverStatement, conn: Any, params: Any) -> list:
        started = time.perf_counter()
        try:
            return driver_all(statement, conn, params)
        finally:
            sql = statement.sql(conn.dialect)
            times[sql].append((time.perf_counter() - started) * 1000)

    with TestClient(app) as client:
        for request in requests[:10]:  # warm: pools, caches, prepared statements
            client.post(request.path, content=request.body, headers=dict(request.headers))
        for engine in engines:
            event.listen(engine, "before_cursor_execute", before)
            event.listen(engine, "after_cursor_execute", after)
        measured = requests[10:]
        started = time.perf_counter()
        with mock.patch.object(DriverStatement, "all", timed_all):
            for request in measured:
                response = client.post(
                    request.path, content=request.body, headers=dict(request.headers)
                )
                if response.status_code != 200:
                    raise RuntimeError(f"the webhook answered {response.status_code} in process")
        wall = (time.perf_counter() - started) * 1000
        for engine in engines:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)
    n = max(1, len(measured))
    statements = [
        Statement(_short(sql), len(ms) / n, sum(ms) / len(ms), sum(ms) / n)
        for sql, ms in times.items()
    ]
    statements.sort(key=lambda s: -s.total_ms_per_request)
    return Census(
        requests=len(measured),
        statements_per_request=sum(len(ms) for ms in times.values()) / n,
        db_ms_per_request=sum(sum(ms) for ms in times.values()) / n,
        wall_ms_per_request=wall / n,
        statements=statements,
    )


def render(found: Census, top: int = 20) -> str:
    lines = [
        f"{found.requests} requests in process, one at a time: {found.statements_per_request:.1f} "
        f"statements per request, {found.db_ms_per_request:.2f} ms in the database driver of "
        f"{found.wall_ms_per_request:.2f} ms per request",
        "",
        "   per req   mean ms   ms/req  statement",
    ]
    for s in found.statements[:top]:
        lines.append(
            f"  {s.per_request:8.2f}  {s.mean_ms:8.3f}  {s.total_ms_per_request:7.3f}  {s.sql}"
        )
    if len(found.statements) > top:
        rest = found.statements[top:]
        lines.append(
            f"  ({len(rest)} more statements, "
            f"{sum(s.total_ms_per_request for s in rest):.3f} ms per request together)"
        )
    return "\n".join(lines)
