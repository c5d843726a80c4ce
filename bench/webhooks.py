"""Latency of the webhooks Twilio calls most: the incoming call, the Dial result and the
incoming text, at 1 and 10 concurrent requests, on an empty and a full database.

    .venv/bin/python -m bench.webhooks [--db postgresql] [--quick] [--app-dir /tmp/before]

Targets (the incoming call, full database, one uvicorn worker): p50 <= 5 ms and p99 <= 15 ms
at 1 concurrent, p99 <= 50 ms at 10; full within 1.2x of empty (p50 at 1 concurrent); no
errors; the worker's RSS <= 150 MB. The Dial result and the text are measured for the record.
"""

from __future__ import annotations

import html
import random
import re
import time
from collections import Counter
from pathlib import Path

from bench.common import (
    PUBLIC_BASE_URL,
    Database,
    Run,
    Server,
    Targets,
    closed_loop,
    cpu_seconds,
    header,
    line_env,
    parser,
    rss_mb,
    run_loop,
    use_app,
    workdir,
)
from bench.twilio_requests import call_params, dial_params, signed, text_params

LEVELS = (1, 10)
ENDPOINTS = ("voice", "dial-result", "sms")
TEXTS = (  # a coaching line's mix of incoming texts
    *["check-in"] * 4,
    "Check in",
    *["3"] * 2,
    "win: used opposite action and went to group",
    *["ok thanks"] * 2,
    "help",
)
VERBS = (b"<Dial", b"<Record", b"<Gather", b"<Message", b"<Redirect", b"<Say", b"<Hangup")
ACTION = re.compile(rb'action="([^"]*dial-result[^"]*)"')


def kind(status: int, body: bytes) -> str:
    """What an answer does: its main TwiML verb; "sorry" for the line's apology (the crisis
    resources it gives when something failed), an error like a failed request."""
    if status != 200 or b"<Response" not in body:
        return f"HTTP {status}" if status != 200 else "not TwiML"
    verb = next((v for v in VERBS if v in body), None)
    if verb in (None, b"<Say", b"<Hangup") and b"sorry" in body.lower():
        return "sorry"
    return verb[1:].decode().lower() if verb else "empty"


def errors(run: Run) -> int:
    kinds = (kind(status, body) for _, status, body in run.answers)
    return run.failures + sum(1 for k in kinds if k.startswith(("HTTP", "not", "sorry")))


class State:
    """One database state served by one server: the requests it gets, and the runs."""

    def __init__(self, name: str, server: Server, phones: list[str]) -> None:
        self.name, self.server, self.phones = name, server, phones
        self.rng = random.Random(f"{name}-7")
        self.runs: dict[tuple[str, int], Run] = {}
        self.dialed: list[tuple[str, str, str]] = []  # (CallSid, caller, the Dial's action)
        self.rss = 0.0
        self.share = 0

    def sid(self, prefix: str) -> str:
        return f"{prefix}{self.rng.getrandbits(128):032x}"

    def requests(self, endpoint: str, count: int) -> tuple[list[bytes], list[tuple[str, str]]]:
        port, out, calls = self.server.port, [], []
        for _ in range(count):
            caller = self.rng.choice(self.phones)
            if endpoint == "voice":
                sid = self.sid("CA")
                calls.append((sid, caller))
                out.append(signed("/twilio/voice", call_params(sid, caller), port))
            elif endpoint == "sms":
                params = text_params(self.sid("SM"), caller, self.rng.choice(TEXTS))
                out.append(signed("/twilio/sms", params, port))
            elif self.dialed:  # the calls the line rang a therapist for, once each
                sid, caller, target = self.dialed.pop()
                status = self.rng.choice(("no-answer", "no-answer", "busy", "completed"))
                out.append(signed(target, dial_params(sid, caller, status), port))
        return out, calls

    def measure(self, endpoint: str, concurrency: int, seconds: float, warmup: float) -> Run:
        for span, store in ((warmup, False), (seconds, True)):
            count = int(span * 2500) + 50  # more than this machine answers
            if endpoint == "dial-result":  # of the dialed calls: 45% for each level, 5% to warm up
                self.share = self.share or len(self.dialed) // 20
                count = min(count, self.share * (9 if store else 1))
            requests, calls = self.requests(endpoint, count)
            cpu = cpu_seconds(self.server.pid)
            run = run_loop(closed_loop(self.server.port, requests, concurrency, span))
            run.server_cpu = cpu_seconds(self.server.pid) - cpu
            for index, _status, body in run.answers if endpoint == "voice" else ():
                if match := ACTION.search(body):
                    target = html.unescape(match.group(1).decode()).removeprefix(PUBLIC_BASE_URL)
                    self.dialed.append((*calls[index], target))
            if store:
                self.runs[endpoint, concurrency] = run
        return run


