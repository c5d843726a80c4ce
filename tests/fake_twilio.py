"""A local stand-in for Twilio's REST API, served over real HTTP on 127.0.0.1.

It answers the Messages resource as Twilio documents it (201 with a JSON message, or an
error body with Twilio's `code`), records every request, and can be told to fail next.
It also keeps IncomingPhoneNumbers (`add_number`): listed by GET, filtered by PhoneNumber,
and updated by POST to the number's own resource.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, str]
    account_sid: str


@dataclass
class Failure:
    status: int  # HTTP status to answer with; 0 means: hang past the client's timeout
    code: int | None = None
    message: str = "simulated failure"
    delay: float = 0.0


@dataclass
class FakeTwilio:
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    # IncomingPhoneNumbers by sid, as Twilio's JSON has them.
    numbers: dict[str, dict] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _sids = itertools.count(1)

    def add_number(self, phone_number: str, account_sid: str, **fields: str | None) -> dict:
        """An IncomingPhoneNumber in the account; unset webhook fields are null, methods POST."""
        sid = f"PN{next(self._sids):032x}"
        uri = f"/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers/{sid}.json"
        number = {
            "sid": sid,
            "account_sid": account_sid,
            "phone_number": phone_number,
            "friendly_name": phone_number,
            "api_version": "2010-04-01",
            "voice_url": None,
            "voice_method": "POST",
            "voice_fallback_url": None,
            "voice_fallback_method": "POST",
            "status_callback": None,
            "status_callback_method": "POST",
            "sms_url": None,
            "sms_method": "POST",
            "sms_fallback_url": None,
            "sms_fallback_method": "POST",
            "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
            "status": "in-use",
            "uri": uri,
            **fields,
        }
        self.numbers[sid] = number
        return number

    @property
    def number_updates(self) -> list[Recorded]:
        return [
            r for r in self.requests if r.method == "POST" and "/IncomingPhoneNumbers/" in r.path
        ]

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def messages(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/Messages.json")]

    def fail_next(self, *failures: Failure) -> None:
        self.failures.extend(failures)

    def __enter__(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _account(self) -> str:
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    return base64.b64decode(auth[6:]).decode().split(":", 1)[0]
                return ""

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                account = self._account()
                fake.requests.append(Recorded("GET", self.path, query, account))
                prefix = f"/2010-04-01/Accounts/{account}/IncomingPhoneNumbers"
                if url.path != prefix + ".json":
                    self._json(404, {"code": 20404, "message": "not found", "status": 404})
                    return
                found = [
                    n
                    for n in fake.numbers.values()
                    if n["account_sid"] == account
                    and n["phone_number"] == query.get("PhoneNumber", n["phone_number"])
                ]
                page_size = int(query.get("PageSize", 50))
                first = f"{prefix}.json?PageSize={page_size}&Page=0"
                self._json(
                    200,
                    {
                        "incoming_phone_numbers": found,
                        "page": 0,
                        "page_size": page_size,
                        "start": 0,
                        "end": max(len(found) - 1, 0),
                        "first_page_uri": first,
                        "previous_page_uri": None,
                        "next_page_uri": None,
                        "uri": self.path,
                    },
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                form = {k: v[-1] for k, v in parse_qs(raw).items()}
                account = self._account()
                if fake.failures:
                    failure = fake.failures.pop(0)
                    fake.requests.append(Recorded("POST", self.path, form, account))
                    if failure.delay or failure.status == 0:
                        time.sleep(failure.delay or 30)
                    if failure.status:
                        self._json(
                            failure.status,
                            {
                                "code": failure.code or failure.status,
                                "message": failure.message,
                                "more_info": "https://www.twilio.com/docs/errors",
                                "status": failure.status,
                            },
                        )
                    return
                fake.requests.append(Recorded("POST", self.path, form, account))
                if self.path.endswith("/Messages.json"):
                    sid = f"SM{next(fake._sids):032x}"
                    self._json(
                        201,
                        {
                            "sid": sid,
                            "account_sid": account,
                            "to": form.get("To"),
                            "from": form.get("From"),
                            "body": form.get("Body"),
                            "status": "queued",
                            "num_segments": "1",
                            "direction": "outbound-api",
                        },
                    )
                elif "/IncomingPhoneNumbers/" in self.path:
                    sid = self.path.rsplit("/", 1)[-1].removesuffix(".json")
                    number = fake.numbers.get(sid)
                    if number is None or number["account_sid"] != account:
                        self._json(404, {"code": 20404, "message": "not found", "status": 404})
                        return
                    for name, value in form.items():
                        # VoiceUrl -> voice_url, StatusCallbackMethod -> status_callback_method
                        key = "".join("_" + c.lower() if c.isupper() else c for c in name)
                        number[key.lstrip("_")] = value
                    self._json(200, number)
                else:
                    self._json(200, {"sid": "PN" + "0" * 32, **form})

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
