"""Benchmark of the incoming-call webhook (`POST /twilio/voice`) against a static-TwiML ceiling.

    .venv/bin/python -m bench.call_webhook [--db sqlite|postgresql] [--clients 100000]
        [--calls 1000000] [--concurrency 1,10,50] [--requests N] [--duration S] [--quick]

For an empty database and then a full one (each fresh: created, migrated, seeded), it serves
the real app with uvicorn in its own process and measures, at each concurrency, closed-loop:
the static ceiling (`POST /bench/static` on the same server) and the webhook, signed as Twilio
signs. Then it profiles the webhook under load with py-spy. It prints a plain table, the
targets with PASS/FAIL, and the profile, and saves them under bench/results/. See README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from app.models import Call, Message
from app.settings import Settings
from bench import load, profiling, queries
from bench.seed import EMPTY, POSTGRES_SERVER_URL, REPO, BenchDatabase, Scale, Seeded, migrate, seed
from bench.serve import Server, line_settings, rss_mb
from bench.server import STATIC_PATH, STATIC_TWIML

WEBHOOK_PATH = "/twilio/voice"
RESULTS = REPO / "bench" / "results"

# The targets of issues 3 and 7, on this 2-core machine.
MIN_RATIO = 0.5
MAX_P99_MS = 20.0
P99_AT = 10
MAX_RSS_MB = 150.0
MIN_FLAT = 0.9  # the full database keeps at least this share of the empty one's req/s
# Profiled: one call at a time (what a call costs), and the target's concurrency.
PROFILE_AT = (1, P99_AT)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- classifying answers -----------------------------------------------------------------


def webhook_classifier() -> load.Classifier:
    """A webhook answer's kind. The crisis-resources answer the line gives on any error is
    200 TwiML, so it is recognised by its exact text and counted as an error."""
    from ivr import voice

    settings = Settings(_env_file=None, **{k.lower(): v for k, v in line_settings("").items()})
    fallback = voice.error_fallback(settings.practice).encode()
    unknown = voice.unknown_caller(settings.practice).twiml.encode()

    def classify(status: int, body: bytes) -> str:
        if status != 200:
            return "http_error"
        if b"<Response" not in body:
            return "not_twiml"
        if body == fallback:
            return "error_fallback"
        if body == unknown:
            return "unknown_caller"
        if b"<Dial" in body:
            return "dial"
        if b"24-hour rule" in body:
            return "lockout_script"
        if b"<Record" in body or b"call back" in body:
            return "wait_script"
        return "other_twiml"

    return classify


def static_classifier() -> load.Classifier:
    expected = STATIC_TWIML.encode()

    def classify(status: int, body: bytes) -> str:
        if status != 200:
            return "http_error"
        return "static" if body == expected else "not_twiml"

    return classify


# --- one database state ------------------------------------------------------------------


@dataclass
class StateResult:
    state: str  # empty | full
    db: str
    seeded: dict[str, int]
    seed_seconds: float
    migrate_seconds: float
    runs: list[load.RunResult] = field(default_factory=list)
    rss_idle_mb: float = math.nan
    rss_after_mb: float = math.nan
    calls_before: int = 0
    calls_after: int = 0
    texts_added: int = 0
    webhook_requests_sent: int = 0
    new_call_routes: dict[str, int] = field(default_factory=dict)
    server_log_lines: int = 0
    # (profile, the load run it was sampled under), one per profiled concurrency
    profiles: list[tuple[profiling.Profile, load.RunResult]] = field(default_factory=list)
    census: queries.Census | None = None

    def run(self, label: str, concurrency: int) -> load.RunResult | None:
        return next(
            (r for r in self.runs if r.label == label and r.concurrency == concurrency), None
        )


@dataclass(frozen=True)
class Options:
    db: str
    scale: Scale
    concurrency: list[int]
    requests: int | None
    duration: float
    warmup: float
    client: str
    profile_seconds: float
    census_requests: int
    quiet_wait: float
    seed: int
    postgres_url: str


def _pool_size(rate_bound: float, seconds: float, requests: int | None) -> int:
    if requests is not None:
        return requests
    return min(400_000, math.ceil(rate_bound * 1.3 * seconds) + 500)


def _measure(
    options: Options,
    server: Server,
    runner: Any,
    seeded: Seeded,
    rng: random.Random,
    concurrency: int,
    rate_bound: float | None,
    db_pids: Callable[[], list[int]] | None,
) -> tuple[load.RunResult, load.RunResult]:
    """The static ceiling, then the webhook, at one concurrency."""
    port, seconds = server.port, options.duration if options.requests is None else 3600.0
    static_requests = load.incoming_calls(
        rng, seeded.client_phones, 2000, port=port, path=STATIC_PATH, signed_path=STATIC_PATH
    )
    static_spec = load.LoadSpec(
        label="static",
        concurrency=concurrency,
        warmup=load.RequestPool(static_requests, cycle=True),
        warmup_seconds=options.warmup,
        pool=load.RequestPool(static_requests, cycle=True, limit=options.requests),
        seconds=seconds,
    )
    static = runner.run(
        load.run(
            static_spec,
            port=port,
            server_pid=server.pid,
            client=options.client,
            classify=static_classifier(),
            db_pids=db_pids,
        )
    )
    del static_requests
    # The webhook can be no faster than the ceiling: that bounds how many requests to sign.
    bound = max(static.throughput, rate_bound or 0.0)
    warm = load.incoming_calls(
        rng,
        seeded.client_phones,
        _pool_size(bound, options.warmup, None),
        port=port,
        path=WEBHOOK_PATH,
    )
    measured = load.incoming_calls(
        rng,
        seeded.client_phones,
        _pool_size(bound, options.duration, options.requests),
        port=port,
        path=WEBHOOK_PATH,
    )
    webhook_spec = load.LoadSpec(
        label="webhook",
        concurrency=concurrency,
        warmup=load.RequestPool(warm),
        warmup_seconds=options.warmup,
        pool=load.RequestPool(measured),
        seconds=seconds,
    )
    webhook = runner.run(
        load.run(
            webhook_spec,
            port=port,
            server_pid=server.pid,
            client=options.client,
            classify=webhook_classifier(),
            db_pids=db_pids,
        )
    )
    webhook.extra["sent_with_warmup"] = webhook_spec.warmup.taken + webhook_spec.pool.taken
    if options.requests is not None:  # a fixed count: running out is the plan
        static.pool_exhausted = webhook.pool_exhausted = False
    return static, webhook


def _profile(
    options: Options,
    server: Server,
    runner: Any,
    seeded: Seeded,
    rng: random.Random,
    rate: float,
    concurrency: int,
    out: Path,
    db_pids: Callable[[], list[int]] | None,
) -> tuple[profiling.Profile, load.RunResult, int]:
    seconds = options.profile_seconds
    requests = load.incoming_calls(
        rng,
        seeded.client_phones,
        _pool_size(rate, seconds + 2, None),
        port=server.port,
        path=WEBHOOK_PATH,
    )
    spec = load.LoadSpec(
        label="webhook (profiled)",
        concurrency=concurrency,
        warmup=load.RequestPool(requests[:200]),
        warmup_seconds=0.5,
        pool=load.RequestPool(requests[200:]),
        seconds=seconds + 1.5,
    )
    recorder = profiling.start_recording(server.pid, seconds, out)
    result = runner.run(
        load.run(
            spec,
            port=server.port,
            server_pid=server.pid,
            client=options.client,
            classify=webhook_classifier(),
            db_pids=db_pids,
        )
    )
    _, err = recorder.communicate(timeout=seconds + 60)
    if recorder.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')[-400:]}")
    sent = spec.warmup.taken + spec.pool.taken
    return profiling.summarize(out.read_text()), result, sent


def _count(url: str) -> tuple[int, int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            calls = int(conn.scalar(select(func.count()).select_from(Call)) or 0)
            top = int(conn.scalar(select(func.max(Call.id))) or 0)
            texts = int(conn.scalar(select(func.count()).select_from(Message)) or 0)
    finally:
        engine.dispose()
    return calls, top, texts


def _new_routes(url: str, after_id: int) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Call.route, Call.outcome, func.count())
                .where(Call.id > after_id)
                .group_by(Call.route, Call.outcome)
            ).all()
    finally:
        engine.dispose()
    return {f"{route}/{outcome}": int(n) for route, outcome, n in rows}


class _Backends:
    """The PostgreSQL server processes serving the benchmark's database (for their CPU)."""

    def __init__(self, url: str):
        self.engine = create_engine(url, poolclass=NullPool)
        self.conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def pids(self) -> list[int]:
        rows = self.conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        return [int(pid) for (pid,) in rows]

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()


