"""A local stand-in for Twilio's REST API, served over real HTTP on 127.0.0.1.

It answers the Messages resource as Twilio documents it (201 with a JSON message, or an
error body with Twilio's `code`), records every request, and can be told to fail next.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


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
    _server: ThreadingHTTPServer | None = None
    _sids = itertools.count(1)

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

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                form = {k: v[-1] for k, v in parse_qs(raw).items()}
                auth = self.headers.get("Authorization", "")
                account = ""
                if auth.startswith("Basic "):
                    account = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
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
