"""Benchmark of notification delivery: how fast `coachline worker` sends queued texts.

    .venv/bin/python -m bench.notifications [--db sqlite|postgresql] [--texts 2000]
        [--workers 1,2] [--steady-rate 20] [--steady-seconds 10] [--quick]

For each number of worker processes, on a fresh database: N missed-call texts are queued at
once (a backlog), and the real worker (`coachline worker`, as production runs it: escalation,
retention and delivery passes) sends them through Twilio's REST client to a local stand-in
for the Messages API (`bench/messages_api.py`, its own process). Then texts arrive one by one
at a steady rate, queued the way the webhooks queue them (`app.notify.queue_text`). It prints
texts/s, queued-to-sent latency, the CPU of the workers, the stand-in, PostgreSQL and the
rest, each worker's RSS, and checks that every text was sent, and none twice. See README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import create_engine, func, select

from app.context import Line
from app.models import Client, Message, Therapist
from app.notify import queue_text
from app.settings import Settings
from bench import profiling
from bench.harness import RESULTS, Backends, Options, cpus, environment, log, table
from bench.load import wait_for_quiet
from bench.profiling import any_of, fn, in_file
from bench.seed import (
    POSTGRES_SERVER_URL,
    REPO,
    BenchDatabase,
    Scale,
    migrate,
    release_queued_texts,
    seed,
    seed_queued_texts,
)
from bench.serve import cpu_seconds, line_settings, machine_busy, rss_mb, server_env

MAX_RSS_MB = 150.0
# The people the texts go to: the empty database's (therapists 4, clients 100) is too few to
# look like a practice; this is a small one.
PEOPLE = Scale(clients=1000, calls=0, history=False)
DRAIN_TIMEOUT = 600.0  # give up when the queue has not emptied by then
STALL = 30.0  # ... or when nothing was sent for this long


# Named costs of the worker's profile (inclusive shares of its samples).
WORKER_COSTS: list[tuple[str, profiling.Matcher]] = [
    ("run_once: one pass of the worker loop", fn("run_once", "app/worker")),
    ("  escalate_unreturned: missed calls to escalate", fn("escalate_unreturned")),
    ("  purge_if_due: the retention check", fn("purge_if_due")),
    ("  deliver_due: claim, send, record", fn("deliver_due", "app/notify")),
    ("    _claim: the batch, FOR UPDATE SKIP LOCKED", fn("_claim", "app/notify")),
    ("    _renew: the lease, before each send", fn("_renew", "app/notify")),
    ("    _already_sent: Twilio's list, for texts in doubt", fn("_already_sent", "app/notify")),
    ("    twilio_client: a REST client per batch", fn("twilio_client", "app/notify")),
    ("    messages.create: the Twilio REST call", fn("create", "twilio/rest/api")),
    ("      requests + urllib3 (HTTP)", any_of(in_file("requests/"), in_file("urllib3/"))),
    ("      waiting for the answer (socket reads)", any_of(fn("recv_into"), fn("readinto"))),
    ("    _record: the result, one transaction", fn("_record", "app/notify")),
    ("logging", in_file("logging/")),
    ("SQLAlchemy ORM (sqlalchemy/orm)", in_file("sqlalchemy/orm/")),
    ("SQLAlchemy statement building (sqlalchemy/sql)", in_file("sqlalchemy/sql/")),
    (
        "SQLAlchemy engine + pool (sqlalchemy/engine, pool)",
        any_of(in_file("sqlalchemy/engine/"), in_file("sqlalchemy/pool/")),
    ),
    (
        "  DBAPI execute and commit (driver and database)",
        any_of(
            fn("do_execute", "sqlalchemy/engine"),
            fn("do_execute_no_params", "sqlalchemy/engine"),
            fn("do_commit", "sqlalchemy/engine"),
        ),
    ),
    ("  connection checkout (pool, pre-ping)", any_of(fn("_checkout"), fn("do_ping"))),
]


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


# --- the processes -------------------------------------------------------------------------


class MessagesApi:
    """`python -m bench.messages_api` in its own process, on a free port."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> MessagesApi:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.messages_api"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        if not line.startswith("port "):
            self.stop()
            raise RuntimeError(f"the Messages API stand-in did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def received(self) -> list[list[Any]]:
        with urllib.request.urlopen(f"{self.base_url}/_bench/received", timeout=30) as answer:
            return json.loads(answer.read())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()


def worker_env(database_url: str, api_base_url: str) -> dict[str, str]:
    """The benchmark's line settings (as the server gets them), pointed at the stand-in."""
    env = server_env(database_url)
    env["TWILIO_API_BASE_URL"] = api_base_url
    return env


class Workers:
    """`coachline worker` x n, each its own process, logging to `workdir/worker-<i>.log`."""

    def __init__(self, count: int, database_url: str, api_base_url: str, workdir: Path):
        self.count = count
        self.env = worker_env(database_url, api_base_url)
        self.workdir = workdir
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def __enter__(self) -> Workers:
        coachline = Path(sys.executable).parent / "coachline"
        command = [str(coachline), "worker"] if coachline.exists() else None
        command = command or [sys.executable, "-c", "from app.cli import main; main()", "worker"]
        for i in range(self.count):
            with open(self.workdir / f"worker-{i + 1}.log", "wb") as out:
                self.processes.append(
                    subprocess.Popen(
                        command,
                        cwd=self.workdir,
                        env=self.env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        return self

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Until every worker has started and gone idle (polling an empty queue)."""
        deadline = time.monotonic() + timeout
        time.sleep(1.0)
        while time.monotonic() < deadline:
            for p in self.processes:
                if p.poll() is not None:
                    raise RuntimeError(f"a worker exited at start:\n{self.log_tail()}")
            before = [cpu_seconds(pid) for pid in self.pids]
            time.sleep(0.5)
            after = [cpu_seconds(pid) for pid in self.pids]
            if all(b - a <= 0.02 for a, b in zip(before, after, strict=True)):
                return
        raise RuntimeError("the workers did not settle")

    def log_lines(self) -> list[str]:
        lines = []
        for i in range(self.count):
            path = self.workdir / f"worker-{i + 1}.log"
            if path.exists():
                lines += [f"[worker {i + 1}] {line}" for line in path.read_text().splitlines()]
        return lines

    def log_tail(self) -> str:
        return "\n".join(self.log_lines()[-15:])

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)  # the worker's way out: KeyboardInterrupt
        for p in self.processes:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()


# --- measuring -----------------------------------------------------------------------------


class CpuMeter:
    """CPU of the workers, the stand-in, PostgreSQL's backends, this process and the rest,
    between `start()` and `stop()` (shares of one core)."""

    def __init__(self, workers: Workers, api: MessagesApi, backends: Backends | None):
        self.workers, self.api, self.backends = workers, api, backends
        self.figures: dict[str, float] = {}

    def _read(self) -> dict[str, Any]:
        db = {}
        for pid in self.backends.pids() if self.backends else []:
            try:
                db[pid] = cpu_seconds(pid)
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        return {
            "t": time.monotonic(),
            "workers": sum(cpu_seconds(pid) for pid in self.workers.pids),
            "api": cpu_seconds(self.api.pid),
            "bench": time.process_time(),
            "db": db,
            "machine": machine_busy(),
        }

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> dict[str, float]:
        end, start = self._read(), self._start
        seconds = end["t"] - start["t"]
        busy = end["machine"][0] - start["machine"][0]
        total = end["machine"][1] - start["machine"][1]
        db = sum(cpu - start["db"].get(pid, 0.0) for pid, cpu in end["db"].items())
        figures = {
            name: (end[name] - start[name]) / seconds for name in ("workers", "api", "bench")
        }
        figures["db"] = db / seconds
        machine = busy / total * cpus() if total else math.nan
        figures["others"] = machine - sum(figures.values())
        figures["worker_cpu_seconds"] = end["workers"] - start["workers"]
        self.figures = figures
        return figures


@dataclass
class Phase:
    name: str  # backlog | steady
    texts: int
    seconds: float  # from the first text queued to the last sent
    latencies: list[float]  # queued -> sent, seconds, sorted
    cpu: dict[str, float]
    statuses: dict[str, int]
    first_sent_after: float = math.nan  # the backlog: how long the first send took
    queued_rate: float = math.nan  # steady: the arrival rate reached

    @property
    def throughput(self) -> float:
        return self.texts / self.seconds if self.seconds > 0 else math.nan

    @property
    def drain_rate(self) -> float:
        """The backlog without the wait for the next poll: first send to last."""
        span = self.seconds - self.first_sent_after
        return (self.texts - 1) / span if span > 0 and self.texts > 1 else math.nan

    @property
    def cpu_ms_per_text(self) -> float:
        used = self.cpu.get("worker_cpu_seconds", math.nan)
        return used * 1000 / self.texts if self.texts else math.nan


@dataclass
class Result:
    db: str
    workers: int
    phases: list[Phase] = field(default_factory=list)
    rss_start_mb: list[float] = field(default_factory=list)
    rss_end_mb: list[float] = field(default_factory=list)
    api_rss_mb: float = math.nan
    db_sent: int = 0
    db_texts: int = 0
    received: int = 0
    twice: int = 0  # texts the stand-in got more often than the database sent them
    lost: int = 0  # texts the database has as sent that the stand-in never got
    unsent: int = 0  # texts not in status sent at the end
    retried: int = 0  # texts that took more than one attempt
    sids_distinct: bool = True
    worker_log_lines: int = 0
    worker_warnings: list[str] = field(default_factory=list)
    log_sources: Counter[str] = field(default_factory=Counter)  # "LEVEL:logger" -> lines
    profile: profiling.Profile | None = None
    profile_texts: int = 0
    profile_seconds: float = math.nan


def _rows(url: str, since_id: int) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    select(
                        Message.id,
                        Message.status,
                        Message.created_at,
                        Message.sent_at,
                        Message.attempts,
                        Message.to_phone,
                        Message.body,
                        Message.twilio_sid,
                    )
                    .where(Message.id > since_id, Message.direction == "outbound")
                    .order_by(Message.id)
                ).all()
            )
    finally:
        engine.dispose()


def _wait_sent(url: str, since_id: int, expected: int) -> None:
    """Until `expected` texts after `since_id` are no longer queued or sending."""
    engine = create_engine(url)
    deadline = time.monotonic() + DRAIN_TIMEOUT
    last, last_change = -1, time.monotonic()
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                pending = int(
                    conn.scalar(
                        select(func.count()).where(
                            Message.id > since_id,
                            Message.status.in_(("queued", "sending")),
                        )
                    )
                    or 0
                )
                done = int(
                    conn.scalar(
                        select(func.count()).where(
                            Message.id > since_id, Message.status.not_in(("queued", "sending"))
                        )
                    )
                    or 0
                )
            if pending == 0 and done >= expected:
                return
            if done != last:
                last, last_change = done, time.monotonic()
            elif time.monotonic() - last_change > STALL:
                log(f"  nothing sent for {STALL:.0f} s: {pending:,} still queued")
                return
            time.sleep(0.1)
        log(f"  the queue did not empty in {DRAIN_TIMEOUT:.0f} s")
    finally:
        engine.dispose()


def _phase(name: str, rows: list[Any], cpu: dict[str, float], started: datetime) -> Phase:
    latencies = sorted(
        (r.sent_at - r.created_at).total_seconds() for r in rows if r.sent_at is not None
    )
    last = max((r.sent_at for r in rows if r.sent_at is not None), default=None)
    first = min((r.sent_at for r in rows if r.sent_at is not None), default=None)
    seconds = (last - started).total_seconds() if last else math.nan
    phase = Phase(
        name=name,
        texts=len(rows),
        seconds=seconds,
        latencies=latencies,
        cpu=cpu,
        statuses=dict(Counter(r.status for r in rows)),
    )
    if first is not None:
        phase.first_sent_after = (first - started).total_seconds()
    return phase


def _max_message_id(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.max(Message.id))) or 0)
    finally:
        engine.dispose()


def clock(i: int) -> str:
    return f"{i % 12 + 1}:{i % 60:02d} PM"


def _steady(url: str, rate: float, seconds: float, seed_value: int) -> tuple[datetime, int, float]:
    """Queue texts one by one at `rate` per second for `seconds`, each in its own transaction,
    with `app.notify.queue_text` (as the webhooks do). Returns when it began, how many, and
    the rate reached."""
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in line_settings(url).items()})
    line = Line(settings)
    rng = random.Random(f"{seed_value}-steady")
    try:
        with line.sessions() as session:
            therapists = session.execute(select(Therapist.id, Therapist.phone)).all()
            clients = session.execute(select(Client.id, Client.name, Client.therapist_id)).all()
        phones = dict(therapists)
        count = max(1, round(rate * seconds))
        started = datetime.now(UTC)
        t0 = time.monotonic()
        for i in range(count):
            pause = t0 + i / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            client_id, name, therapist_id = clients[rng.randrange(len(clients))]
            with line.sessions() as session, session.begin():
                queue_text(
                    session,
                    line,
                    to_phone=phones[therapist_id],
                    body=f"Missed coaching call from {name.split()[0]} at {clock(i)}.",
                    therapist_id=therapist_id,
                    client_id=client_id,
                )
        reached = count / max(time.monotonic() - t0, 1e-9)
    finally:
        line.engine.dispose()
    return started, count, reached


def bench_workers(
    options: argparse.Namespace, workers: int, workdir: Path, out_dir: Path
) -> Result:
    result = Result(options.db, workers)
    with BenchDatabase(options.db, workdir, options.postgres_url) as db:
        log(f"{options.db}, {workers} worker(s): migrating and seeding")
        migrate(db.url)
        seed(db.url, PEOPLE, seed_value=options.seed)
        base_id = _max_message_id(db.url)
        held_until = datetime.now(UTC) + timedelta(days=1)
        seed_queued_texts(db.url, options.texts, due_at=held_until, seed_value=options.seed)
        backends = Backends(db.url) if options.db == "postgresql" else None
        try:
            with MessagesApi(workdir) as api, Workers(workers, db.url, api.base_url, workdir) as w:
                w.wait_idle()
                result.rss_start_mb = [rss_mb(pid) for pid in w.pids]
                wait_for_quiet(options.quiet_wait, log)
                meter = CpuMeter(w, api, backends)
                meter.start()
                started, released = release_queued_texts(db.url)
                log(f"  {released:,} texts due now; waiting for them to be sent")
                _wait_sent(db.url, base_id, released)
                cpu = meter.stop()
                rows = _rows(db.url, base_id)
                backlog = _phase("backlog", rows, cpu, started)
                result.phases.append(backlog)
                log(
                    f"  backlog: {backlog.throughput:,.0f} texts/s, "
                    f"p99 {_quantile(backlog.latencies, 0.99):.2f} s"
                )
                if options.steady_seconds > 0 and options.steady_rate > 0:
                    after_backlog = _max_message_id(db.url)
                    log(
                        f"  steady: {options.steady_rate:g} texts/s for "
                        f"{options.steady_seconds:g} s"
                    )
                    meter.start()
                    began, queued, reached = _steady(
                        db.url, options.steady_rate, options.steady_seconds, options.seed
                    )
                    _wait_sent(db.url, after_backlog, queued)
                    cpu = meter.stop()
                    steady = _phase("steady", _rows(db.url, after_backlog), cpu, began)
                    steady.queued_rate = reached
                    result.phases.append(steady)
                if options.profile and workers == 1:
                    _profile_pass(result, options, db.url, w, out_dir)
                result.rss_end_mb = [rss_mb(pid) for pid in w.pids]
                result.api_rss_mb = rss_mb(api.pid)
                received = api.received()
            lines = w.log_lines()
            (out_dir / f"workers-{options.db}-{workers}.log").write_text("\n".join(lines) + "\n")
            result.worker_log_lines = len(lines)
            result.log_sources = Counter(
                ":".join(line.split("] ", 1)[-1].split(":", 2)[:2]) for line in lines
            )
            result.worker_warnings = [
                line for line in lines if "WARNING" in line or "ERROR" in line
            ][:5]
        finally:
            if backends:
                backends.close()
        rows = _rows(db.url, base_id)
    _check(result, rows, received)
    return result


def _profile_pass(
    result: Result, options: argparse.Namespace, url: str, workers: Workers, out_dir: Path
) -> None:
    """Another backlog, after the measured ones, with py-spy on the worker (it slows it down,
    so nothing is measured here but where the time goes)."""
    since = _max_message_id(url)
    held = datetime.now(UTC) + timedelta(days=1)
    seed_queued_texts(url, options.texts, due_at=held, seed_value=options.seed + 1)
    workers.wait_idle()
    backlog = result.phases[0]
    seconds = max(2.0, 1.5 * options.texts / max(backlog.throughput, 1.0))
    out = out_dir / f"profile-worker-{options.db}.txt"
    log(f"  profiling the worker with py-spy: {options.texts:,} texts, {seconds:.0f} s")
    recorder = profiling.start_recording(workers.pids[0], seconds, out)
    time.sleep(0.3)  # py-spy attaches
    started, released = release_queued_texts(url)
    _wait_sent(url, since, released)
    _, err = recorder.communicate(timeout=seconds + 60)
    if recorder.returncode != 0 or not out.exists():
        log(f"  py-spy failed: {err.decode(errors='replace')[-300:]}")
        return
    rows = _rows(url, since)
    last = max((r.sent_at for r in rows if r.sent_at is not None), default=started)
    result.profile = profiling.summarize(out.read_text(), WORKER_COSTS)
    result.profile_texts = len(rows)
    result.profile_seconds = (last - started).total_seconds()


def _check(result: Result, rows: list[Any], received: list[list[Any]]) -> None:
    """Every text sent exactly once: what the stand-in got, against what the database says."""
    sent = [r for r in rows if r.status == "sent"]
    result.db_texts, result.db_sent, result.received = len(rows), len(sent), len(received)
    in_db = Counter((r.to_phone, r.body) for r in sent)
    got = Counter((to, body) for to, _from, body, _sid, _t in received)
    result.twice = sum((got - in_db).values())
    result.lost = sum((in_db - got).values())
    result.unsent = len(rows) - len(sent)
    result.retried = sum(1 for r in rows if r.attempts > 1)
    sids = [r.twilio_sid for r in sent]
    result.sids_distinct = len(set(sids)) == len(sids) and set(sids) <= {
        s for *_, s, _t in received
    }


# --- the report ----------------------------------------------------------------------------


def _f(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def render(result: Result, options: argparse.Namespace) -> str:
    header = [
        "phase",
        "workers",
        "texts",
        "seconds",
        "texts/s",
        "drain/s",
        "p50 s",
        "p90 s",
        "p99 s",
        "max s",
        "workers CPU",
        "CPU ms/text",
        "API CPU",
        "db CPU",
        "bench CPU",
        "others",
    ]
    rows = []
    for phase in result.phases:
        label = (
            f"backlog of {phase.texts:,}"
            if phase.name == "backlog"
            else f"steady {options.steady_rate:g}/s"
        )
        rows.append(
            [
                label,
                str(result.workers),
                f"{phase.texts:,}",
                _f(phase.seconds, 2),
                _f(phase.throughput, 0),
                _f(phase.drain_rate, 0) if phase.name == "backlog" else "-",
                _f(_quantile(phase.latencies, 0.5), 3),
                _f(_quantile(phase.latencies, 0.9), 3),
                _f(_quantile(phase.latencies, 0.99), 3),
                _f(phase.latencies[-1] if phase.latencies else math.nan, 3),
                f"{phase.cpu['workers'] * 100:.0f}%",
                _f(phase.cpu_ms_per_text, 2),
                f"{phase.cpu['api'] * 100:.0f}%",
                f"{phase.cpu['db'] * 100:.0f}%" if result.db == "postgresql" else "-",
                f"{phase.cpu['bench'] * 100:.0f}%",
                f"{phase.cpu['others'] * 100:.0f}%",
            ]
        )
    lines = ["", f"== {result.db}, {result.workers} worker process(es)", ""]
    lines += table(rows, header)
    lines.append(
        "  (seconds: from the texts being queued to the last sent; drain/s: from the first "
        "sent to the last, without the wait for the next poll; p50-max: each text from queued "
        "to sent; CPU in % of one core: the worker processes together (and their CPU per "
        "text), the Messages API stand-in, PostgreSQL's backends, this process (polling, and "
        "queueing the steady texts), everything else)"
    )
    noisy = max((p.cpu["others"] for p in result.phases), default=0.0)
    if noisy > 0.25:
        lines.append(
            f"  NOTE: other processes used up to {noisy * 100:.0f}% of a core during these runs"
        )
    for phase in result.phases:
        if phase.name == "steady" and not math.isnan(phase.queued_rate):
            lines.append(f"  steady arrivals reached {phase.queued_rate:.1f} texts/s")
    rss = ", ".join(
        f"worker {i + 1}: {a:.1f} -> {b:.1f} MB"
        for i, (a, b) in enumerate(zip(result.rss_start_mb, result.rss_end_mb, strict=True))
    )
    lines.append(f"  RSS: {rss} (idle at start -> after); stand-in {result.api_rss_mb:.1f} MB")
    lines.append(
        f"  sent once: {result.db_sent:,} of {result.db_texts:,} texts sent in the database, "
        f"{result.received:,} received by the stand-in; sent twice {result.twice}, "
        f"lost {result.lost}, not sent {result.unsent}, retried {result.retried}, "
        f"sids {'distinct' if result.sids_distinct else 'NOT distinct or unknown'}"
    )
    lines.append(
        f"  worker log lines: {result.worker_log_lines:,}"
        + (
            " (" + ", ".join(f"{k} {n:,}" for k, n in result.log_sources.most_common(4)) + ")"
            if result.log_sources
            else ""
        )
    )
    lines += [f"    {line}" for line in result.worker_warnings]
    return "\n".join(lines)


def render_profile(result: Result) -> str:
    assert result.profile is not None
    backlog = result.phases[0]
    rate = result.profile_texts / result.profile_seconds if result.profile_seconds else math.nan
    head = (
        f"\n== profile: the worker on {result.db}, py-spy, a backlog of "
        f"{result.profile_texts:,} texts: {_f(rate, 0)} texts/s while sampled"
    )
    return (
        head
        + "\n"
        + profiling.render(result.profile, backlog.cpu_ms_per_text)
        .replace("server CPU per request", "worker CPU per text")
        .replace("ms of CPU per request", "ms of CPU per text")
    )


def render_checks(results: list[Result]) -> tuple[str, bool]:
    lines = ["", "== checks", ""]
    all_ok = True
    for r in results:
        where = f"{r.db}, {r.workers} worker(s)"
        once = r.twice == 0 and r.lost == 0 and r.unsent == 0 and r.sids_distinct
        all_ok &= once
        lines.append(
            f"  {'PASS' if once else 'FAIL'}  {where}: every text sent exactly once "
            f"({r.db_sent:,} of {r.db_texts:,}; twice {r.twice}, lost {r.lost}, "
            f"not sent {r.unsent})"
        )
        top = max(r.rss_end_mb, default=math.nan)
        ok = top <= MAX_RSS_MB
        all_ok &= ok
        lines.append(
            f"  {'PASS' if ok else 'FAIL'}  {where}: worker RSS <= {MAX_RSS_MB:.0f} MB: "
            + ", ".join(f"{v:.1f} MB" for v in r.rss_end_mb)
        )
    by_workers = {r.workers: r for r in results}
    if 1 in by_workers and len(by_workers) > 1:
        one = by_workers[1].phases[0].drain_rate
        for n, r in sorted(by_workers.items()):
            if n > 1 and r.phases:
                lines.append(
                    f"  info  {n} workers drain {_f(r.phases[0].drain_rate, 0)} texts/s "
                    f"against 1 worker's {_f(one, 0)}: x{r.phases[0].drain_rate / one:.2f}"
                )
    lines.append(
        "  (the issue sets no throughput target for delivery; the figures are for the record)"
    )
    return "\n".join(lines), all_ok


# --- the command ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.notifications",
        description="Throughput of notification delivery (coachline worker) to a local stand-in "
        "for Twilio's Messages API.",
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--texts", type=int, help="missed-call texts queued at once (2,000)")
    parser.add_argument(
        "--workers", help="worker processes, each count a fresh run (PostgreSQL 1,2; SQLite 1)"
    )
    parser.add_argument(
        "--steady-rate", type=float, default=20.0, help="steady arrivals, texts/s (20)"
    )
    parser.add_argument(
        "--steady-seconds", type=float, help="seconds of steady arrivals (10; 0: skip)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 500 texts, 5 s of steady arrivals"
    )
    parser.add_argument(
        "--quiet-wait", type=float, help="seconds to wait for a quiet machine before each (15)"
    )
    parser.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help="skip the py-spy profile of the worker (one more backlog, 1 worker only)",
    )
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--postgres-url", default=POSTGRES_SERVER_URL)
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    args.texts = args.texts or (500 if args.quick else 2000)
    if args.steady_seconds is None:
        args.steady_seconds = 5.0 if args.quick else 10.0
    if args.quiet_wait is None:
        args.quiet_wait = 5.0 if args.quick else 15.0
    default_workers = "1,2" if args.db == "postgresql" else "1"
    args.worker_counts = [int(n) for n in (args.workers or default_workers).split(",") if n]
    if not args.worker_counts or min(args.worker_counts) < 1 or max(args.worker_counts) > 16:
        parser.error("--workers: counts from 1 to 16")
    if args.texts < 1:
        parser.error("--texts: at least 1")
    if args.profile and profiling.pyspy_path() is None:
        log("py-spy not found (.venv/bin/pip install py-spy): the profile is skipped")
        args.profile = False
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    started = time.perf_counter()
    env_options = Options(
        args.db, PEOPLE, [], None, 0, 0, "-", 0, 0, 0, args.seed, args.postgres_url
    )
    poll = Settings(_env_file=None).worker_poll_seconds
    with tempfile.TemporaryDirectory(prefix="coachline-bench-") as tmp:
        out_dir = Path(tmp) if args.no_save else RESULTS / f"notifications-{args.db}-{stamp}"
        out_dir.mkdir(parents=True, exist_ok=True)
        report = [
            "coachline notification-delivery benchmark, "
            + datetime.now().isoformat(timespec="seconds"),
            environment(env_options).replace(", client -", ""),
            f"worker: `coachline worker` processes (a pass: escalation, retention, then up to 20 "
            f"due texts; WORKER_POLL_SECONDS {poll:g} when a pass found nothing); Twilio: "
            "bench/messages_api.py, its own process on 127.0.0.1",
            f"backlog: {args.texts:,} missed-call texts queued at once; steady: "
            + (
                f"{args.steady_rate:g} texts/s for {args.steady_seconds:g} s, each queued in its "
                "own transaction"
                if args.steady_seconds > 0
                else "skipped"
            ),
        ]
        print("\n".join(report), flush=True)
        results = []
        for count in args.worker_counts:
            workdir = Path(tmp) / f"w{count}"
            workdir.mkdir()
            result = bench_workers(args, count, workdir, out_dir)
            results.append(result)
            block = render(result, args)
            report.append(block)
            print(block, flush=True)
        checks, all_ok = render_checks(results)
        report.append(checks)
        print(checks, flush=True)
        for result in results:
            if result.profile is not None:
                block = render_profile(result)
                report.append(block)
                print(block, flush=True)
        tail = f"\ntotal time {time.perf_counter() - started:.0f} s"
        if not args.no_save:
            tail += f"; report and worker logs in {out_dir.relative_to(REPO)}/"
        report.append(tail)
        print(tail, flush=True)
        if not args.no_save:
            (out_dir / "report.txt").write_text("\n".join(report) + "\n")
            (out_dir / "results.json").write_text(json.dumps(_as_json(args, results), indent=2))
    return 0 if all_ok else 1


def _as_json(args: argparse.Namespace, results: list[Result]) -> dict[str, Any]:
    return {
        "db": args.db,
        "texts": args.texts,
        "steady_rate": args.steady_rate,
        "steady_seconds": args.steady_seconds,
        "cores": os.cpu_count(),
        "runs": [
            {
                "workers": r.workers,
                "rss_start_mb": [round(v, 1) for v in r.rss_start_mb],
                "rss_end_mb": [round(v, 1) for v in r.rss_end_mb],
                "sent": r.db_sent,
                "received": r.received,
                "twice": r.twice,
                "lost": r.lost,
                "unsent": r.unsent,
                "retried": r.retried,
                "phases": [
                    {
                        "phase": p.name,
                        "texts": p.texts,
                        "seconds": round(p.seconds, 3),
                        "throughput": round(p.throughput, 1),
                        "drain_rate": round(p.drain_rate, 1)
                        if not math.isnan(p.drain_rate)
                        else None,
                        "p50_s": round(_quantile(p.latencies, 0.5), 4),
                        "p99_s": round(_quantile(p.latencies, 0.99), 4),
                        "cpu": {k: round(v, 3) for k, v in p.cpu.items()},
                        "statuses": p.statuses,
                    }
                    for p in r.phases
                ],
            }
            for r in results
        ],
    }


if __name__ == "__main__":
    sys.exit(main())