def bench_state(args, wd: Path, name: str, clients: int, calls: int) -> State:
    from bench import seed

    with Database(args.db, wd, args.pg_url) as db:
        db.migrate(args.app_dir)
        started = time.perf_counter()
        phones = seed.seed(db.url, clients, calls)
        took = time.perf_counter() - started
        print(f"-- {name}: {clients:,} clients, {calls:,} calls (seeded in {took:.0f} s)")
        with Server(line_env(args.app_dir, db.url), wd) as server:
            state = State(name, server, phones)
            for endpoint in ENDPOINTS:
                for concurrency in LEVELS:
                    run = state.measure(endpoint, concurrency, args.seconds, args.warmup)
                    show(name, endpoint, run)
            state.rss = rss_mb(server.pid)
            print(f"   server RSS after the runs: {state.rss:.0f} MB")
    return state


def show(state: str, endpoint: str, run: Run) -> None:
    kinds = Counter(kind(status, body) for _, status, body in run.answers)
    answers = ", ".join(f"{k} {n}" for k, n in kinds.most_common())
    print(
        f"   {state:5} {endpoint:11} c{run.concurrency:<2} {len(run.latencies):6,} req"
        f" {len(run.latencies) / run.seconds:6.0f}/s  p50 {run.pct(0.5):6.2f}"
        f"  p99 {run.pct(0.99):6.2f}  max {run.pct(1):7.2f} ms"
        f"  server CPU {run.server_cpu * 1000 / max(1, len(run.latencies)):5.2f} ms/req"
        f"  errors {errors(run)}"
        f"  ({answers})"
    )


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.split("\n")[0])
    p.add_argument(
        "--states", default="empty,full", help="empty, full, or empty,full (both, the default)"
    )
    p.add_argument("--clients", type=int, help="full database: 100,000 (--quick 10,000)")
    p.add_argument("--calls", type=int, help="full database: 1,000,000 (--quick 100,000)")
    p.add_argument("--seconds", type=float, help="each measurement: 10 s (--quick 3 s)")
    args = p.parse_args(argv)
    args.app_dir = use_app(args.app_dir)
    args.clients = args.clients or (10_000 if args.quick else 100_000)
    args.calls = args.calls if args.calls is not None else (100_000 if args.quick else 1_000_000)
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.warmup = 1.0 if args.quick else 2.0
    header("webhooks", args)
    sizes = {"empty": (20, 0), "full": (args.clients, args.calls)}
    states = {}
    with workdir() as wd:
        for name in args.states.split(","):
            states[name] = bench_state(args, wd, name, *sizes[name])
    targets = Targets()
    print("-- targets (incoming call, one worker)")
    for name, state in states.items():
        c1, c10 = state.runs["voice", 1], state.runs["voice", 10]
        if name == "full":
            targets.check("full, c1 p50", c1.pct(0.5), 5)
            targets.check("full, c1 p99", c1.pct(0.99), 15)
            targets.check("full, c10 p99", c10.pct(0.99), 50)
        targets.truth(
            f"{name}: no errors on any webhook", not any(map(errors, state.runs.values()))
        )
        targets.check(f"{name}: server RSS", state.rss, 150, "MB")
    if "empty" in states and "full" in states:
        for level in LEVELS:
            full, empty = states["full"].runs["voice", level], states["empty"].runs["voice", level]
            ratio = full.pct(0.5) / empty.pct(0.5)
            if level == 1:
                targets.check("full / empty, c1 p50", ratio, 1.2, "x")
            else:
                print(f"  (for the record: full / empty, c10 p50 {ratio:.2f}x)")
    return targets.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
