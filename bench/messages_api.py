"""A fast local stand-in for Twilio's Messages API, in a process of its own (for its CPU).

    .venv/bin/python -m bench.messages_api [--port 0]    # prints "port N" once it listens

The notification benchmark points the worker's TWILIO_API_BASE_URL here. It answers what the
worker's Twilio client asks, as Twilio documents it:

- `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (To, From, Body): 201 and the new
  message as JSON, with a new `SM...` sid;
- `GET .../Messages.json` (optionally filtered by To, From, DateSent>): a page of them,
  newest first; `GET .../Messages/{sid}.json`: one, or Twilio's 404 error body;

and keeps every message it was asked to send; `GET /_bench/received` returns them all
(to, from, body, sid, time received), so the benchmark can tell whether a text was sent twice.

It is asyncio (uvloop when installed) with HTTP/1.1 keep-alive and a few lines of parsing:
a small fraction of a core at the worker's rates, so it is never the bottleneck (the
benchmark prints its CPU to show it). The test suite's stand-in (`tests/fake_twilio.py`) is a
thread per connection and closes every connection; it is for behaviour, not speed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
import sys
import time
from email.utils import formatdate
from urllib.parse import parse_qsl, urlsplit

API = "/2010-04-01/Accounts/"
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 405: "Not Allowed"}


class MessagesApi:
    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.by_sid: dict[str, dict] = {}
        self._sids = itertools.count(1)

    def create(self, account: str, form: dict[str, str]) -> tuple[int, dict]:
        if not form.get("To") or not (form.get("Body") or form.get("MediaUrl")):
            return 400, _error(400, 21602, "Message body is required.")
        sid = f"SM{next(self._sids):032x}"
        now = formatdate(usegmt=True)
        message = {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{API}{account}/Messages/{sid}/Media.json"},
            "to": form.get("To"),
            "uri": f"{API}{account}/Messages/{sid}.json",
        }
        self.messages.append(message)
        self.by_sid[sid] = message
        message["_received"] = time.time()
        return 201, _public(message)

    def list(self, account: str, query: dict[str, str]) -> dict:
        found = [
            _public(m)
            for m in reversed(self.messages)
            if m["account_sid"] == account
            and m["to"] == query.get("To", m["to"])
            and m["from"] == query.get("From", m["from"])
        ]
        size = int(query.get("PageSize", 50))
        uri = f"{API}{account}/Messages.json"
        return {
            "messages": found[:size],
            "end": max(min(size, len(found)) - 1, 0),
            "first_page_uri": f"{uri}?PageSize={size}&Page=0",
            "next_page_uri": None,
            "page": 0,
            "page_size": size,
            "previous_page_uri": None,
            "start": 0,
            "uri": f"{uri}?PageSize={size}&Page=0",
        }

    def handle(self, method: str, target: str, body: bytes) -> tuple[int, dict | list]:
        url = urlsplit(target)
        if url.path == "/_bench/received":
            return 200, [
                [m["to"], m["from"], m["body"], m["sid"], m["_received"]] for m in self.messages
            ]
        if not url.path.startswith(API):
            return 404, _error(404, 20404, "The requested resource was not found")
        account, _, rest = url.path[len(API) :].partition("/")
        if rest == "Messages.json":
            if method == "POST":
                return self.create(account, dict(parse_qsl(body.decode(), keep_blank_values=True)))
            if method == "GET":
                return 200, self.list(account, dict(parse_qsl(url.query)))
            return 405, _error(405, 20004, "Method not allowed")
        if rest.startswith("Messages/") and rest.endswith(".json") and method == "GET":
            message = self.by_sid.get(rest[len("Messages/") : -len(".json")])
            if message is not None and message["account_sid"] == account:
                return 200, _public(message)
        return 404, _error(404, 20404, "The requested resource was not found")


def _public(message: dict) -> dict:
    return {k: v for k, v in message.items() if not k.startswith("_")}


def _error(status: int, code: int, text: str) -> dict:
    return {
        "code": code,
        "message": text,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


async def _serve_connection(
    api: MessagesApi, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            body = await reader.readexactly(length) if length else b""
            status, payload = api.handle(method, target, body)
            data = json.dumps(payload).encode()
            close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
            writer.write(
                (
                    f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
                    "Content-Type: application/json; charset=utf-8\r\n"
                    f"Content-Length: {len(data)}\r\n"
                    f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
                ).encode()
                + data
            )
            await writer.drain()
            if close:
                return
    finally:
        writer.close()


async def serve(port: int) -> None:
    api = MessagesApi()
    server = await asyncio.start_server(
        lambda r, w: _serve_connection(api, r, w), "127.0.0.1", port, backlog=512
    )
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.messages_api")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.run(serve(args.port))
    except ImportError:
        asyncio.run(serve(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
