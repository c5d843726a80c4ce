"""Only Twilio speaks to /twilio/: signatures over PUBLIC_BASE_URL + path + query, every field."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from app.twilio.signature import expected_signature
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL

FALLBACK = "/twilio/voice/fallback"
PARAMS = {"CallSid": "CA" + "1" * 32, "From": "+13145550142", "To": "+13145550100"}


def _sign(url: str, params: dict[str, str], algorithm: str | None = None) -> str:
    return RequestValidator(AUTH_TOKEN).compute_signature(url, params, algorithm)


def test_a_signed_request_is_answered(http):
    response = http.post(
        FALLBACK,
        data=PARAMS,
        headers={"X-Twilio-Signature": _sign(PUBLIC_BASE_URL + FALLBACK, PARAMS)},
    )
    assert response.status_code == 200
    assert "9 8 8" in response.text


def test_hmac_sha256_signalled_by_the_settings_header_is_accepted(http):
    response = http.post(
        FALLBACK,
        data=PARAMS,
        headers={
            "X-Twilio-Signature": _sign(PUBLIC_BASE_URL + FALLBACK, PARAMS, "HMAC_SHA256"),
            "X-Twilio-Webhooks-Signature-Settings": "key=sharedkey_1,algorithm=HMAC_SHA256",
        },
    )
    assert response.status_code == 200


def test_the_query_string_is_part_of_what_is_signed(http):
    path = "/twilio/voice/fallback?attempt=1"
    good = _sign(PUBLIC_BASE_URL + path, PARAMS)
    assert http.post(path, data=PARAMS, headers={"X-Twilio-Signature": good}).status_code == 200
    tampered = "/twilio/voice/fallback?attempt=2"
    assert http.post(tampered, data=PARAMS, headers={"X-Twilio-Signature": good}).status_code == 403


@pytest.mark.parametrize(
    "headers, data",
    [
        ({}, PARAMS),  # no signature
        ({"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}, PARAMS),  # wrong signature
        # signed over the URL the request arrived on, not the public one
        ({"X-Twilio-Signature": _sign("http://testserver" + FALLBACK, PARAMS)}, PARAMS),
        # a field added after signing
        (
            {"X-Twilio-Signature": _sign(PUBLIC_BASE_URL + FALLBACK, PARAMS)},
            {**PARAMS, "Digits": "1"},
        ),
        # SHA-1 signature presented as SHA-256
        (
            {
                "X-Twilio-Signature": _sign(PUBLIC_BASE_URL + FALLBACK, PARAMS),
                "X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_SHA256",
            },
            PARAMS,
        ),
    ],
    ids=["unsigned", "wrong", "arrival-url", "extra-field", "wrong-algorithm"],
)
def test_anything_else_gets_403_and_a_log_line_without_phone_numbers(http, caplog, headers, data):
    with caplog.at_level(logging.WARNING):
        response = http.post(FALLBACK, data=data, headers=headers)
    assert response.status_code == 403
    assert "rejected" in caplog.text
    assert "555" not in caplog.text and "0142" not in caplog.text


@pytest.mark.parametrize("path", ["/twilio/voice", "/twilio/voice/status", "/twilio/voice/screen"])
def test_every_twilio_route_checks_the_signature(http, path):
    assert http.post(path, data=PARAMS).status_code == 403


class _MultiDict(dict):
    """The form as the library reads a multidict: every value of a name (`getall`)."""

    def __init__(self, pairs):
        super().__init__()
        for name, value in pairs:
            self.setdefault(name, []).append(value)

    def getall(self, name):
        return self[name]


_fields = st.lists(st.tuples(st.text(max_size=12), st.text(max_size=40)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    url=st.text(max_size=60),
    fields=_fields,
    algorithm=st.sampled_from(["HMAC_SHA1", "HMAC_SHA256"]),
)
def test_the_fast_signature_is_the_librarys(url, fields, algorithm):
    """Names and values in any order, repeated, empty or not ASCII: the one-join HMAC the
    webhooks check first gives exactly what twilio's RequestValidator computes."""
    library = RequestValidator(AUTH_TOKEN).compute_signature(url, _MultiDict(fields), algorithm)
    assert expected_signature(AUTH_TOKEN, url, fields, algorithm) == library


def test_a_file_upload_is_refused_even_when_its_other_fields_are_signed(http):
    response = http.post(
        FALLBACK,
        data=PARAMS,
        files={"Recording": ("r.wav", b"RIFF")},
        headers={"X-Twilio-Signature": _sign(PUBLIC_BASE_URL + FALLBACK, PARAMS)},
    )
    assert response.status_code == 403
