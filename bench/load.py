"""The load generator: signed Twilio webhooks, sent closed-loop over keep-alive connections.

It runs in the benchmark's own process, never the server's. Every request is prepared
(form body, `X-Twilio-Signature`, the whole HTTP/1.1 request as bytes) before the clock
starts, so the timed loop does nothing but write, read and take the time.

Two clients: `raw` (asyncio streams on uvloop, writing the prepared bytes and reading the
response by Content-Length) and `httpx` (`httpx.AsyncClient` with keep-alive). httpx costs
several times more CPU per request than the raw client; at the rates of the static ceiling
that makes the client, not the server, the bottleneck (see README.md), so `raw` is the default.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

import httpx
from twilio.request_validator import RequestValidator

from bench.seed import ACCOUNT_SID, LINE_NUMBER
from bench.serve import AUTH_TOKEN, HOST, PUBLIC_BASE_URL, cpu_seconds, machine_busy

API_VERSION = "2010-04-01"
USER_AGENT = "TwilioProxy/1.1"
REQUEST_TIMEOUT = 30.0

# A response's kind, from its status and body; kinds in ERROR_KINDS count as errors.
Classifier = Callable[[int, bytes], str]
ERROR_KINDS = frozenset({"http_error", "not_twiml", "error_fallback", "connection_error"})


@dataclass(frozen=True)
class Prepared:
    """One request, ready to send: for httpx (path, headers, body) and as raw bytes."""

    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    raw: bytes


def call_sid(rng: random.Random) -> str:
    return f"CA{rng.getrandbits(128):032x}"


def incoming_call_params(rng: random.Random, from_: str) -> dict[str, str]:
    """What Twilio posts to the Voice URL when a call comes in (a new CallSid each time)."""
    to = LINE_NUMBER
    params = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": API_VERSION,
        "CallSid": call_sid(rng),
        "CallStatus": "ringing",
        "CallToken": f"%7B%22parentCallInfoToken%22%3A%22{rng.getrandbits(512):0128x}%22%7D",
        "Direction": "inbound",
        "From": from_,
        "To": to,
        "Caller": from_,
        "Called": to,
        "StirVerstat": "TN-Validation-Passed-A",
    }
    for prefix, number in (("From", from_), ("Caller", from_), ("To", to), ("Called", to)):
        params[f"{prefix}City"] = "SAINT LOUIS"
        params[f"{prefix}State"] = "MO"
        params[f"{prefix}Zip"] = "63103" if number == from_ else "63101"
        params[f"{prefix}Country"] = "US"
    return params


def prepare(
    path: str, params: dict[str, str], *, port: int, signed_path: str, token: str
) -> Prepared:
    """A form POST signed exactly as Twilio signs it: over the public URL and every field."""
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        PUBLIC_BASE_URL + signed_path, params
    )
    body = urlencode(params).encode()
    headers = (
        ("Host", f"{HOST}:{port}"),
        ("User-Agent", USER_AGENT),
        ("Accept", "*/*"),
        ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        ("X-Twilio-Signature", signature),
        ("I-Twilio-Idempotency-Token", token),
    )
    head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    head += f"Content-Length: {len(body)}\r\n\r\n"
    return Prepared(path, headers[1:], body, head.encode() + body)


def resigned(request: Prepared, path: str, port: int) -> Prepared:
    """The same request, posted to `path` and signed for it (its fields and idempotency token
    kept)."""
    params = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
    token = dict(request.headers)["I-Twilio-Idempotency-Token"]
    return prepare(path, params, port=port, signed_path=path, token=token)


def incoming_calls(
    rng: random.Random,
    phones: Sequence[str],
    count: int,
    *,
    port: int,
    path: str,
    signed_path: str = "/twilio/voice",
) -> list[Prepared]:
    """`count` incoming calls from random seeded clients, each with its own CallSid."""
    requests = []
    for _ in range(count):
        params = incoming_call_params(rng, rng.choice(phones))
        token = f"{params['CallSid']}-{rng.getrandbits(32):08x}"
        requests.append(prepare(path, params, port=port, signed_path=signed_path, token=token))
    return requests


class RequestPool:
    """Hands out prepared requests: each once (`cycle=False`), or round and round, up to `limit`."""

    def __init__(
        self, requests: Sequence[Prepared], *, cycle: bool = False, limit: int | None = None
    ):
        if not requests:
            raise ValueError("no requests")
        self.requests = requests
        self.cycle = cycle
        self.limit = limit if limit is not None else (None if cycle else len(requests))
        self.taken = 0

    def next(self) -> Prepared | None:
        if self.limit is not None and self.taken >= self.limit:
            return None
        if not self.cycle and self.taken >= len(self.requests):
            return None
        request = self.requests[self.taken % len(self.requests)]
        self.taken += 1
        return request

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.taken >= self.limit


@dataclass
class RunResult:
    label: str
    concurrency: int
    seconds: float
    latencies_ns: list[int]
    kinds: Counter[str]
    server_cpu: float  # share of one core
    client_cpu: float  # share of one core
    machine_cpu: float  # share of all cores
    db_cpu: float  # share of one core: the database's own processes (PostgreSQL backends)
    cores: int
    pool_exhausted: bool = False
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def other_cpu(self) -> float:
        """Share of one core used by everything else on the machine: other people's work."""
        return self.machine_cpu * self.cores - self.server_cpu - self.client_cpu - self.db_cpu

    @property
    def requests(self) -> int:
        return len(self.latencies_ns)

    @property
    def errors(self) -> int:
        return sum(n for kind, n in self.kinds.items() if kind in ERROR_KINDS)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_ns:
            return math.nan
        ordered = self.latencies_ns  # sorted once the run ends
        rank = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
        return ordered[rank] / 1e6

    @property
    def max_ms(self) -> float:
        return self.latencies_ns[-1] / 1e6 if self.latencies_ns else math.nan