def bench_state(
    state: str, options: Options, workdir: Path, out_dir: Path, profile: bool
) -> StateResult:
    scale = EMPTY if state == "empty" else options.scale
    with BenchDatabase(options.db, workdir, options.postgres_url) as db:
        log(f"{options.db} {state}: migrating")
        t0 = time.perf_counter()
        migrate(db.url)
        migrate_seconds = time.perf_counter() - t0
        log(f"{options.db} {state}: seeding")
        seeded = seed(
            db.url, scale, seed_value=options.seed, progress=lambda m: log(f"  seeded {m}")
        )
        log(f"{options.db} {state}: seeded in {seeded.seconds:.1f} s")
        result = StateResult(state, options.db, seeded.counts, seeded.seconds, migrate_seconds)
        result.calls_before, top_before, texts_before = _count(db.url)
        rng = random.Random(f"{options.seed}-{state}")
        runner = load.new_runner()
        backends = _Backends(db.url) if options.db == "postgresql" else None
        db_pids = backends.pids if backends else None
        try:
            with Server(db.url, workdir) as server:
                result.rss_idle_mb = rss_mb(server.pid)
                rate_bound: float | None = None
                for concurrency in options.concurrency:
                    log(f"{options.db} {state}: concurrency {concurrency}")
                    load.wait_for_quiet(options.quiet_wait, log)
                    static, webhook = _measure(
                        options, server, runner, seeded, rng, concurrency, rate_bound, db_pids
                    )
                    rate_bound = max(rate_bound or 0.0, webhook.throughput)
                    result.runs += [static, webhook]
                    result.webhook_requests_sent += int(webhook.extra["sent_with_warmup"])
                    log(
                        f"  static {static.throughput:,.0f} req/s, webhook "
                        f"{webhook.throughput:,.0f} req/s, p99 {webhook.percentile_ms(0.99):.1f} ms"
                    )
                result.rss_after_mb = rss_mb(server.pid)
                for concurrency in PROFILE_AT if profile else ():
                    log(
                        f"{options.db} {state}: profiling with py-spy, {concurrency} concurrent, "
                        f"{options.profile_seconds:.0f} s"
                    )
                    found, run, sent = _profile(
                        options,
                        server,
                        runner,
                        seeded,
                        rng,
                        rate_bound or 100.0,
                        concurrency,
                        out_dir / f"profile-{options.db}-{state}-c{concurrency}.txt",
                        db_pids,
                    )
                    result.profiles.append((found, run))
                    result.webhook_requests_sent += sent
            if options.census_requests:
                log(f"{options.db} {state}: timing the SQL of {options.census_requests} requests")
                requests = load.incoming_calls(
                    rng,
                    seeded.client_phones,
                    options.census_requests + 10,
                    port=0,
                    path=WEBHOOK_PATH,
                )
                result.census = queries.census(db.url, requests)
                result.webhook_requests_sent += len(requests)
            lines = server.log_lines()
            result.server_log_lines = len([line for line in lines if line.strip()])
            (out_dir / f"server-{options.db}-{state}.log").write_text("\n".join(lines) + "\n")
        finally:
            runner.close()
            if backends:
                backends.close()
        result.calls_after, _, texts_after = _count(db.url)
        result.texts_added = texts_after - texts_before
        result.new_call_routes = _new_routes(db.url, top_before)
    return result


