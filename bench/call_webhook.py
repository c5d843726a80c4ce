"""Benchmark of the incoming-call webhook (`POST /twilio/voice`) against a static-TwiML ceiling.

    .venv/bin/python -m bench.call_webhook [--db sqlite|postgresql] [--clients 100000]
        [--calls 1000000] [--concurrency 1,10,50] [--requests N] [--duration S] [--rounds N]
        [--quick]

For an empty database and then a full one (each fresh: created, migrated, seeded), it serves
the real app with uvicorn in its own process and measures, at each concurrency, closed-loop:
the static ceiling (`POST /twilio/bench-static` on the same server) and the webhook, signed
as Twilio signs. Then it profiles the webhook under load with py-spy. It prints a plain table, the
targets with PASS/FAIL, and the profile, and saves them under bench/results/. The measuring is
`bench/harness.py`'s; this module says what an incoming call is. See README.md.
"""

from __future__ import annotations

import random
import sys

from sqlalchemy import create_engine, func, select

from app.models import Call, Message
from app.settings import Settings
from bench import harness, load
from bench.harness import StateResult, Webhook
from bench.profiling import any_of, fn, in_file
from bench.seed import Seeded
from bench.serve import line_settings

WEBHOOK_PATH = "/twilio/voice"


def make_requests(rng: random.Random, seeded: Seeded, count: int, port: int) -> list[load.Prepared]:
    """`count` incoming calls from random seeded clients, signed, each with its own CallSid."""
    return load.incoming_calls(rng, seeded.client_phones, count, port=port, path=WEBHOOK_PATH)


def webhook_classifier() -> load.Classifier:
    """A webhook answer's kind. The crisis-resources answer the line gives on any error is
    200 TwiML, so it is recognised by its exact text and counted as an error."""
    from ivr import voice

    settings = Settings(_env_file=None, **{k.lower(): v for k, v in line_settings("").items()})
    unknown = voice.unknown_caller(settings.practice).twiml.encode()

    def kind(body: bytes) -> str:
        if body == unknown:
            return "unknown_caller"
        if b"<Dial" in body:
            return "dial"
        if b"24-hour rule" in body:
            return "lockout_script"
        if b"<Record" in body or b"call back" in body:
            return "wait_script"
        return "other_twiml"

    return harness.twiml_classifier(voice.error_fallback(settings.practice).encode(), kind)


# --- the database before and after ---------------------------------------------------------


def snapshot(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                "calls": int(conn.scalar(select(func.count()).select_from(Call)) or 0),
                "calls_max_id": int(conn.scalar(select(func.max(Call.id))) or 0),
                "messages": int(conn.scalar(select(func.count()).select_from(Message)) or 0),
            }
    finally:
        engine.dispose()