def merged(runs: Sequence[RunResult]) -> RunResult:
    """One endpoint's rounds at one concurrency as one run: every request and answer, the
    time of all rounds, and the CPU shares weighted by each round's time. `extra` keeps the
    figures every round adds to (the requests sent)."""
    seconds = sum(r.seconds for r in runs)

    def share(of: Callable[[RunResult], float]) -> float:
        return sum(of(r) * r.seconds for r in runs) / seconds if seconds > 0 else math.nan

    extra: dict[str, float] = {}
    for run in runs:
        for key, value in run.extra.items():
            extra[key] = extra.get(key, 0.0) + value
    return RunResult(
        label=runs[0].label,
        concurrency=runs[0].concurrency,
        seconds=seconds,
        latencies_ns=sorted(ns for r in runs for ns in r.latencies_ns),
        kinds=sum((r.kinds for r in runs), Counter()),
        server_cpu=share(lambda r: r.server_cpu),
        client_cpu=share(lambda r: r.client_cpu),
        machine_cpu=share(lambda r: r.machine_cpu),
        db_cpu=share(lambda r: r.db_cpu),
        cores=runs[0].cores,
        pool_exhausted=any(r.pool_exhausted for r in runs),
        extra=extra,
    )


# --- connections ---------------------------------------------------------------------------


class _RawConnection:
    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def send(self, request: Prepared) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(request.raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length: int | None = None
        chunked = close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size + 2))
            body = b"".join(p[:-2] for p in parts)
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            body = await self.reader.read()
            close = True
        if close:
            await self.close()
        return status, body


class _HttpxConnection:
    def __init__(self, client: httpx.AsyncClient):
        self.client = client

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def send(self, request: Prepared) -> tuple[int, bytes]:
        response = await self.client.post(
            request.path, content=request.body, headers=request.headers
        )
        return response.status_code, response.content


# --- the closed loop -----------------------------------------------------------------------


async def _worker(
    conn: _RawConnection | _HttpxConnection,
    pool: RequestPool,
    deadline: float,
    classify: Classifier,
    latencies: list[int],
    kinds: Counter[str],
) -> None:
    clock = time.perf_counter_ns
    while time.monotonic() < deadline:
        request = pool.next()
        if request is None:
            return
        start = clock()
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                status, body = await conn.send(request)
            kind = classify(status, body)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, httpx.HTTPError, ValueError):
            kind = "connection_error"
            await conn.close()
        latencies.append(clock() - start)
        kinds[kind] += 1


async def _closed_loop(
    connections: Sequence[_RawConnection | _HttpxConnection],
    pool: RequestPool,
    seconds: float,
    classify: Classifier,
) -> tuple[list[int], Counter[str], float]:
    latencies: list[int] = []
    kinds: Counter[str] = Counter()
    start = time.monotonic()
    await asyncio.gather(
        *(_worker(c, pool, start + seconds, classify, latencies, kinds) for c in connections)
    )
    return latencies, kinds, time.monotonic() - start


@dataclass(frozen=True)
class LoadSpec:
    label: str
    concurrency: int
    warmup: RequestPool
    warmup_seconds: float
    pool: RequestPool
    seconds: float  # the measurement stops at this time or when the pool runs out


