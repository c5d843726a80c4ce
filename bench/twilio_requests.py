"""Webhook requests as Twilio sends them: the form fields of an incoming call, a Dial result
and a text, signed (`X-Twilio-Signature`, `RequestValidator.compute_signature` over
`PUBLIC_BASE_URL` + path and the fields) and written out as raw HTTP for `common.Connection`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from bench.common import ACCOUNT_SID, AUTH_TOKEN, HOST, LINE_NUMBER, PUBLIC_BASE_URL


def signed(target: str, params: dict[str, str], port: int) -> bytes:
    """A form POST to `target` (path and query) as Twilio sends it: signed over the public URL
    and every field, the whole HTTP/1.1 request as bytes."""
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + target, params)
    body = urlencode(params).encode()
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: TwilioProxy/1.1\r\n"
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
        f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def place(*prefixes: str) -> dict[str, str]:
    """Where Twilio says a number is (FromCity, FromState, ...)."""
    fields = {}
    for prefix in prefixes:
        fields |= {
            f"{prefix}City": "SAINT LOUIS",
            f"{prefix}State": "MO",
            f"{prefix}Zip": "63103",
            f"{prefix}Country": "US",
        }
    return fields


def call_params(call_sid: str, caller: str, status: str = "ringing") -> dict[str, str]:
    """What Twilio posts to the Voice URL for an incoming call."""
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": status,
        "Direction": "inbound",
        "From": caller,
        "To": LINE_NUMBER,
        "Caller": caller,
        "Called": LINE_NUMBER,
        "StirVerstat": "TN-Validation-Passed-A",
        **place("From", "Caller", "To", "Called"),
    }


def dial_params(call_sid: str, caller: str, dial_status: str) -> dict[str, str]:
    """What Twilio posts to a <Dial>'s action when the therapist's leg ends, not bridged."""
    return {
        **call_params(call_sid, caller, "in-progress"),
        "DialCallSid": "CA" + call_sid[2:][::-1],
        "DialCallStatus": dial_status,
        "DialCallDuration": "0",
        "DialBridged": "false",
    }


def text_params(message_sid: str, sender: str, body: str) -> dict[str, str]:
    """What Twilio posts to the Messaging URL for an incoming text."""
    return {
        "ToCountry": "US",
        "ToState": "MO",
        "SmsMessageSid": message_sid,
        "NumMedia": "0",
        "ToCity": "SAINT LOUIS",
        "FromZip": "63103",
        "SmsSid": message_sid,
        "FromState": "MO",
        "SmsStatus": "received",
        "FromCity": "SAINT LOUIS",
        "Body": body,
        "FromCountry": "US",
        "To": LINE_NUMBER,
        "ToZip": "63101",
        "NumSegments": "1",
        "MessageSid": message_sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
