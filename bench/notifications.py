"""Notification delivery: how long one worker takes to deliver N queued texts to therapists.

    .venv/bin/python -m bench.notifications [--db postgresql] [--quick] [--texts N]

N missed-call texts are seeded held back, `coachline worker` is started (as production runs
it, TWILIO_API_BASE_URL at a local stand-in for Twilio's Messages API), then all are made due
at once; the clock runs until none is queued. Checks: every text sent, each exactly once (by
what the stand-in received). No target: the figures are for the record, with the worker's RSS
(target <= 150 MB).
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from bench.common import (
    HOST,
    PYTHON,
    Database,
    Targets,
    header,
    line_env,
    parser,
    rss_mb,
    use_app,
    workdir,
)


class MessagesApi(BaseHTTPRequestHandler):
    """Twilio's Messages API as the worker uses it: POST .../Messages.json answers 201 with the
    new message; GET .../Messages.json (the check for a text in doubt) lists what was sent."""

    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # headers and body are two writes
    received: list[tuple[str, str]] = []
    sids = itertools.count(1)

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802
        form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"] or 0)).decode()))
        if not self.path.endswith("/Messages.json"):
            return self._answer(404, {"code": 20404, "status": 404, "message": "not found"})
        self.received.append((form.get("To", ""), form.get("Body", "")))
        sid = f"SM{next(self.sids):032x}"
        message = {"sid": sid, "status": "queued", "to": form.get("To"), "from": form.get("From")}
        self._answer(201, {**message, "body": form.get("Body"), "error_code": None})

    def do_GET(self) -> None:  # noqa: N802
        page = {"messages": [], "page": 0, "page_size": 50, "next_page_uri": None}
        self._answer(200, {**page, "uri": self.path, "first_page_uri": self.path})

    def log_message(self, *_args: object) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--texts", type=int, help="texts queued at once: 2,000 (--quick 300)")
    args = p.parse_args(argv)
    args.app_dir = use_app(args.app_dir)
    texts = args.texts or (300 if args.quick else 2000)
    header("notification delivery", args)
    from bench import seed

    targets = Targets()
    api = ThreadingHTTPServer((HOST, 0), MessagesApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    with workdir() as wd, Database(args.db, wd, args.pg_url) as db:
        db.migrate(args.app_dir)
        seed.seed(db.url, 20, 0)
        seed.queue_texts(db.url, texts, due_at=datetime.now(UTC) + timedelta(days=1))
        env = line_env(args.app_dir, db.url, TWILIO_API_BASE_URL=f"http://{HOST}:{api.server_port}")
        with open(wd / "worker.log", "wb") as log:
            worker = subprocess.Popen(
                [PYTHON, "-c", "from app.cli import main; main()", "worker"],
                cwd=wd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            time.sleep(4.0)  # started, and idle: nothing is due yet
            idle_rss = rss_mb(worker.pid)
            start = time.perf_counter()
            seed.release_texts(db.url)
            deadline, counts = start + 60 + texts / 5, {}
            while time.perf_counter() < deadline and worker.poll() is None:
                counts = seed.count_by_status(db.url)
                if not counts.get("queued") and not counts.get("sending"):
                    break
                time.sleep(0.05)
            took = time.perf_counter() - start
            busy_rss = rss_mb(worker.pid)
        finally:
            worker.send_signal(signal.SIGINT)
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            api.shutdown()
        log_tail = (wd / "worker.log").read_text(errors="replace").splitlines()[-5:]
    sent = counts.get("sent", 0)
    twice = sum(n - 1 for n in Counter(MessagesApi.received).values() if n > 1)
    print(
        f"-- {texts:,} texts queued at once, 1 worker: {sent:,} sent in {took:.1f} s"
        f" ({sent / took:.0f} texts/s); by status {counts}"
    )
    print(f"   the stand-in received {len(MessagesApi.received):,} texts, {twice} more than once")
    print(f"   worker RSS: {idle_rss:.0f} MB idle, {busy_rss:.0f} MB after the backlog")
    if sent != texts:
        print("   the worker's log (last lines):\n   " + "\n   ".join(log_tail))
    targets.truth("every text sent, none twice", sent == texts == len(MessagesApi.received))
    targets.check("worker RSS", busy_rss, 150, "MB")
    return targets.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
