"""A local stand-in for Twilio's REST API, served over real HTTP on 127.0.0.1.

It answers the Messages resource as Twilio documents it (201 with a JSON message, or an
error body with Twilio's `code`), keeps every message it created, lists them by GET with
Twilio's filters (To, From, DateSent, DateSent< and DateSent>, i.e. `DateSent<=` and
`DateSent>=`; newest first, paged), records every request, and can be told to fail next
(`fail_next`) or to hold a send after creating its message (`hold_send`, for a test that
kills the sender while it waits). It also keeps IncomingPhoneNumbers (`add_number`): listed
by GET, filtered by PhoneNumber, and updated by POST to the number's own resource. And it
keeps Recordings (`add_recording`): their audio served by GET `.../Recordings/{Sid}.mp3` to
the account's basic auth (a wrong password, when `auth_token` is set, is a 401), deleted by
DELETE `.../Recordings/{Sid}.json` (204), and 404 for a recording it does not have.

It serves real HTTP on 127.0.0.1, so other processes (a worker started by a test) can use it
through TWILIO_API_BASE_URL.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit


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
    method: str = "POST"  # the next request with this method fails


@dataclass
class Hold:
    """A Messages POST held after its message was created, before it is answered."""

    body: str | None  # only a send with this Body; None: the next send
    seconds: float
    held: threading.Event = field(default_factory=threading.Event)  # set once holding
    release: threading.Event = field(default_factory=threading.Event)  # answers at once
    used: bool = False


def rfc2822(instant: datetime) -> str:
    """Twilio's date format: `Sat, 28 Nov 2026 03:42:00 +0000`."""
    return instant.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def _filter_instant(value: str) -> datetime | date:
    """A DateSent filter value: `YYYY-MM-DD` as Twilio documents it, or the full
    `YYYY-MM-DDTHH:MM:SSZ` the twilio library sends for a datetime."""
    if "T" in value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return date.fromisoformat(value)


def _matches_date(sent: datetime | None, query: dict[str, str]) -> bool:
    """Twilio's DateSent filters: `DateSent` is that day, `DateSent>` (sent as `DateSent>=`)
    on or after, `DateSent<` (sent as `DateSent<=`) on or before. Unsent messages never match."""
    tests = {"DateSent": "==", "DateSent>": ">=", "DateSent<": "<="}
    for key, op in tests.items():
        if key not in query:
            continue
        if sent is None:
            return False
        bound = _filter_instant(query[key])
        mine: datetime | date = sent if isinstance(bound, datetime) else sent.date()
        if op == "==" and mine != bound:
            return False
        if op == ">=" and mine < bound:  # type: ignore[operator]
            return False
        if op == "<=" and mine > bound:  # type: ignore[operator]
            return False
    return True


