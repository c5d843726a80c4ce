"""The hung database: the line's PostgreSQL accepts connections and never answers.

    .venv/bin/python -m bench.hung_database [--app-dir /tmp/before] [--waves 2]

The line is served with DATABASE_URL at a local TCP listener that accepts every connection
and never sends a byte. 40 concurrent webhooks (incoming calls, Dial results and texts, in
turn) are sent, and while they wait, the Voice fallback URL is called. Targets: every voice
webhook answers 200 with TwiML that gives 988 (as "988" or, spoken, "9 8 8") within 3 s; the
fallback within 0.5 s. The client gives up on a request after 20 s. `--waves N` sends the 40
again N - 1 times. Before each wave it pauses `--pause` s (8): longer than the line rests
after a database failure (DATABASE_REST_SECONDS, 5 s), so every wave finds it trying its
database again, the worst case. The server's start may itself have met the hung database.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time

from bench.common import (
    HOST,
    Connection,
    Server,
    Targets,
    header,
    line_env,
    parser,
    use_app,
    workdir,
)
from bench.twilio_requests import call_params, dial_params, signed, text_params

CONCURRENT = 40
TIMEOUT = 20.0
CALLER = "+13145550142"


class SilentListener:
    """Accepts TCP connections on 127.0.0.1 and holds them, never sending a byte."""

    def __init__(self) -> None:
        self.sock = socket.create_server((HOST, 0), backlog=1024)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.held.append(self.sock.accept()[0])

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


async def timed(port: int, raw: bytes, delay: float = 0.0) -> tuple[float, int, bytes]:
    await asyncio.sleep(delay)
    conn, start = Connection(port), time.perf_counter()
    try:
        async with asyncio.timeout(TIMEOUT):
            status, body = await conn.send(raw)
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
        status, body = 0, type(exc).__name__.encode()
    finally:
        await conn.close()
    return (time.perf_counter() - start) * 1000, status, body


async def wave(port: int, number: int) -> list[tuple[str, tuple[float, int, bytes]]]:
    kinds, requests = ("voice", "dial-result", "sms"), []
    for k in range(CONCURRENT):
        sid = f"{number:02d}{k:030x}"
        if kinds[k % 3] == "voice":
            raw = signed("/twilio/voice", call_params("CA" + sid, CALLER), port)
        elif kinds[k % 3] == "dial-result":
            params = dial_params("CA" + sid, CALLER, "no-answer")
            raw = signed("/twilio/voice/dial-result?tried=1", params, port)
        else:
            raw = signed("/twilio/sms", text_params("SM" + sid, CALLER, "check-in"), port)
        requests.append((kinds[k % 3], timed(port, raw)))
    fallback = signed("/twilio/voice/fallback", call_params("CA" + "f" * 32, CALLER), port)
    requests.append(("fallback", timed(port, fallback, delay=0.3)))  # while the others wait
    answers = await asyncio.gather(*(coro for _, coro in requests))
    return [(name, answer) for (name, _), answer in zip(requests, answers, strict=True)]


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--waves", type=int, default=2)
    p.add_argument("--pause", type=float, default=8.0, help="before each wave, seconds")
    args = p.parse_args(argv)
    args.app_dir, args.db = use_app(args.app_dir), "postgresql (hung)"
    header("hung database", args)
    targets = Targets()
    listener = SilentListener()
    url = f"postgresql+psycopg://postgres@127.0.0.1:{listener.port}/x"
    try:
        with workdir() as wd:
            env = line_env(args.app_dir, url)
            started = time.perf_counter()
            try:
                server = Server(env, wd, start_timeout=60).__enter__()
            except (TimeoutError, RuntimeError) as exc:
                print(f"  the server did not start with the hung database: {exc}")
                targets.truth("the line starts while its database hangs", False)
                return targets.exit_code()
            print(f"   the server listened {time.perf_counter() - started:.1f} s after its start")
            try:
                for number in range(1, args.waves + 1):
                    time.sleep(args.pause)  # past the line's rest after a failure: it tries again
                    report(number, asyncio.run(wave(server.port, number)), targets)
                    print(f"   connections to the hung database so far: {len(listener.held)}")
            finally:
                server.__exit__()
                print("-- the server's log (last lines)")
                print("   " + "\n   ".join(server.log().splitlines()[-8:]))
    finally:
        listener.close()
    return targets.exit_code()


def has_988(body: bytes) -> bool:
    """988 in the answer, as text or spelled out for the voice ("9 8 8")."""
    return b"988" in body or b"9 8 8" in body


def report(number: int, answers: list[tuple[str, tuple[float, int, bytes]]], targets: Targets):
    print(f"-- wave {number}: {CONCURRENT} webhooks at once, then the fallback")
    for name in ("voice", "dial-result", "sms", "fallback"):
        mine = [answer for kind, answer in answers if kind == name]
        slowest = max(ms for ms, _, _ in mine)
        statuses = sorted({status for _, status, _ in mine})
        with_988 = sum(1 for _, status, body in mine if status == 200 and has_988(body))
        in_time = sum(1 for ms, status, _ in mine if status == 200 and ms <= 3000)
        print(
            f"   {name:11} {len(mine):2} requests  max {slowest:8.1f} ms  status {statuses}"
            f"  200 within 3 s {in_time}/{len(mine)}  988 in {with_988}/{len(mine)}"
        )
        if name == "fallback":
            targets.check(f"wave {number}: the fallback answers", slowest, 500)
        elif name != "sms":
            targets.check(f"wave {number}: {name}, slowest answer", slowest, 3000)
        if name != "sms":
            targets.truth(f"wave {number}: {name}: 200 with 988, every one", with_988 == len(mine))


if __name__ == "__main__":
    raise SystemExit(main())