def written(url: str, before: dict[str, int]) -> dict[str, int]:
    """The call records the runs wrote, by route/outcome."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Call.route, Call.outcome, func.count())
                .where(Call.id > before.get("calls_max_id", 0))
                .group_by(Call.route, Call.outcome)
            ).all()
    finally:
        engine.dispose()
    return {f"{route}/{outcome}": int(n) for route, outcome, n in rows}


# --- the profile's named costs -------------------------------------------------------------

# The incoming-call path (app/twilio/voice.py): `incoming_call` (async, on the event loop)
# checks the signature and the rate limit and hands the call to the line's `Gather`. The
# group's work runs in a callback of the event loop (`Gather._answer_all` running
# `answer_calls`), once for every call of that turn: the callers in one statement
# (`app.callers.callers_by_phone`), the flow for each (`_decide`), the call records in one
# INSERT (`_record_starts`). Only a call with nobody to ring goes back to the handler for a
# transaction of its own (`_wait_for_call_back`). py-spy sees the handler's coroutine and the
# group's callback as separate stacks.
CALL_COSTS: harness.Costs = [
    (
        "event-loop thread: uvicorn, routing, form, signature, the handler, response",
        fn("_run_module_as_main", "runpy"),
    ),
    ("whole incoming_call handler (app/twilio/voice.py)", fn("incoming_call", "app/twilio")),
    ("  the per-number rate limit (RateLimits.call_allowed)", fn("call_allowed", "app/ratelimit")),
    ("  caller_number / to_e164 (phonenumbers, for other caller ID)", fn("to_e164")),
    ("  _wait_for_call_back: nobody to ring (record, skill, text)", fn("_wait_for_call_back")),
    ("    session commit (nobody to ring)", fn("commit", "sqlalchemy/orm")),
    ("the group's work (Gather._answer_all, once a turn)", fn("_answer_all", "app/gather")),
    ("  Line.practice: the practice's settings (cached)", fn("current_settings")),
    ("  _decide: each call's answer", fn("_decide", "app/twilio/voice")),
    ("    on_call_cached: who is on call (cached)", fn("on_call_cached", "app/oncall")),
    ("      on_call_now: rotations, overrides, shifts (not cached)", fn("on_call_now", "app/")),
    ("    ivr.voice.incoming: the flow, and its TwiML (kept)", fn("incoming", "ivr/voice")),
    (
        "  callers_by_phone: every caller of the turn (one statement)",
        fn("callers_by_phone", "app/callers"),
    ),
    ("    _enrolled: the row as the flow's caller", fn("_enrolled", "app/callers")),
    (
        "  _record_starts: every call record of the turn (one INSERT, one commit)",
        fn("_record_starts", "app/twilio/voice"),
    ),
    *harness.FORM_COSTS,
    ("  one HMAC over the configured URL", fn("expected_signature", "app/twilio")),
    ("  RequestValidator.validate (when that does not match)", fn("validate", "request_validator")),
    *harness.SQLALCHEMY_COSTS,
    (
        "  connection checkout and return (pool)",
        any_of(fn("_checkout", "sqlalchemy/pool"), fn("_checkin", "sqlalchemy/pool")),
    ),
    *harness.FRAMEWORK_COSTS,
    ("anyio thread pool (none expected on this path)", in_file("anyio/")),
]


# --- the report ----------------------------------------------------------------------------


def render_state(result: StateResult) -> str:
    seeded, before, after = result.seeded, result.db_before, result.db_after
    lines = [
        "",
        f"== {result.db}, {result.state} database: "
        f"{seeded.get('therapists', 0):,} therapists, {seeded.get('clients', 0):,} clients, "
        f"{seeded.get('calls', 0):,} calls, {seeded.get('messages', 0):,} texts, "
        f"{seeded.get('lockouts', 0):,} lockouts, {seeded.get('on_call_shifts', 0):,} shifts "
        f"(migrated in {result.migrate_seconds:.1f} s, seeded in {result.seed_seconds:.1f} s)",
        "",
        *harness.runs_report(result, "call webhook"),
    ]
    calls_before, calls_after = before.get("calls", 0), after.get("calls", 0)
    lines.append(
        f"  calls table: {calls_before:,} -> {calls_after:,} rows "
        f"(+{calls_after - calls_before:,} for {result.webhook_requests_sent:,} "
        f"webhook requests and {result.bare_requests_sent:,} bare ones, warm-up and profiling "
        "included); texts queued: "
        f"{after.get('messages', 0) - before.get('messages', 0):,}"
    )
    lines.append(
        "  new call records: "
        + ", ".join(f"{k} {n:,}" for k, n in sorted(result.written.items(), key=lambda kv: -kv[1]))
    )
    lines += harness.server_report(
        result, f"SQL of one incoming call ({result.db}, {result.state})"
    )
    return "\n".join(lines)


# --- the command ---------------------------------------------------------------------------

CALL_WEBHOOK = Webhook(
    name="call_webhook",
    label="call webhook",
    path=WEBHOOK_PATH,
    make_requests=make_requests,
    classifier=webhook_classifier,
    costs=CALL_COSTS,
    snapshot=snapshot,
    written=written,
)


def main(argv: list[str] | None = None) -> int:
    options, args = harness.parse_args(
        argv,
        prog="python -m bench.call_webhook",
        description="Throughput and latency of POST /twilio/voice against a static-TwiML ceiling.",
    )
    return harness.main(
        CALL_WEBHOOK,
        options,
        args,
        title="coachline call-webhook benchmark",
        render_state=render_state,
    )


if __name__ == "__main__":
    sys.exit(main())