@dataclass
class FakeTwilio:
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    # IncomingPhoneNumbers by sid, as Twilio's JSON has them.
    numbers: dict[str, dict] = field(default_factory=dict)
    # Every message created by a send, by sid, as Twilio's JSON has them (with date_sent).
    created: dict[str, dict] = field(default_factory=dict)
    # Twilio's clock, for date_created and date_sent; a test that stands at a fixed instant
    # sets it to the same instant.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    holds: list[Hold] = field(default_factory=list)
    # Recordings' audio by SID, with their account: {sid: (account_sid, bytes)}.
    recordings: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    # When set, a request whose basic auth password differs is refused (401), as Twilio does.
    auth_token: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
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

    def add_recording(
        self, account_sid: str, audio: bytes = b"ID3 fake mp3 audio", sid: str | None = None
    ) -> str:
        """A recording in the account (as a <Record> leaves one: `sid` is the one the call's
        Record action reported); returns its SID."""
        sid = sid or f"RE{next(self._sids):032x}"
        self.recordings[sid] = (account_sid, audio)
        return sid

    @property
    def recording_requests(self) -> list[Recorded]:
        """Every request about a Recording (GET of its audio, DELETE)."""
        return [r for r in self.requests if "/Recordings/" in r.path]

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
        """Every send (POST to Messages), answered or not."""
        return [
            r for r in self.requests if r.method == "POST" and r.path.endswith("/Messages.json")
        ]

    @property
    def message_lists(self) -> list[Recorded]:
        """Every GET of the Messages list (its filters in `form`)."""
        return [
            r
            for r in self.requests
            if r.method == "GET" and urlsplit(r.path).path.endswith("/Messages.json")
        ]

    def fail_next(self, *failures: Failure) -> None:
        self.failures.extend(failures)

    def hold_send(self, body: str | None = None, seconds: float = 30.0) -> Hold:
        """Hold the next send (with this Body, if given) for `seconds` after creating its
        message, before answering: the sender has been accepted by Twilio but does not know
        it yet. `hold.held` is set once it holds; `hold.release` answers at once."""
        hold = Hold(body, seconds)
        self.holds.append(hold)
        return hold

    def add_message(self, account_sid: str, to: str, from_: str, body: str) -> dict:
        """A message in the account as if sent now (without a request)."""
        sid = f"SM{next(self._sids):032x}"
        now = self.clock()
        message = {
            "sid": sid,
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "to": to,
            "from": from_,
            "body": body,
            "status": "sent",
            "direction": "outbound-api",
            "num_segments": "1",
            "num_media": "0",
            "messaging_service_sid": None,
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "date_created": rfc2822(now),
            "date_updated": rfc2822(now),
            "date_sent": rfc2822(now),
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json"
            },
            "_sent": now,  # for the DateSent filters; not part of the JSON
        }
        self.created[sid] = message
        return message

    def _take_failure(self, method: str) -> Failure | None:
        with self._lock:
            for i, failure in enumerate(self.failures):
                if failure.method == method:
                    return self.failures.pop(i)
        return None

    def _take_hold(self, body: str | None) -> Hold | None:
        with self._lock:
            for hold in self.holds:
                if not hold.used and hold.body in (None, body):
                    hold.used = True
                    return hold
        return None

    def _list_messages(self, account: str, prefix: str, query: dict[str, str], uri: str) -> dict:
        found = [
            m
            for m in self.created.values()
            if m["account_sid"] == account
            and m["to"] == query.get("To", m["to"])
            and m["from"] == query.get("From", m["from"])
            and _matches_date(m["_sent"], query)
        ]
        found.sort(key=lambda m: (m["_sent"], m["sid"]), reverse=True)  # newest first
        page_size = int(query.get("PageSize", 50))
        page = int(query.get("Page", 0))
        shown = found[page * page_size : (page + 1) * page_size]
        kept = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

        def page_uri(number: int) -> str:
            return f"{prefix}?{urlencode({**kept, 'PageSize': page_size, 'Page': number})}"

        more = (page + 1) * page_size < len(found)
        return {
            "messages": [{k: v for k, v in m.items() if k != "_sent"} for m in shown],
            "page": page,
            "page_size": page_size,
            "start": page * page_size,
            "end": page * page_size + max(len(shown) - 1, 0),
            "first_page_uri": page_uri(0),
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "next_page_uri": page_uri(page + 1) if more else None,
            "uri": uri,
        }

    def __enter__(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _account(self) -> str:
                return self._credentials()[0]

            def _credentials(self) -> tuple[str, str]:
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                    return user, password
                return "", ""

            def _authorized(self) -> bool:
                account, password = self._credentials()
                if not account or (fake.auth_token is not None and password != fake.auth_token):
                    self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
                    return False
                return True

            def _recording(self, account: str, suffix: str) -> str | None:
                """The SID of a recording of this account that the path names, if we have it."""
                prefix = f"/2010-04-01/Accounts/{account}/Recordings/"
                path = urlsplit(self.path).path
                if not path.startswith(prefix) or not path.endswith(suffix):
                    return None
                sid = path[len(prefix) : -len(suffix)]
                found = fake.recordings.get(sid)
                return sid if found is not None and found[0] == account else None

            def do_DELETE(self) -> None:
                account = self._account()
                fake.requests.append(Recorded("DELETE", self.path, {}, account))
                failure = fake._take_failure("DELETE")
                if failure is not None:
                    self._fail(failure)
                    return
                if not self._authorized():
                    return
                sid = self._recording(account, ".json")
                if sid is None:
                    self._json(404, {"code": 20404, "message": "not found", "status": 404})
                    return
                del fake.recordings[sid]
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _audio(self, account: str) -> None:
                if not self._authorized():
                    return
                sid = self._recording(account, ".mp3")
                if sid is None:
                    self._json(404, {"code": 20404, "message": "not found", "status": 404})
                    return
                audio = fake.recordings[sid][1]
                self.send_response(200)
                self.send_header("Content-Type", "audio/mpeg")
                self.send_header("Content-Length", str(len(audio)))
                self.end_headers()
                self.wfile.write(audio)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                account = self._account()
                fake.requests.append(Recorded("GET", self.path, query, account))
                failure = fake._take_failure("GET")
                if failure is not None:
                    self._fail(failure)
                    return
                if "/Recordings/" in url.path:
                    self._audio(account)
                    return
                messages = f"/2010-04-01/Accounts/{account}/Messages.json"
                if url.path == messages:
                    self._json(200, fake._list_messages(account, messages, query, self.path))
                    return
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
                fake.requests.append(Recorded("POST", self.path, form, account))
                failure = fake._take_failure("POST")
                if failure is not None:
                    self._fail(failure)
                    return
                if self.path.endswith("/Messages.json"):
                    message = fake.add_message(
                        account, form.get("To", ""), form.get("From", ""), form.get("Body", "")
                    )
                    hold = fake._take_hold(form.get("Body"))
                    if hold is not None:  # accepted, but the sender does not hear it yet
                        hold.held.set()
                        hold.release.wait(hold.seconds)
                    # Twilio answers a send with the message still queued, not yet sent.
                    answer = {k: v for k, v in message.items() if k != "_sent"}
                    self._json(201, {**answer, "status": "queued", "date_sent": None})
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

            def _fail(self, failure: Failure) -> None:
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

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client went away (timed out, or was killed)
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        for hold in self.holds:
            hold.release.set()
        self._server.shutdown()
        self._server.server_close()
