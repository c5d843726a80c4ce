"""What a webhook benchmark does, for any webhook: the measurement, the report, the command.

A benchmark (`bench/call_webhook.py`, `bench/sms_webhook.py`) is a `Webhook`: its path, how
to make its signed requests, how to classify its answers, the named costs of its profile, and
optionally more seeding and what to count in the database before and after. This module runs
it: for each database state, a fresh database (created, migrated, seeded), the real app in its
own uvicorn process, closed loop against the static ceiling at each concurrency, server RSS,
py-spy under load, the SQL of one request in process; then the table, the targets with
PASS/FAIL, the profile, and `bench/results/<name>-<db>-<time>/`. See README.md.
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
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench import load, profiling, queries
from bench.profiling import any_of, fn, in_file
from bench.seed import EMPTY, POSTGRES_SERVER_URL, REPO, BenchDatabase, Scale, Seeded, migrate, seed
from bench.serve import Server, rss_mb
from bench.server import BARE_PATH, STATIC_PATH, STATIC_TWIML

RESULTS = REPO / "bench" / "results"

# The targets of issues 3 and 7, on this 2-core machine.
MIN_RATIO = 0.5
MAX_P99_MS = 20.0
P99_AT = 10
MAX_RSS_MB = 150.0
MIN_FLAT = 0.9  # the full database keeps at least this share of the empty one's req/s
# Profiled: one request at a time (what a request costs), and the target's concurrency.
PROFILE_AT = (1, P99_AT)
# Seconds of warm-up before each round after the first (the first has `--warmup`).
ROUND_WARMUP = 0.5


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the webhook under test ----------------------------------------------------------------

# (rng, the seeded database, how many, the server's port) -> signed requests, ready to send
RequestMaker = Callable[[random.Random, Seeded, int, int], list[load.Prepared]]
Costs = list[tuple[str, profiling.Matcher]]


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
    workers: int = 1
    rounds: int = 5

    @property
    def round_warmup(self) -> float:
        """The warm-up of each round after the first (`measure`)."""
        return min(self.warmup, ROUND_WARMUP)


@dataclass(frozen=True)
class Webhook:
    """One webhook under test, and what is particular to it."""

    name: str  # "sms_webhook": the results directory and its files
    label: str  # "SMS webhook": its rows in the table
    path: str  # "/twilio/sms"
    make_requests: RequestMaker
    classifier: Callable[[], load.Classifier]
    # Named costs for the profile (inclusive shares of py-spy's samples).
    costs: Costs
    # The random seed of the requests is f"{--seed}-{state}" and this.
    rng_suffix: str = ""
    # After the usual seeding of the full database: more of it (url, options, progress) ->
    # rows added by table.
    seed_more: Callable[[str, Options, Callable[[str], None]], dict[str, int]] | None = None
    # Figures of the database before and after the runs (url) -> {name: value}.
    snapshot: Callable[[str], dict[str, int]] | None = None
    # What the runs wrote: (url, snapshot before) -> {what: rows}.
    written: Callable[[str, dict[str, int]], dict[str, int]] | None = None


def twiml_classifier(fallback: bytes, kind: Callable[[bytes], str]) -> load.Classifier:
    """A webhook answer's kind: errors first (not 200, not TwiML, or the line's fallback
    answer on any failure, 200 TwiML recognised by its exact text), then `kind(body)`."""

    def classify(status: int, body: bytes) -> str:
        if status != 200:
            return "http_error"
        if b"<Response" not in body:
            return "not_twiml"
        if body == fallback:
            return "error_fallback"
        return kind(body)

    return classify


def static_classifier() -> load.Classifier:
    expected = STATIC_TWIML.encode()

    def classify(status: int, body: bytes) -> str:
        if status != 200:
            return "http_error"
        return "static" if body == expected else "not_twiml"

    return classify


# Named costs that stand in every webhook's profile (each webhook's list names its own
# handler's first, and its signature check, connection checkout and thread pool lines).
SQLALCHEMY_COSTS: Costs = [
    ("SQLAlchemy ORM (sqlalchemy/orm)", in_file("sqlalchemy/orm/")),
    ("SQLAlchemy statement building (sqlalchemy/sql)", in_file("sqlalchemy/sql/")),
    (
        "SQLAlchemy engine + pool (sqlalchemy/engine, pool)",
        any_of(in_file("sqlalchemy/engine/"), in_file("sqlalchemy/pool/")),
    ),
    (
        "  DBAPI execute (driver and database)",
        any_of(
            fn("do_execute", "sqlalchemy/engine"),
            fn("do_executemany", "sqlalchemy/engine"),
            fn("do_execute_no_params", "sqlalchemy/engine"),
        ),
    ),
    (
        "DriverStatement: the hot statements on the driver (the database's work inside)",
        fn("DriverStatement.all", "app/db"),
    ),
    (
        "  new connections (connect, and SQLite's PRAGMAs)",
        any_of(fn("connect", "sqlalchemy/engine/default"), fn("_sqlite_pragmas", "app/db")),
    ),
]
FRAMEWORK_COSTS: Costs = [
    ("twilio TwiML building (twilio/twiml)", in_file("twilio/twiml/")),
    ("FastAPI/Starlette request handling", any_of(in_file("fastapi/"), in_file("starlette/"))),
    ("  dependency solving (fastapi/dependencies)", in_file("fastapi/dependencies/")),
    ("uvicorn HTTP protocol", in_file("uvicorn/")),
]
FORM_COSTS: Costs = [
    ("verified_form: form parse + signature check", fn("verified_form")),
    (
        "  request.form() (form parsing)",
        any_of(fn("form", "starlette/requests"), fn("_get_form", "starlette/requests")),
    ),
]


# --- one database state --------------------------------------------------------------------


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
    webhook_requests_sent: int = 0
    bare_requests_sent: int = 0  # each writes a call record too
    server_log_lines: int = 0
    # (profile, the load run it was sampled under), one per profiled concurrency
    profiles: list[tuple[profiling.Profile, load.RunResult]] = field(default_factory=list)
    census: queries.Census | None = None
    db_before: dict[str, int] = field(default_factory=dict)
    db_after: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    extra_seed_seconds: float = 0.0

    def run(self, label: str, concurrency: int) -> load.RunResult | None:
        return next(
            (r for r in self.runs if r.label == label and r.concurrency == concurrency), None
        )


def pool_size(rate_bound: float, seconds: float, requests: int | None) -> int:
    """How many requests to sign for `seconds` at up to `rate_bound` req/s (or `requests`)."""
    if requests is not None:
        return requests
    return min(400_000, math.ceil(rate_bound * 1.3 * seconds) + 500)


class Backends:
    """The PostgreSQL server processes serving the benchmark's database (for their CPU), and
    what autovacuum would do for it."""

    def __init__(self, url: str):
        self.engine = create_engine(url, poolclass=NullPool)
        self.conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self.autovacuum = self.conn.exec_driver_sql("SHOW autovacuum").scalar() == "on"

    def analyze(self) -> None:
        """ANALYZE, when this server runs without autovacuum (this machine's does): in
        production autovacuum analyzes a table as it grows, and the new statistics make
        PostgreSQL plan the webhooks' prepared statements again. Without it, the empty
        database keeps plans made for empty tables while the runs fill the calls table
        (the caller lookup measured at 0.60 -> 1.28 ms over 3,000 calls, 0.55 after ANALYZE)."""
        if not self.autovacuum:
            self.conn.exec_driver_sql("ANALYZE")

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


@dataclass
class Serving:
    """What the runs on one database state share: the webhook, the options, the server under
    load, the load generator's event loop, the seeded data, the requests' random source and
    the PostgreSQL backends (None on SQLite)."""

    webhook: Webhook
    options: Options
    server: Server
    runner: Any
    seeded: Seeded
    rng: random.Random
    backends: Backends | None

    def requests(self, count: int) -> list[load.Prepared]:
        return self.webhook.make_requests(self.rng, self.seeded, count, self.server.port)

    def run(self, spec: load.LoadSpec, classify: load.Classifier) -> load.RunResult:
        if self.backends:
            self.backends.analyze()
        return self.runner.run(
            load.run(
                spec,
                port=self.server.port,
                server_pids=self.server.pids,
                client=self.options.client,
                classify=classify,
                db_pids=self.backends.pids if self.backends else None,
            )
        )


def measure(
    serving: Serving, concurrency: int, rate_bound: float | None
) -> tuple[load.RunResult, load.RunResult, load.RunResult]:
    """The static ceiling, the bare webhook and the webhook at one concurrency, in rounds that
    take turns (static, bare, webhook, static, ...; `--rounds`), each endpoint's rounds then
    counted as one run. This machine's speed drifts by a third and more within a minute
    (other work on it): measured one after the other, 10 s each, the ceiling and the webhook
    met different machines, and the ratio moved more than any change to the line did."""
    webhook, options = serving.webhook, serving.options
    rounds = 1 if options.requests is not None else options.rounds
    seconds = options.duration / rounds
    # The ceiling reads the same form bodies as the webhook (it checks no signature).
    static_requests = [
        load.Prepared(
            STATIC_PATH,
            r.headers,
            r.body,
            r.raw.replace(f"POST {webhook.path} ".encode(), f"POST {STATIC_PATH} ".encode(), 1),
        )
        for r in serving.requests(2000)
    ]
    bound = rate_bound or 0.0

    def signed(count: int, path: str | None = None) -> list[load.Prepared]:
        made = serving.requests(count)
        return [load.resigned(r, path, serving.server.port) for r in made] if path else made

    done: dict[str, list[load.RunResult]] = {"static": [], "bare": [], "webhook": []}
    for turn in range(rounds):
        # A full warm-up first; after it, each round only settles its own connections.
        warmup = options.warmup if turn == 0 else options.round_warmup
        static = serving.run(
            _spec(
                "static",
                concurrency,
                static_requests,
                static_requests,
                options,
                warmup,
                seconds,
                cycle=True,
            ),
            static_classifier(),
        )
        done["static"].append(static)
        # Neither webhook can be faster than the ceiling: that bounds how many to sign.
        bound = max(bound, static.throughput)
        warm_count = pool_size(bound, warmup, None)
        count = pool_size(bound, seconds, options.requests)
        for label, path, classify in (
            ("bare", BARE_PATH, static_classifier()),
            ("webhook", None, webhook.classifier()),
        ):
            spec = _spec(
                label,
                concurrency,
                signed(warm_count, path),
                signed(count, path),
                options,
                warmup,
                seconds,
            )
            run = serving.run(spec, classify)
            run.extra["sent_with_warmup"] = spec.warmup.taken + spec.pool.taken
            done[label].append(run)
    static, bare, result = (load.merged(done[label]) for label in ("static", "bare", "webhook"))
    for run, label in ((bare, "bare"), (result, "webhook")):
        ratios = [
            r.throughput / s.throughput
            for r, s in zip(done[label], done["static"], strict=True)
            if s.throughput
        ]
        if ratios:
            run.extra["round_ratio_min"], run.extra["round_ratio_max"] = min(ratios), max(ratios)
    if options.requests is not None:  # a fixed count: running out is the plan
        static.pool_exhausted = bare.pool_exhausted = result.pool_exhausted = False
    return static, bare, result


def _spec(
    label: str,
    concurrency: int,
    warm: list[load.Prepared],
    measured: list[load.Prepared],
    options: Options,
    warmup: float,
    seconds: float,
    cycle: bool = False,
) -> load.LoadSpec:
    return load.LoadSpec(
        label=label,
        concurrency=concurrency,
        warmup=load.RequestPool(warm, cycle=cycle),
        warmup_seconds=warmup,
        pool=load.RequestPool(measured, cycle=cycle, limit=options.requests),
        seconds=seconds if options.requests is None else 3600.0,
    )


def profile(
    serving: Serving, rate: float, concurrency: int, out: Path
) -> tuple[profiling.Profile, load.RunResult, int]:
    """The webhook under load while py-spy samples the server."""
    seconds = serving.options.profile_seconds
    requests = serving.requests(pool_size(rate, seconds + 2, None))
    spec = load.LoadSpec(
        label="webhook (profiled)",
        concurrency=concurrency,
        warmup=load.RequestPool(requests[:200]),
        warmup_seconds=0.5,
        pool=load.RequestPool(requests[200:]),
        seconds=seconds + 1.5,
    )
    recorder = profiling.start_recording(serving.server.pid, seconds, out)
    result = serving.run(spec, serving.webhook.classifier())
    _, err = recorder.communicate(timeout=seconds + 60)
    if recorder.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')[-400:]}")
    sent = spec.warmup.taken + spec.pool.taken
    return profiling.summarize(out.read_text(), serving.webhook.costs), result, sent


def bench_state(
    webhook: Webhook,
    state: str,
    options: Options,
    workdir: Path,
    out_dir: Path,
    profile_it: bool,
) -> StateResult:
    """One database state, fresh: seed, serve, measure each concurrency, profile, time the SQL."""
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
        extra_seconds = 0.0
        if webhook.seed_more is not None and state == "full":
            t0 = time.perf_counter()
            for table, rows in webhook.seed_more(
                db.url, options, lambda m: log(f"  seeded {m}")
            ).items():
                seeded.counts[table] = seeded.counts.get(table, 0) + rows
            extra_seconds = time.perf_counter() - t0
        log(f"{options.db} {state}: seeded in {seeded.seconds + extra_seconds:.1f} s")
        # The seed's hundreds of MB are still dirty in the page cache: unwritten, the first
        # run's first fsync (SQLite's checkpoint) writes them all, a stall of about 1 s
        # (measured) that a database long in use never has.
        t0 = time.perf_counter()
        os.sync()
        log(f"{options.db} {state}: written to disk in {time.perf_counter() - t0:.1f} s")
        result = StateResult(
            state, options.db, seeded.counts, seeded.seconds + extra_seconds, migrate_seconds
        )
        result.extra_seed_seconds = extra_seconds
        if webhook.snapshot is not None:
            result.db_before = webhook.snapshot(db.url)
        rng = random.Random(f"{options.seed}-{state}{webhook.rng_suffix}")
        runner = load.new_runner()
        backends = Backends(db.url) if options.db == "postgresql" else None
        try:
            with Server(db.url, workdir, workers=options.workers) as server:
                serving = Serving(webhook, options, server, runner, seeded, rng, backends)
                result.rss_idle_mb = max(rss_mb(pid) for pid in server.worker_pids)
                rate_bound: float | None = None
                for concurrency in options.concurrency:
                    log(f"{options.db} {state}: concurrency {concurrency}")
                    load.wait_for_quiet(options.quiet_wait, log)
                    static, bare, run = measure(serving, concurrency, rate_bound)
                    rate_bound = max(rate_bound or 0.0, run.throughput)
                    result.runs += [static, bare, run]
                    result.webhook_requests_sent += int(run.extra["sent_with_warmup"])
                    result.bare_requests_sent += int(bare.extra["sent_with_warmup"])
                    log(
                        f"  static {static.throughput:,.0f} req/s, bare "
                        f"{bare.throughput:,.0f} req/s, webhook {run.throughput:,.0f} req/s, "
                        f"p99 {run.percentile_ms(0.99):.1f} ms"
                    )
                result.rss_after_mb = max(rss_mb(pid) for pid in server.worker_pids)
                # py-spy follows one process: the profile is of a single worker's server.
                for concurrency in PROFILE_AT if profile_it and options.workers == 1 else ():
                    log(
                        f"{options.db} {state}: profiling with py-spy, {concurrency} concurrent, "
                        f"{options.profile_seconds:.0f} s"
                    )
                    found, run, sent = profile(
                        serving,
                        rate_bound or 100.0,
                        concurrency,
                        out_dir / f"profile-{webhook.name}-{options.db}-{state}-c{concurrency}.txt",
                    )
                    result.profiles.append((found, run))
                    result.webhook_requests_sent += sent
            if options.census_requests:
                log(f"{options.db} {state}: timing the SQL of {options.census_requests} requests")
                requests = webhook.make_requests(rng, seeded, options.census_requests + 10, 0)
                result.census = queries.census(db.url, requests)
                result.webhook_requests_sent += len(requests)
            lines = server.log_lines()
            result.server_log_lines = len([line for line in lines if line.strip()])
            (out_dir / f"server-{webhook.name}-{options.db}-{state}.log").write_text(
                "\n".join(lines) + "\n"
            )
        finally:
            runner.close()
            if backends:
                backends.close()
        if webhook.snapshot is not None:
            result.db_after = webhook.snapshot(db.url)
        if webhook.written is not None:
            result.written = webhook.written(db.url, result.db_before)
    return result


# --- the report ----------------------------------------------------------------------------


def fmt(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def table(rows: list[list[str]], header: list[str]) -> list[str]:
    """A plain text table: the first column left-aligned, the others right-aligned."""
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


def cpu_ms(run: load.RunResult) -> float:
    """Server CPU per request, in ms."""
    return run.server_cpu * 1000 / run.throughput if run.throughput else math.nan


def cpus() -> int:
    return len(os.sched_getaffinity(0))


HEADER = [
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


RUN_NAMES = {"static": "static ceiling", "bare": "bare webhook"}


def runs_report(result: StateResult, label: str) -> list[str]:
    """The table of the runs (the webhook's rows named `label`), its footnote, a NOTE when the
    machine was busy, and what the webhook answered."""
    rows = []
    for run in result.runs:
        ratio = ""
        if run.label != "static":
            ceiling = result.run("static", run.concurrency)
            if ceiling and ceiling.throughput:
                ratio = f"{run.throughput / ceiling.throughput:.3f}"
        rows.append(
            [
                RUN_NAMES.get(run.label, label),
                str(run.concurrency),
                f"{run.requests:,}" + ("*" if run.pool_exhausted else ""),
                fmt(run.throughput, 0),
                fmt(run.percentile_ms(0.50), 2),
                fmt(run.percentile_ms(0.90), 2),
                fmt(run.percentile_ms(0.99), 2),
                fmt(run.max_ms, 1),
                f"{run.errors:,}",
                f"{run.server_cpu * 100:.0f}%",
                fmt(cpu_ms(run), 2),
                f"{run.client_cpu * 100:.0f}%",
                f"{run.db_cpu * 100:.0f}%" if result.db == "postgresql" else "-",
                f"{run.other_cpu * 100:.0f}%",
                ratio,
            ]
        )
    lines = table(rows, HEADER)
    lines.append(
        f"  (CPU in % of one core, {cpus()} cores in all: the server process (and its CPU "
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
    return lines


def server_report(result: StateResult, sql_title: str) -> list[str]:
    """The server's RSS and log, and the SQL of one request under `sql_title`."""
    lines = [
        f"  server RSS (the largest worker): {result.rss_idle_mb:.1f} MB at start, "
        f"{result.rss_after_mb:.1f} MB after "
        f"the runs; server log lines (warnings and errors): {result.server_log_lines}"
    ]
    if result.census is not None:
        lines.append(f"\n  {sql_title}: " + queries.render(result.census).replace("\n", "\n  "))
    return lines


def _verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else ("PASS" if ok else "FAIL")


def _round_spread(run: load.RunResult) -> str:
    low, high = run.extra.get("round_ratio_min"), run.extra.get("round_ratio_max")
    if low is None or high is None or low == high:
        return ""
    return f" (rounds {low:.3f} to {high:.3f})"


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
                    + _round_spread(webhook)
                    + (f" ({webhook.errors} errors)" if webhook.errors else ""),
                )
                bare = result.run("bare", c)
                if bare and bare.throughput:
                    lines.append(
                        "        the bare webhook (signature and the two statements only): "
                        f"{bare.throughput:,.0f} req/s = "
                        f"{bare.throughput / static.throughput:.3f} of the ceiling"
                        f"{_round_spread(bare)}; the webhook "
                        f"does {webhook.throughput / bare.throughput:.3f} of the bare one"
                        + (f" ({bare.errors} errors)" if bare.errors else "")
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
    per_request = cpu_ms(plain) if plain and run.concurrency == 1 else None
    # Under concurrency, samples also catch threads waiting (locks, the GIL): shares only.
    top = 15 if run.concurrency == 1 else 8
    return head + "\n" + profiling.render(found, per_request, top=top)


def environment(options: Options) -> str:
    parts = [
        f"python {platform.python_version()}",
        f"sqlalchemy {sqlalchemy.__version__}",
        f"{cpus()} cores",
        f"client {options.client}",
        f"{options.workers} uvicorn worker" + ("s" if options.workers > 1 else ""),
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


def as_json(webhook: Webhook, options: Options, results: list[StateResult]) -> dict[str, Any]:
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
            # The spread of the per-round webhook/ceiling ratios (`measure`).
            **{k: round(v, 3) for k, v in run.extra.items() if k.startswith("round_ratio")},
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
                "written": r.written,
            }
            for r in results
        ],
        "webhook": webhook.path,
    }


