"""Prometheus metrics at /metrics, for whoever holds METRICS_TOKEN (off without one).

What the line did (calls by route and outcome, the text queue, active lockouts) is read from
the database at scrape time, so every instance reports the same figures. Webhook latency is
measured in this process.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Iterator
from datetime import UTC
from typing import Annotated

from fastapi import FastAPI, Header, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import describe
from app.line import Line
from app.lockouts import locked_out_now
from app.models import Call, Message

log = logging.getLogger("coachline.metrics")

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LineCollector(Collector):
    def __init__(self, line: Line) -> None:
        self.line = line

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("coachline_database_up", "Whether the database answered")
        try:
            figures = list(self._from_database())
        except Exception as exc:  # a scrape never fails because the database is down
            log.error("metrics could not read the database: %s", describe(exc))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from figures

    def _from_database(self) -> Iterator[Metric]:
        now = self.line.now()
        with self.line.sessions() as session:
            calls = GaugeMetricFamily(
                "coachline_calls", "Call records by route and outcome", labels=["route", "outcome"]
            )
            for route, outcome, count in session.execute(
                select(Call.route, Call.outcome, func.count()).group_by(Call.route, Call.outcome)
            ):
                calls.add_metric([route, outcome], count)
            yield calls

            pending = (Message.status.in_(("queued", "sending")),)
            depth, oldest = session.execute(
                select(func.count(), func.min(Message.created_at)).where(*pending)
            ).one()
            yield GaugeMetricFamily(
                "coachline_notification_queue_depth", "Texts waiting to be delivered", value=depth
            )
            if oldest is not None and oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=UTC)
            age = (now - oldest).total_seconds() if oldest else 0.0
            yield GaugeMetricFamily(
                "coachline_notification_queue_oldest_seconds",
                "Age of the oldest text waiting to be delivered",
                value=max(age, 0.0),
            )
            failed = session.scalar(
                select(func.count()).select_from(Message).where(Message.status == "failed")
            )
            yield GaugeMetricFamily(
                "coachline_notifications_failed", "Texts that could not be delivered", value=failed
            )
            # Decided by the rule itself (`ivr.rules`, the waiver included), not in SQL.
            active = len(locked_out_now(session, now))
            yield GaugeMetricFamily(
                "coachline_lockouts_active", "Clients under the 24-hour rule now", value=active
            )


class WebhookTimer:
    """Times every request under /twilio/ (plain ASGI: nothing added to the hot path but a
    clock read), labelled by the route that answered it, so nobody can grow the metric by
    requesting made-up paths."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/twilio/"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")  # set by the router on a match
            label = getattr(route, "path", None) or "unmatched"
            self.histogram.labels(label).observe(time.perf_counter() - started)


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an Authorization header carries this bearer token, compared in constant time
    (over digests, so that not even the token's length shows in the timing)."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(
        hashlib.sha256(given.strip().encode()).digest(), hashlib.sha256(token.encode()).digest()
    )


def install(app: FastAPI, line: Line) -> None:
    """/metrics behind METRICS_TOKEN. Without one the route is not there at all (a 404 like
    any unknown path), and nothing is timed."""
    token = line.settings.metrics_token
    if not token:
        return
    registry = CollectorRegistry()
    registry.register(LineCollector(line))
    latency = Histogram(
        "coachline_webhook_seconds",
        "Time to answer a Twilio webhook",
        ["path"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    app.add_middleware(WebhookTimer, histogram=latency)

    @app.get("/metrics", include_in_schema=False)
    def metrics(authorization: Annotated[str | None, Header()] = None) -> Response:
        if not bearer_matches(authorization, token):
            return Response(
                "metrics need the bearer token (METRICS_TOKEN)\n",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
