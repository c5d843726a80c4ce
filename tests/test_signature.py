"""Only Twilio speaks to /twilio/: signatures over PUBLIC_BASE_URL + path + query, every field."""

from __future__ import annotations

import logging

import pytest
from twilio.request_validator import RequestValidator

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


def test_a_signature_over_the_url_with_its_connection_overrides_is_accepted(http):
    """The Voice and Messaging URLs are configured with a fragment of connection overrides;
    a signature over the URL with it, or without it, holds. Another fragment does not."""
    url = PUBLIC_BASE_URL + FALLBACK
    for signed_url, status in (
        (url + "#ct=1000&rt=4000&tt=5000&rc=1&rp=ct", 200),
        (url, 200),
        (url + "#rc=5", 403),
    ):
        headers = {"X-Twilio-Signature": _sign(signed_url, PARAMS)}
        assert http.post(FALLBACK, data=PARAMS, headers=headers).status_code == status


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


def test_a_file_upload_is_refused_even_when_its_other_fields_are_signed(http):
    response = http.post(
        FALLBACK,
        data=PARAMS,
        files={"Recording": ("r.wav", b"RIFF")},
        headers={"X-Twilio-Signature": _sign(PUBLIC_BASE_URL + FALLBACK, PARAMS)},
    )
    assert response.status_code == 403