# --- the report ----------------------------------------------------------------------------


def _fmt(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(
        h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
    )
    out = [line, "-" * len(line)]
    for row in rows:
        out.append(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return out


def render_state(result: StateResult) -> str:
    seeded = result.seeded
    lines = [
        "",
        f"== {result.db}, {result.state} database: "
        f"{seeded.get('therapists', 0):,} therapists, {seeded.get('clients', 0):,} clients, "
        f"{seeded.get('calls', 0):,} calls, {seeded.get('messages', 0):,} texts, "
        f"{seeded.get('lockouts', 0):,} lockouts, {seeded.get('on_call_shifts', 0):,} shifts "
        f"(migrated in {result.migrate_seconds:.1f} s, seeded in {result.seed_seconds:.1f} s)",
        "",
    ]
    header = [
        "endpoint",
        "conc",
        "requests",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors",
        "server CPU",
        "CPU ms/req",
        "load CPU",
        "db CPU",
        "others",
        "webhook/ceiling",
    ]
    rows = []
    for run in result.runs:
        ratio = ""
        if run.label == "webhook":
            ceiling = result.run("static", run.concurrency)
            if ceiling and ceiling.throughput:
                ratio = f"{run.throughput / ceiling.throughput:.3f}"
        rows.append(
            [
                "static ceiling" if run.label == "static" else "call webhook",
                str(run.concurrency),
                f"{run.requests:,}" + ("*" if run.pool_exhausted else ""),
                _fmt(run.throughput, 0),
                _fmt(run.percentile_ms(0.50), 2),
                _fmt(run.percentile_ms(0.90), 2),
                _fmt(run.percentile_ms(0.99), 2),
                _fmt(run.max_ms, 1),
                f"{run.errors:,}",
                f"{run.server_cpu * 100:.0f}%",
                _fmt(_cpu_ms(run), 2),
                f"{run.client_cpu * 100:.0f}%",
                f"{run.db_cpu * 100:.0f}%" if result.db == "postgresql" else "-",
                f"{run.other_cpu * 100:.0f}%",
                ratio,
            ]
        )
    lines += _table(rows, header)
    lines.append(
        f"  (CPU in % of one core, {_cpus()} cores in all: the server process (and its CPU "
        "time per request), the load generator, PostgreSQL's backends for the benchmark's "
        "database, and other processes on the machine; * = the signed requests ran out before "
        "the time was up)"
    )
    noisy = max((run.other_cpu for run in result.runs), default=0.0)
    if noisy > 0.25:
        lines.append(
            f"  NOTE: other processes used up to {noisy * 100:.0f}% of a core during these runs "
            "(other work on the machine): the figures are lower than on a quiet machine"
        )
    kinds: Counter[str] = Counter()
    for run in result.runs:
        if run.label == "webhook":
            kinds.update(run.kinds)
    lines.append("  webhook answers: " + ", ".join(f"{k} {n:,}" for k, n in kinds.most_common()))
    lines.append(
        f"  calls table: {result.calls_before:,} -> {result.calls_after:,} rows "
        f"(+{result.calls_after - result.calls_before:,} for {result.webhook_requests_sent:,} "
        f"webhook requests, warm-up and profiling included); texts queued: {result.texts_added:,}"
    )
    lines.append(
        "  new call records: "
        + ", ".join(
            f"{k} {n:,}" for k, n in sorted(result.new_call_routes.items(), key=lambda kv: -kv[1])
        )
    )
    lines.append(
        f"  server RSS: {result.rss_idle_mb:.1f} MB at start, {result.rss_after_mb:.1f} MB after "
        f"the runs; server log lines (warnings and errors): {result.server_log_lines}"
    )
    if result.census is not None:
        lines.append(
            "\n  SQL of one incoming call ("
            + result.db
            + ", "
            + result.state
            + "): "
            + queries.render(result.census).replace("\n", "\n  ")
        )
    return "\n".join(lines)


def _verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else ("PASS" if ok else "FAIL")


def render_targets(results: list[StateResult], concurrency: list[int]) -> tuple[str, bool]:
    lines = ["", "== targets (this machine)", ""]
    all_ok = True

    def add(ok: bool | None, text_: str) -> None:
        nonlocal all_ok
        if ok is False:
            all_ok = False
        lines.append(f"  {_verdict(ok)}  {text_}")

    for result in results:
        where = f"{result.db} {result.state}"
        for c in concurrency:
            webhook, static = result.run("webhook", c), result.run("static", c)
            if webhook and static and static.throughput:
                ratio = webhook.throughput / static.throughput
                add(
                    ratio >= MIN_RATIO and webhook.errors == 0,
                    f"{where}: webhook >= {MIN_RATIO}x ceiling at {c} concurrent: "
                    f"{webhook.throughput:,.0f} / {static.throughput:,.0f} req/s = {ratio:.3f}"
                    + (f" ({webhook.errors} errors)" if webhook.errors else ""),
                )
        webhook = result.run("webhook", P99_AT)
        if webhook:
            p99 = webhook.percentile_ms(0.99)
            add(
                p99 <= MAX_P99_MS,
                f"{where}: webhook p99 <= {MAX_P99_MS:.0f} ms at {P99_AT} concurrent: {p99:.1f} ms",
            )
        else:
            add(None, f"{where}: webhook p99 at {P99_AT} concurrent: not measured")
        add(
            result.rss_after_mb <= MAX_RSS_MB,
            f"{where}: server RSS <= {MAX_RSS_MB:.0f} MB: {result.rss_after_mb:.1f} MB",
        )
    states = {r.state: r for r in results}
    if "empty" in states and "full" in states:
        empty, full = states["empty"].run("webhook", P99_AT), states["full"].run("webhook", P99_AT)
        if empty and full and empty.throughput:
            flat = full.throughput / empty.throughput
            add(
                flat >= MIN_FLAT,
                f"flat from empty to full ({results[0].db}, {P99_AT} concurrent): "
                f"{full.throughput:,.0f} / {empty.throughput:,.0f} req/s = {flat:.2f} "
                f"(target >= {MIN_FLAT}); p99 {empty.percentile_ms(0.99):.1f} -> "
                f"{full.percentile_ms(0.99):.1f} ms",
            )
    return "\n".join(lines), all_ok


def render_profile(result: StateResult, found: profiling.Profile, run: load.RunResult) -> str:
    head = (
        f"\n== profile: webhook on the {result.db} {result.state} database, py-spy, "
        f"{run.concurrency} concurrent: {run.requests:,} requests at {run.throughput:,.0f} req/s "
        f"while sampled (p50 {run.percentile_ms(0.5):.1f} ms, "
        f"p99 {run.percentile_ms(0.99):.1f} ms), "
        f"server CPU {run.server_cpu * 100:.0f}% of a core"
    )
    # py-spy slows the server down: the CPU a request costs comes from the unprofiled run.
    plain = result.run("webhook", 1)
    per_request = _cpu_ms(plain) if plain and run.concurrency == 1 else None
    # Under concurrency, samples also catch threads waiting (locks, the GIL): shares only.
    top = 15 if run.concurrency == 1 else 8
    return head + "\n" + profiling.render(found, per_request, top=top)


def _cpu_ms(run: load.RunResult) -> float:
    """Server CPU per request, in ms."""
    return run.server_cpu * 1000 / run.throughput if run.throughput else math.nan


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


def environment(options: Options) -> str:
    parts = [
        f"python {platform.python_version()}",
        f"sqlalchemy {sqlalchemy.__version__}",
        f"{_cpus()} cores",
        f"client {options.client}",
    ]
    try:
        import uvloop  # noqa: F401

        parts.append("uvicorn on uvloop + httptools")
    except ImportError:
        parts.append("uvicorn on asyncio")
    if options.db == "postgresql":
        try:
            engine = create_engine(options.postgres_url)
            with engine.connect() as conn:
                parts.append(f"postgresql {conn.scalar(text('SHOW server_version'))}")
            engine.dispose()
        except Exception:
            pass
    else:
        import sqlite3

        parts.append(f"sqlite {sqlite3.sqlite_version}")
    return ", ".join(parts)


# --- the command ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.call_webhook",
        description="Throughput and latency of POST /twilio/voice against a static-TwiML ceiling.",
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--clients", type=int, help="clients on the full database (100,000)")
    parser.add_argument("--calls", type=int, help="call records on the full database (1,000,000)")
    parser.add_argument("--concurrency", default="1,10,50", help="closed-loop levels (1,10,50)")
    parser.add_argument("--requests", type=int, help="requests per measurement (default: timed)")
    parser.add_argument("--duration", type=float, help="seconds per measurement (10)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up before each (2)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 10k clients, 100k calls, 3 s runs, 5 s profile",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--empty", action="store_true", help="the empty database only")
    which.add_argument("--full", action="store_true", help="the full database only")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator client (raw asyncio streams; httpx is slower)",
    )
    parser.add_argument(
        "--profile-seconds",
        type=float,
        help="py-spy sampling time, at 1 and at 10 concurrent (15; 0: off)",
    )
    parser.add_argument(
        "--sql-requests", type=int, help="requests whose SQL is timed in process (300; 0: off)"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        help="seconds to wait, before each concurrency, for other work on the machine to stop (15)",
    )
    parser.add_argument("--seed", type=int, default=3, help="random seed of data and requests")
    parser.add_argument(
        "--postgres-url",
        default=POSTGRES_SERVER_URL,
        help="server to create the benchmark database on (db `test`)",
    )
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    quick = args.quick
    concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if not concurrency or min(concurrency) < 1 or max(concurrency) > 1000:
        parser.error("--concurrency: integers from 1 to 1000")
    scale = Scale(
        clients=args.clients or (10_000 if quick else 100_000),
        calls=args.calls if args.calls is not None else (100_000 if quick else 1_000_000),
    )
    if scale.clients < 1 or scale.clients > 1_000_000 or scale.calls < 0:
        parser.error("--clients: 1 to 1,000,000; --calls: 0 or more")
    if args.requests is not None and args.requests < 1:
        parser.error("--requests: at least 1")
    options = Options(
        db=args.db,
        scale=scale,
        concurrency=concurrency,
        requests=args.requests,
        duration=args.duration or (3.0 if quick else 10.0),
        warmup=args.warmup if args.warmup is not None else (1.0 if quick else 2.0),
        client=args.client,
        profile_seconds=(
            args.profile_seconds if args.profile_seconds is not None else (5.0 if quick else 15.0)
        ),
        census_requests=(
            args.sql_requests if args.sql_requests is not None else (100 if quick else 300)
        ),
        quiet_wait=args.quiet_wait if args.quiet_wait is not None else (5.0 if quick else 15.0),
        seed=args.seed,
        postgres_url=args.postgres_url,
    )
    return options, args


def main(argv: list[str] | None = None) -> int:
    options, args = parse_args(argv)
    states = ["empty"] if args.empty else ["full"] if args.full else ["empty", "full"]
    profile = options.profile_seconds > 0
    if profile and profiling.pyspy_path() is None:
        log("py-spy not found (.venv/bin/pip install py-spy): the profile is skipped")
        profile = False
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="coachline-bench-") as tmp:
        out_dir = Path(tmp) if args.no_save else RESULTS / f"call_webhook-{options.db}-{stamp}"
        out_dir.mkdir(parents=True, exist_ok=True)
        report = [
            f"coachline call-webhook benchmark, {datetime.now().isoformat(timespec='seconds')}",
            environment(options),
            f"each measurement: warm-up {options.warmup:g} s, then "
            + (f"{options.requests:,} requests" if options.requests else f"{options.duration:g} s")
            + " closed-loop; ceiling = POST /bench/static on the same server",
        ]
        print("\n".join(report), flush=True)
        results = []
        for state in states:
            result = bench_state(
                state, options, Path(tmp), out_dir, profile and state == states[-1]
            )
            results.append(result)
            block = render_state(result)
            report.append(block)
            print(block, flush=True)
        targets, all_ok = render_targets(results, options.concurrency)
        report.append(targets)
        print(targets, flush=True)
        for result in results:
            for found, run in result.profiles:
                block = render_profile(result, found, run)
                report.append(block)
                print(block, flush=True)
        tail = f"\ntotal time {time.perf_counter() - started:.0f} s"
        if not args.no_save:
            tail += f"; report, profile and server logs in {out_dir.relative_to(REPO)}/"
        report.append(tail)
        print(tail, flush=True)
        if not args.no_save:
            (out_dir / "report.txt").write_text("\n".join(report) + "\n")
            (out_dir / "results.json").write_text(json.dumps(_as_json(options, results), indent=2))
    return 0 if all_ok else 1


def _as_json(options: Options, results: list[StateResult]) -> dict[str, Any]:
    def run_json(run: load.RunResult) -> dict[str, Any]:
        return {
            "endpoint": run.label,
            "concurrency": run.concurrency,
            "requests": run.requests,
            "seconds": round(run.seconds, 3),
            "throughput": round(run.throughput, 1),
            "p50_ms": round(run.percentile_ms(0.5), 3),
            "p90_ms": round(run.percentile_ms(0.9), 3),
            "p99_ms": round(run.percentile_ms(0.99), 3),
            "max_ms": round(run.max_ms, 3),
            "errors": run.errors,
            "kinds": dict(run.kinds),
            "server_cpu": round(run.server_cpu, 3),
            "client_cpu": round(run.client_cpu, 3),
            "machine_cpu": round(run.machine_cpu, 3),
        }

    return {
        "db": options.db,
        "clients": options.scale.clients,
        "calls": options.scale.calls,
        "states": [
            {
                "state": r.state,
                "seeded": r.seeded,
                "seed_seconds": round(r.seed_seconds, 1),
                "rss_idle_mb": round(r.rss_idle_mb, 1),
                "rss_after_mb": round(r.rss_after_mb, 1),
                "runs": [run_json(run) for run in r.runs],
                "profiles": [
                    {
                        "concurrency": run.concurrency,
                        "throughput": round(run.throughput, 1),
                        "server_cpu": round(run.server_cpu, 3),
                        "samples": found.samples,
                        "costs": found.costs,
                        "self_groups": found.self_groups,
                    }
                    for found, run in r.profiles
                ],
            }
            for r in results
        ],
    }


if __name__ == "__main__":
    sys.exit(main())