def _cpu_of(pids: Sequence[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        try:
            seconds[pid] = cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return seconds


async def run(
    spec: LoadSpec,
    *,
    port: int,
    server_pids: Sequence[int],
    client: str,
    classify: Classifier,
    db_pids: Callable[[], list[int]] | None = None,
) -> RunResult:
    """Warm up, then measure: `spec.concurrency` connections, each sending its next request as
    soon as the previous answer is in."""
    httpx_client: httpx.AsyncClient | None = None
    connections: list[_RawConnection | _HttpxConnection]
    if client == "httpx":
        limits = httpx.Limits(
            max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency
        )
        httpx_client = httpx.AsyncClient(
            base_url=f"http://{HOST}:{port}", limits=limits, timeout=REQUEST_TIMEOUT
        )
        connections = [_HttpxConnection(httpx_client) for _ in range(spec.concurrency)]
    else:
        connections = [_RawConnection(port) for _ in range(spec.concurrency)]
    try:
        for conn in connections:
            await conn.open()
        await _closed_loop(connections, spec.warmup, spec.warmup_seconds, classify)
        db0 = _cpu_of(db_pids()) if db_pids else {}
        server0, client0, (busy0, total0) = (
            sum(_cpu_of(server_pids).values()),
            time.process_time(),
            machine_busy(),
        )
        latencies, kinds, elapsed = await _closed_loop(
            connections, spec.pool, spec.seconds, classify
        )
        server1, client1, (busy1, total1) = (
            sum(_cpu_of(server_pids).values()),
            time.process_time(),
            machine_busy(),
        )
        db1 = _cpu_of(db_pids()) if db_pids else {}
    finally:
        for conn in connections:
            await conn.close()
        if httpx_client is not None:
            await httpx_client.aclose()
    latencies.sort()
    return RunResult(
        label=spec.label,
        concurrency=spec.concurrency,
        seconds=elapsed,
        latencies_ns=latencies,
        kinds=kinds,
        server_cpu=(server1 - server0) / elapsed,
        client_cpu=(client1 - client0) / elapsed,
        machine_cpu=(busy1 - busy0) / (total1 - total0) if total1 > total0 else math.nan,
        db_cpu=sum(cpu - db0.get(pid, 0.0) for pid, cpu in db1.items()) / elapsed,
        cores=len(os.sched_getaffinity(0)),
        pool_exhausted=spec.pool.exhausted,
    )


def wait_for_quiet(max_wait: float, log: Callable[[str], None], threshold: float = 0.25) -> float:
    """Wait (at most `max_wait` s) until the machine is quiet: other processes using no more
    than `threshold` of one core over a second. Returns the last reading."""
    cores = len(os.sched_getaffinity(0))
    deadline = time.monotonic() + max_wait
    told = False
    while True:
        busy0, total0 = machine_busy()
        time.sleep(1.0)
        busy1, total1 = machine_busy()
        used = (busy1 - busy0) / (total1 - total0) * cores if total1 > total0 else 0.0
        if used <= threshold or time.monotonic() >= deadline:
            if told or used > threshold:
                log(f"  machine busy with other work: {used * 100:.0f}% of a core")
            return used
        if not told:
            log(f"  waiting for other processes to quiet down ({used * 100:.0f}% of a core busy)")
            told = True


def new_runner() -> asyncio.Runner:
    """An event loop for the load generator: uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


# --- incoming texts (the Messaging webhook) ------------------------------------------------

# US long codes text through a Messaging Service (A2P 10DLC registration), so Twilio's
# webhook carries its sid.
MESSAGING_SERVICE_SID = "MG" + "0" * 31 + "1"


def message_sid(rng: random.Random) -> str:
    return f"SM{rng.getrandbits(128):032x}"


def num_segments(body: str) -> int:
    """SMS segments of `body`: 160/153 characters in GSM-7, 70/67 UTF-16 units otherwise (an
    approximation of GSM-7: ASCII only)."""
    if body.isascii():
        single, multi, units = 160, 153, len(body)
    else:
        single, multi, units = 70, 67, len(body.encode("utf-16-le")) // 2
    return 1 if units <= single else math.ceil(units / multi)


def incoming_text_params(
    rng: random.Random,
    from_: str,
    body: str,
    *,
    messaging_service_sid: str | None = MESSAGING_SERVICE_SID,
) -> dict[str, str]:
    """What Twilio posts to the Messaging URL when a text comes in (a new MessageSid each
    time; SmsMessageSid and SmsSid are the same sid, kept for older apps), in Twilio's order."""
    sid = message_sid(rng)
    params = {
        "ToCountry": "US",
        "ToState": "MO",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "SAINT LOUIS",
        "FromZip": "63103",
        "SmsSid": sid,
        "FromState": "MO",
        "SmsStatus": "received",
        "FromCity": "SAINT LOUIS",
        "Body": body,
        "FromCountry": "US",
        "To": LINE_NUMBER,
        "MessagingServiceSid": messaging_service_sid or "",
        "ToZip": "63101",
        "NumSegments": str(num_segments(body)),
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    if not messaging_service_sid:
        del params["MessagingServiceSid"]
    return params


def incoming_texts(
    rng: random.Random,
    texts: Sequence[tuple[str, str]],
    *,
    port: int,
    path: str,
    signed_path: str = "/twilio/sms",
) -> list[Prepared]:
    """Each (from, body) of `texts` as Twilio posts it, signed, with its own MessageSid."""
    requests = []
    for from_, body in texts:
        params = incoming_text_params(rng, from_, body)
        token = f"{params['MessageSid']}-{rng.getrandbits(32):08x}"
        requests.append(prepare(path, params, port=port, signed_path=signed_path, token=token))
    return requests