# --- the command ---------------------------------------------------------------------------


def parse_args(
    argv: list[str] | None,
    *,
    prog: str,
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> tuple[Options, argparse.Namespace]:
    """The options every webhook benchmark takes (README.md), with its own added by
    `add_arguments`."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--clients", type=int, help="clients on the full database (100,000)")
    parser.add_argument("--calls", type=int, help="call records on the full database (1,000,000)")
    parser.add_argument("--concurrency", default="1,10,50", help="closed-loop levels (1,10,50)")
    parser.add_argument("--requests", type=int, help="requests per measurement (default: timed)")
    parser.add_argument("--duration", type=float, help="seconds per measurement (10)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up before each (2)")
    parser.add_argument(
        "--rounds",
        type=int,
        help="rounds the endpoints take turns in, at each concurrency (5; --quick: 3)",
    )
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
        "--workers", type=int, default=1, help="uvicorn workers (1: per-worker figures)"
    )
    parser.add_argument(
        "--postgres-url",
        default=POSTGRES_SERVER_URL,
        help="server to create the benchmark database on (db `test`)",
    )
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    if add_arguments is not None:
        add_arguments(parser)
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
        workers=args.workers,
        rounds=args.rounds or (3 if quick else 5),
    )
    if not 1 <= options.workers <= 16:
        parser.error("--workers: 1 to 16")
    if not 1 <= options.rounds <= 100:
        parser.error("--rounds: 1 to 100")
    return options, args


def main(
    webhook: Webhook,
    options: Options,
    args: argparse.Namespace,
    *,
    title: str,
    render_state: Callable[[StateResult], str],
    extra_json: dict[str, Any] | None = None,
    preface: list[str] | None = None,
) -> int:
    """Run each database state, print and save the report; 1 when a target fails."""
    states = ["empty"] if args.empty else ["full"] if args.full else ["empty", "full"]
    profile_it = options.profile_seconds > 0
    if profile_it and profiling.pyspy_path() is None:
        log("py-spy not found (.venv/bin/pip install py-spy): the profile is skipped")
        profile_it = False
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="coachline-bench-") as tmp:
        out_dir = Path(tmp) if args.no_save else RESULTS / f"{webhook.name}-{options.db}-{stamp}"
        out_dir.mkdir(parents=True, exist_ok=True)
        report = [
            f"{title}, {datetime.now().isoformat(timespec='seconds')}",
            environment(options),
            f"each measurement: warm-up {options.warmup:g} s, then "
            + (
                f"{options.requests:,} requests"
                if options.requests
                else f"{options.duration:g} s in {options.rounds} rounds taken in turn with the"
                f" other endpoints (each after {options.round_warmup:g} s more of"
                " warm-up)"
            )
            + f" closed-loop; ceiling = POST {STATIC_PATH} on the same server",
            *(preface or []),
        ]
        print("\n".join(report), flush=True)
        results = []
        for state in states:
            result = bench_state(
                webhook, state, options, Path(tmp), out_dir, profile_it and state == states[-1]
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
            data = as_json(webhook, options, results)
            data.update(extra_json or {})
            (out_dir / "results.json").write_text(json.dumps(data, indent=2))
    return 0 if all_ok else 1
