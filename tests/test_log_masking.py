"""Phone numbers are masked in every form a log line can carry them (issue 22, item 8): in
messages, in uvicorn's access log lines (their query strings URL-encoded), and in the text of
an exception written into a message. The mask keeps the last two digits, as `mask` does.
"""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
from uvicorn.protocols.utils import get_path_with_query_string

from app.jsonlog import JsonFormatter, redact
from app.phones import mask
from tests.live_server import serve

RILEY = "+13145550142"

# Riley's number as people, browsers and programs write it.
FORMS = [
    "+13145550142",
    "13145550142",
    "3145550142",
    "+1 (314) 555-0142",
    "(314) 555-0142",
    "314-555-0142",
    "314.555.0142",
    "314 555 0142",
    "1-314-555-0142",
    "+1\u00a0314\u00a0555\u00a00142",  # no-break spaces
    "314\u2013555\u20130142",  # en dashes
    "%2B13145550142",  # a query string
    "%2b13145550142",
    "%2B1+314+555+0142",  # a form's spaces
    "%2B1%20%28314%29%20555-0142",
    "%252B13145550142",  # encoded twice (a URL inside a URL)
    "\\u002B13145550142",  # JSON-escaped
]


def leaks(text: str) -> bool:
    """Whether text still carries Riley's number (more than its last two digits)."""
    digits = re.sub(r"%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|\D", "", text)
    return "55501" in digits or "3145550" in digits


@pytest.mark.parametrize("form", FORMS)
def test_every_form_of_a_number_is_masked(form):
    for text in (
        form,
        f"caller {form} rate limited",
        f"GET /api/clients?phone={form}&limit=5",
        f"next=%2Fclients%3Fphone%3D{form}",
        f"tel:{form}",
        f"[{form}]",
    ):
        masked = redact(text)
        assert not leaks(masked), (text, masked)
        assert "***42" in masked, (text, masked)


@pytest.mark.parametrize(
    "text",
    [
        "call 17 took 1200 ms at 2026-11-27T21:42",
        "on-call gap from 2026-11-27 21:42:05 to 2026-12-04 21:42:05",
        '127.0.0.1:50000 - "GET /healthz HTTP/1.1" 200',
        "client 192.168.100.200:443",
        "took 0.30000000000000004 s",
        "call CA0123456789abcdef0123456789abcdef ended",
        "text SM12345678901234567890123456789012 queued",
        "request body over 32768 bytes",
        "retry 3 of 8 in 120 s",
    ],
)
def test_what_is_not_a_number_stays_readable(text):
    assert redact(text) == text


def test_numbers_run_into_others_are_still_masked():
    assert redact("at 2026-11-27 13145550142 called") == "at 2026-11-27 ***42 called"
    assert redact("ids 12 13145550142") == "ids ***42"  # the id goes too: better than the number


@pytest.mark.parametrize("form", FORMS)
def test_mask_gives_the_last_two_digits_of_any_form(form):
    assert mask(form) == "***42"


def test_an_exception_with_a_number_in_its_text_is_masked(caplog):
    caplog.set_level(logging.INFO)
    log = logging.getLogger("coachline.test")
    try:
        raise ValueError("no client with phone +1 (314) 555-0142 (from %2B13145550142)")
    except ValueError as exc:
        log.exception("lookup failed: %s", exc)
    [line] = [JsonFormatter().format(r) for r in caplog.records]
    entry = json.loads(line)
    assert entry["error"] == "ValueError"  # the type only: no traceback, no exception text
    assert entry["message"] == "lookup failed: no client with phone ***42 (from ***42)"
    assert not leaks(line)


@pytest.fixture(autouse=True)
def uvicorn_access_captured(monkeypatch, caplog):
    """caplog sees uvicorn.access however the run configured it before (a uvicorn server, the
    app's JSON logging): its handler goes on that logger itself, which then keeps its
    records to itself."""
    access = logging.getLogger("uvicorn.access")
    monkeypatch.setattr(access, "propagate", False)
    monkeypatch.setattr(access, "disabled", False)
    monkeypatch.setattr(access, "level", logging.INFO)
    access.addHandler(caplog.handler)
    yield
    access.removeHandler(caplog.handler)


def test_uvicorns_access_line_is_masked_query_string_and_all(caplog):
    """The access line as uvicorn writes it (its format and its own path-and-query builder)."""
    caplog.set_level(logging.INFO)
    scope = {
        "path": "/clients",
        "raw_path": b"/clients",
        "root_path": "",
        "query_string": b"q=%2B1+314+555+0142&next=%2Fclients%3Fphone%3D%2B13145550142",
    }
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:50000",
        "GET",
        get_path_with_query_string(scope),  # type: ignore[arg-type]
        "1.1",
        200,
    )
    [line] = [JsonFormatter().format(r) for r in caplog.records]
    message = json.loads(line)["message"]
    assert message == (
        '127.0.0.1:50000 - "GET /clients?q=***42&next=%2Fclients%3Fphone%3D***42 HTTP/1.1" 200'
    )


def test_a_real_servers_access_log_carries_no_number(app, caplog):
    """Through uvicorn itself: a request with the number in its path and query string."""
    caplog.set_level(logging.INFO)
    with serve(app) as (host, port):
        base = f"http://{host}:{port}"
        httpx.get(f"{base}/api/clients", params={"phone": "+1 (314) 555-0142"})
        httpx.get(f"{base}/no-such-page/%2B13145550142?from=%2B13145550142")
    access = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert len(access) == 2
    for record in access:
        line = JsonFormatter().format(record)
        assert "***42" in line and not leaks(line), line
    # The record itself carries the number: only the formatter masks it, so it must be ours.
    assert any(leaks(r.getMessage()) for r in access)
