"""What every benchmark shares: the tree under test, a database of its own, the real server
(uvicorn, one worker, a subprocess), and a small HTTP client that times the webhooks
(`bench.twilio_requests` signs them as Twilio does).

The server side is only `uvicorn app.main:app` with settings in the environment, the HTTP
routes, and the command line (`migrate`, `create-user`, `set-password`, `worker`), run with
PYTHONPATH at `--app-dir`, so the same benchmark measures another checkout of the line (the
tables it seeds come from that checkout's `app.models`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
PG_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "b" * 32
LINE_NUMBER = "+13145550100"
PUBLIC_BASE_URL = "https://line.example.org"
UNLIMITED = "1000000 per second"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--quick", action="store_true", help="smaller and shorter: a smoke run")
    p.add_argument("--app-dir", type=Path, default=REPO, help="the checkout of the line to serve")
    p.add_argument("--pg-url", default=PG_SERVER_URL, help="a PostgreSQL database to start from")
    return p


def use_app(app_dir: Path) -> Path:
    """Import `app` (for its tables) from `app_dir`; the servers run from it too."""
    app_dir = app_dir.resolve()
    if not (app_dir / "app" / "main.py").is_file():
        sys.exit(f"{app_dir} is not a checkout of the line (no app/main.py)")
    sys.path.insert(0, str(app_dir))
    return app_dir


def line_env(app_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DATABASE_"))}
    env.update(
        PYTHONPATH=str(app_dir),
        DATABASE_URL=database_url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_PHONE_NUMBER=LINE_NUMBER,
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        SESSION_SECRET="bench-" + "s" * 40,
        RUN_WORKER="false",
        CALL_RATE_LIMIT=UNLIMITED,
        TEXT_RATE_LIMIT=UNLIMITED,
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def coachline(env: dict[str, str], cwd: Path, *args: str, stdin: str = "") -> str:
    """Run the line's command line (`coachline ARGS`) from the tree in env's PYTHONPATH."""
    done = subprocess.run(
        [PYTHON, "-c", "from app.cli import main; main()", *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,  # no terminal: a password prompt reads stdin
    )
    if done.returncode != 0:
        raise RuntimeError(f"coachline {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


# --- a database of the run's own -------------------------------------------------------------


class Database:
    """A SQLite file in `workdir`, or `coachline_bench_<pid>_<n>` on the local PostgreSQL
    (created through `server_url`'s database and dropped on exit), migrated to the schema of
    the tree under test."""

    count = 0

    def __init__(self, kind: str, workdir: Path, server_url: str = PG_SERVER_URL) -> None:
        Database.count += 1
        self.kind, self.workdir, self.server_url = kind, workdir, server_url
        self.name = f"coachline_bench_{os.getpid()}_{Database.count}"
        self.url = ""

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    def __enter__(self) -> Database:
        if self.kind == "sqlite":
            self.url = f"sqlite:///{self.workdir / self.name}.db"
        else:
            from sqlalchemy.engine import make_url

            self._admin(f"CREATE DATABASE {self.name}")
            url = make_url(self.server_url).set(database=self.name)
            self.url = url.render_as_string(hide_password=False)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.kind == "postgresql":
            self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.workdir / self.name}.db{suffix}").unlink(missing_ok=True)

    def migrate(self, app_dir: Path) -> None:
        coachline(line_env(app_dir, self.url), self.workdir, "migrate")


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="coachline-bench-") as path:
        yield Path(path)


# --- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """`uvicorn app.main:app`, one worker, on 127.0.0.1; its log in `workdir`."""

    def __init__(self, env: dict[str, str], workdir: Path, start_timeout: float = 60.0) -> None:
        self.port = free_port()
        self.log_path = workdir / f"server-{self.port}.log"
        self.env, self.workdir, self.start_timeout = env, workdir, start_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        cmd = [PYTHON, "-m", "uvicorn", "app.main:app", "--host", HOST, "--port", str(self.port)]
        cmd += ["--no-access-log", "--log-level", "warning"]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:  # uvicorn listens once the app has started
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log()}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 1):
                return self
            time.sleep(0.1)
        self.__exit__()
        raise TimeoutError(f"the server did not listen within {self.start_timeout:.0f} s")

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process has used, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the client --------------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection that sends prepared bytes and reads the answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status, length, chunked, close = int(head[9:12]), None, False, False
        for line in head.lower().split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                close = b"close" in value
        if chunked:
            body = b""
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            body, close = await self.reader.read(), True
        if close:
            await self.close()
        return status, body


@dataclass
class Run:
    """The latencies (ms, sorted) and answers of one measurement."""

    concurrency: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    answers: list[tuple[int, int, bytes]] = field(default_factory=list)  # (request, status, body)
    failures: int = 0  # no answer: timeout or connection error
    server_cpu: float = math.nan  # the server's CPU seconds during the run

    def pct(self, q: float) -> float:
        return percentile(self.latencies, q)


def percentile(values: list[float], q: float) -> float:
    """Nearest rank of sorted `values`."""
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


async def closed_loop(
    port: int, requests: list[bytes], concurrency: int, seconds: float, timeout: float = 20.0
) -> Run:
    """`concurrency` connections, each sending its next request as soon as its answer is in,
    until `seconds` have passed or the requests run out."""
    run = Run(concurrency)
    queue = iter(enumerate(requests))
    clock = time.perf_counter

    async def worker() -> None:
        conn = Connection(port)
        try:
            while clock() < deadline and (item := next(queue, None)) is not None:
                start = clock()
                try:
                    async with asyncio.timeout(timeout):
                        run.answers.append((item[0], *await conn.send(item[1])))
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                    run.failures += 1
                    await conn.close()
                run.latencies.append((clock() - start) * 1000)
        finally:
            await conn.close()

    start = clock()
    deadline = start + seconds
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.seconds = clock() - start
    run.latencies.sort()
    return run


def run_loop(coro: object) -> Run:
    import uvloop

    return uvloop.run(coro)  # type: ignore[arg-type]


# --- the report --------------------------------------------------------------------------------


class Targets:
    def __init__(self) -> None:
        self.failed = 0

    def check(self, what: str, value: float, limit: float, unit: str = "ms") -> None:
        ok = value <= limit
        self.failed += not ok
        print(
            f"  {'PASS' if ok else 'FAIL'}  {what}: {value:.2f} {unit} (target <= {limit} {unit})"
        )

    def truth(self, what: str, ok: bool) -> None:
        self.failed += not ok
        print(f"  {'PASS' if ok else 'FAIL'}  {what}")

    def exit_code(self) -> int:
        return 1 if self.failed else 0


def header(title: str, args: argparse.Namespace) -> None:
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"== {title}: {args.db}, tree {args.app_dir}, load average {' '.join(load)}")
    print("   (a shared 2-core machine: figures are noisy; compare runs taken close together)")
