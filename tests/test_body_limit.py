"""Bodies over the limit are refused with 413 before they are read (issue 22, item 6).

The finding: 300 form fields of 1 MB to /twilio/voice were read whole (107 MB to 409 MB)
before the signature check answered 403. Requests here are driven through the whole app as
ASGI where it matters how much of the body was read: the test counts the chunks taken.
"""

from __future__ import annotations

import logging
import select
import socket
from collections.abc import Iterator
from urllib.parse import urlencode

import anyio
import pytest

import app.twilio.signature as signature
from app.body_limit import DEFAULT_LIMIT, TWILIO_LIMIT
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, PUBLIC_BASE_URL
from tests.live_server import serve
from tests.twilio_driver import TwilioDriver

RILEY = "+13145550142"
FORM = "application/x-www-form-urlencoded"
MEGABYTE = 1024 * 1024


@pytest.fixture
def signature_checks(monkeypatch) -> list[str]:
    """Every time the Twilio signature check runs (it must not, for a refused body)."""
    seen: list[str] = []
    real = signature._valid

    def counted(token, url, form, sig, algorithm):
        seen.append(url)
        return real(token, url, form, sig, algorithm)

    monkeypatch.setattr(signature, "_valid", counted)
    return seen


class Upload:
    """A request body sent as ASGI messages, counting how many the app took."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.taken = 0
        self.bytes_taken = 0

    async def receive(self):
        chunk = next(self.chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        self.taken += 1
        self.bytes_taken += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}


def fields_of_a_megabyte(count: int) -> Iterator[bytes]:
    """The finding's body, `count` form fields of 1 MB each, made as it is sent (never whole)."""
    value = b"x" * MEGABYTE
    for n in range(count):
        yield b"&f%d=" % n + value


def post(app, path: str, upload: Upload, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    """POST through the ASGI app; the status, the response headers and the body."""
    answer: dict = {"body": b""}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("line.example.org", 443),
    }
    anyio.run(app, scope, upload.receive, send)
    return answer["status"], answer["headers"], answer["body"]


def test_the_findings_body_with_its_length_is_refused_before_a_byte_is_read(
    app, signature_checks, caplog
):
    caplog.set_level(logging.INFO)
    upload = Upload(fields_of_a_megabyte(300))
    status, headers, body = post(
        app,
        "/twilio/voice",
        upload,
        {
            "content-type": FORM,
            "content-length": str(300 * (MEGABYTE + 6)),
            "x-twilio-signature": "bm90IGEgc2lnbmF0dXJl",
        },
    )
    assert status == 413
    assert upload.taken == 0  # not one chunk of the body was read
    assert signature_checks == []  # nor did the signature check run
    assert headers["connection"] == "close"
    assert b"at most 32768 bytes" in body
    assert not [r for r in caplog.records if "webhook" in r.getMessage()]


def test_the_findings_body_chunked_is_read_only_up_to_the_limit(app, signature_checks):
    upload = Upload(fields_of_a_megabyte(300))
    status, _headers, _body = post(
        app,
        "/twilio/voice",
        upload,
        {"content-type": FORM, "transfer-encoding": "chunked", "x-twilio-signature": "c2ln"},
    )
    # The webhook answers anything odd with the crisis resources; a body over the limit is the
    # exception: real Twilio never sends one, and the 413 replaces that answer.
    assert status == 413
    assert upload.taken == 1  # the first megabyte passed the limit; the other 299 stayed unread
    assert signature_checks == []


def test_a_chunked_body_is_counted_as_it_streams(app):
    piece = b"x" * 4096
    upload = Upload(iter([b"Body="] + [piece] * 1000))
    status, _headers, _body = post(
        app, "/twilio/sms", upload, {"content-type": FORM, "transfer-encoding": "chunked"}
    )
    assert status == 413
    assert upload.bytes_taken <= TWILIO_LIMIT + len(piece) + 5


def test_the_longest_text_twilio_sends_still_reaches_the_line(http, people):
    driver = TwilioDriver(
        http, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, line_number=LINE_NUMBER
    )
    # 1,600 characters, each 3 bytes of UTF-8 and 9 once URL-encoded: the most Twilio sends.
    reply = driver.sms(from_=RILEY, body="感" * 1600)
    [exchange] = reply.exchanges
    assert len(urlencode(exchange.params)) > 14_400  # what was signed and sent
    assert exchange.status_code == 200 and reply.error is None and reply.bodies


def test_a_signed_webhook_with_a_body_over_the_limit_is_413(http, people, signature_checks):
    driver = TwilioDriver(
        http, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, line_number=LINE_NUMBER
    )
    response = driver.post("/twilio/sms", {"From": RILEY, "Body": "x" * (TWILIO_LIMIT + 1)})
    assert response.status_code == 413
    assert signature_checks == []


def test_the_api_refuses_a_body_over_a_megabyte_in_json(http, admin, db):
    big = b'{"name": "Ines", "phone": "314.555.0160", "x": "' + b"x" * MEGABYTE + b'"}'
    response = http.post(
        "/api/therapists", content=big, headers={**admin, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {"detail": f"Request body too large: at most {DEFAULT_LIMIT} bytes."}
    # Under the limit the same mistake is the API's usual 422 (an unknown field).
    small = b'{"name": "Ines", "phone": "314.555.0160", "x": "' + b"x" * 100_000 + b'"}'
    response = http.post(
        "/api/therapists", content=small, headers={**admin, "content-type": "application/json"}
    )
    assert response.status_code == 422


def test_the_api_refuses_a_chunked_body_over_a_megabyte(app, admin):
    upload = Upload(iter([b'{"name": "' + b"x" * 65536] * 100))
    status, headers, body = post(
        app,
        "/api/therapists",
        upload,
        {**admin, "content-type": "application/json", "transfer-encoding": "chunked"},
    )
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert upload.bytes_taken <= DEFAULT_LIMIT + 65536 + 10


def test_the_dashboard_refuses_a_body_over_a_megabyte(http):
    response = http.post(
        "/login",
        content=b"email=a%40example.org&password=" + b"x" * (2 * MEGABYTE),
        headers={"content-type": FORM},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/plain")


def test_bodies_without_a_declared_length_through_the_test_client(http, admin):
    """httpx sends a generator's body chunked, without a Content-Length."""

    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    response = http.post(
        "/api/therapists", content=chunks(), headers={**admin, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "content-length" not in response.request.headers


# ---- over a real socket ---------------------------------------------------------------------

HEAD = (
    b"POST /twilio/voice HTTP/1.1\r\nHost: line.example.org\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: c2ln\r\n"
)


def answer_while_sending(sock: socket.socket, chunks: Iterator[bytes]) -> tuple[bytes, int]:
    """Send chunks until the server answers (or stops listening); its answer and how many
    bytes went out before it."""
    sent = 0
    for chunk in chunks:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            break
        try:
            sock.sendall(chunk)
        except OSError:  # the server closed the connection: its answer is waiting
            break
        sent += len(chunk)
    sock.settimeout(5)
    return sock.recv(65536), sent


def test_a_real_server_answers_the_findings_body_at_once(app, signature_checks):
    declared = str(300 * (MEGABYTE + 6)).encode()
    with serve(app) as (host, port), socket.create_connection((host, port)) as sock:
        sock.sendall(HEAD + b"Content-Length: " + declared + b"\r\n\r\n")
        answer, sent = answer_while_sending(sock, fields_of_a_megabyte(300))
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert sent < 16 * MEGABYTE  # answered long before the 300 MB were sent
    assert signature_checks == []


def test_a_real_server_stops_a_chunked_body_at_the_limit(app, signature_checks):
    def chunked():
        for field in fields_of_a_megabyte(300):
            yield b"%x\r\n%s\r\n" % (len(field), field)

    with serve(app) as (host, port), socket.create_connection((host, port)) as sock:
        sock.sendall(HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
        answer, sent = answer_while_sending(sock, chunked())
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert sent < 16 * MEGABYTE
    assert signature_checks == []
