"""The server under test: `uvicorn bench.server:app` in a process of its own, with one worker
(per-worker figures) or several (`--workers N`, as the Dockerfile runs it)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from app.settings import Settings
from bench.seed import ACCOUNT_SID, LINE_NUMBER, PRACTICE_TZ, REPO

PUBLIC_BASE_URL = "https://line.example.org"
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def line_settings(database_url: str) -> dict[str, str]:
    """The line's settings for the benchmark, as the environment variables the server reads."""
    return {
        "DATABASE_URL": database_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": LINE_NUMBER,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "PRACTICE_TIMEZONE": PRACTICE_TZ,
        "RUN_WORKER": "false",
        # The load replays the same clients' numbers far faster than any person calls: lift
        # the per-number limits, or the benchmark would time the limiter's short answer. Over
        # a second, not a minute: the limiter keeps each number's hits in its window, and a
        # minute of the empty database's 100 numbers at 2,000 calls a second is about 1,200
        # hits a number, copied on every call (32 us measured), where the line's own limit
        # (6 per 10 minutes) keeps at most 6.
        "CALL_RATE_LIMIT": "1000000 per second",
        "TEXT_RATE_LIMIT": "1000000 per second",
        **(
            {"REQUEST_THREADS": os.environ["REQUEST_THREADS"]}
            if "REQUEST_THREADS" in os.environ
            else {}
        ),
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str) -> dict[str, str]:
    # Only the benchmark's settings: none of the caller's own line settings leak in.
    known = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in known}
    env.update(line_settings(database_url))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(child) for child in f.read().split()]
    except FileNotFoundError:
        return []


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS line")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return float(total - idle), float(total)


class Server:
    """`with Server(url, workdir) as server:` serves the line on 127.0.0.1:<port> until exit.

    The server runs in `workdir` (so no `.env` of the developer's is read) with the repository
    on its path, logs (warnings and up, no access log) to `workdir/server-<port>.log`.
    """

    def __init__(
        self, database_url: str, workdir: Path, *, workers: int = 1, startup_timeout: float = 60.0
    ):
        self.database_url = database_url
        self.workers = workers
        self.workdir = workdir
        self.port = free_port()
        self.startup_timeout = startup_timeout
        self.log_path = workdir / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def worker_pids(self) -> list[int]:
        """The processes that answer requests: uvicorn itself with one worker, else the
        workers its supervisor started."""
        if self.workers == 1:
            return [self.pid]
        return _children(self.pid)

    @property
    def pids(self) -> list[int]:
        """Every process of the server (its CPU time is theirs together)."""
        return [self.pid] if self.workers == 1 else [self.pid, *_children(self.pid)]

    def __enter__(self) -> Server:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.server:app",
            "--app-dir",
            str(REPO),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--no-access-log",
            "--log-level",
            "warning",
            *(["--workers", str(self.workers)] if self.workers > 1 else []),
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=server_env(self.database_url),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                tail = "\n".join(self.log_lines()[-15:])
                raise RuntimeError(f"the server exited at start:\n{tail}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                if status == 200 and len(self.worker_pids) >= self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer /healthz in time; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log_lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []
