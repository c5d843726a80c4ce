"""A Twilio-faithful test driver: plays Twilio's part against any FastAPI (or httpx) app.

Twilio cannot be reached from the tests, so this module does what Twilio does, as its
documentation describes it:

* it posts **signed webhooks** (form-encoded; ``X-Twilio-Signature`` computed over the public
  URL, query string included, and every form field; optionally HMAC-SHA256 with the
  ``X-Twilio-Webhooks-Signature-Settings`` header; ``I-Twilio-Idempotency-Token`` on every
  request) with the parameters Twilio sends for an inbound call, a ``<Dial>`` child leg, a
  status callback or an inbound text;
* it **carries out the TwiML** it gets back (``Say``, ``Play``, ``Pause``, ``Gather``,
  ``Record``, ``Dial``/``Number url``, ``Redirect``, ``Hangup``, ``Reject``), following the
  action URLs, and plays the caller and the dialed party from a :class:`Scenario`;
* it runs **answering-machine detection** on a ``<Number machineDetection>``: the leg's
  ``AnsweredBy`` goes to the ``<Number url>`` (and to ``amdStatusCallback``);
* it is **strict**: a webhook that does not answer 200 with a TwiML ``<Response>`` is what
  Twilio would treat as a fatal error (the caller hears "an application error has occurred"
  and the call ends, unless a fallback URL answers), and TwiML the driver does not know or
  does not simulate raises :class:`TwimlError`.

Usage::

    driver = TwilioDriver(client, auth_token=TOKEN, public_base_url="https://line.example.org")
    result = driver.call(
        "/twilio/voice",
        from_="+13145550142",
        to="+13145550100",
        scenario=Scenario(legs={"+13145550111": Leg.accept()}),
    )
    assert result.bridged_number == "+13145550111"
    assert result.dials[0].time_limit == 1200
    assert "Press 1" in result.dials[0].leg.text
    assert not result.application_error

With ``TestClient(app)`` an exception the app does not handle is re-raised into the test (loud);
with ``TestClient(app, raise_server_exceptions=False)`` it becomes the 500 Twilio would get, and
the caller hears the application error.

Not simulated (they raise :class:`TwimlError`): speech input, several nouns in one ``<Dial>``,
``<Client>``/``<Sip>``/``<Conference>``/``<Queue>``, ``<Connect>``, ``<Enqueue>`` and the like.
``<Dial record=...>`` is recorded as an attribute but no recording parameters are sent.
"""

from __future__ import annotations

import itertools
import random
import re
import secrets
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Literal
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
SIGNATURE_HEADER = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
HMAC_SHA1 = "HMAC_SHA1"
HMAC_SHA256 = "HMAC_SHA256"
USER_AGENT = "TwilioProxy/1.1"

#: What Twilio plays when it cannot get or run TwiML and no fallback URL answers.
APPLICATION_ERROR_MESSAGE = "We are sorry, an application error has occurred. Goodbye."

# How a leg ends (CallResult.end and LegResult.end).
HANGUP = "hangup"  # the TwiML said <Hangup/>
END_OF_DOCUMENT = "end-of-document"  # the TwiML ran out of verbs
CALLER_HUNG_UP = "caller-hung-up"  # the scenario hung up (during a Dial or a Record)
REJECTED = "rejected"  # the TwiML said <Reject/>
APPLICATION_ERROR = "application-error"  # Twilio's fatal-error path
NOT_ANSWERED = "not-answered"  # a dialed leg that never answered

# Twilio error codes used for the fallback request (ErrorCode).
ERROR_HTTP_RETRIEVAL = "11200"
ERROR_DOCUMENT_PARSE = "12100"
ERROR_CONTENT_TYPE = "12300"

_TWIML_CONTENT_TYPES = ("text/xml", "application/xml", "text/html")
_DTMF_KEYS = set("0123456789*#")
_CALL_STATUSES = {
    "queued",
    "initiated",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "no-answer",
    "failed",
    "canceled",
}
# Valid TwiML verbs that this driver does not simulate: using one is a loud failure.
_UNSIMULATED_VERBS = {
    "Connect",
    "Echo",
    "Enqueue",
    "Leave",
    "Pay",
    "Prompt",
    "Queue",
    "Refer",
    "Sms",
    "Message",
    "Start",
    "Stop",
}
# GSM 03.38 basic character set (one septet each) and its extension table (two septets).
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


class TwilioDriverError(Exception):
    """Base of the driver's own failures (never something Twilio would do)."""


class TwimlError(TwilioDriverError):
    """TwiML that Twilio would reject, or that this driver does not simulate."""


class ScenarioError(TwilioDriverError):
    """The scenario does not say what happens next (or says something impossible)."""


class LoopError(TwilioDriverError):
    """The call ran past ``max_steps``: the flow (or the scenario) loops."""


# --------------------------------------------------------------------------- scenario


def _check_keys(keys: str | None) -> None:
    if keys is not None and not set(keys) <= _DTMF_KEYS:
        raise ScenarioError(f"keys {keys!r}: a phone keypad has only 0-9, * and #")


LegOutcome = Literal["accept", "voicemail", "no-answer", "busy", "failed"]
_LEG_OUTCOMES = ("accept", "voicemail", "no-answer", "busy", "failed")
# Twilio's AnsweredBy values (answering-machine detection).
ANSWERED_BY = (
    "human",
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
    "unknown",
)
# How long detection listens before it decides (seconds, roughly as Twilio's defaults do).
_AMD_SECONDS = {"human": 3, "machine_start": 3, "fax": 3, "unknown": 5}
_AMD_MESSAGE_END_SECONDS = 12  # a greeting heard to its beep or silence


@dataclass(frozen=True)
class Leg:
    """What the dialed phone does.

    * ``accept``: a person answers, hears the ``<Number url>`` TwiML and presses ``digits``
      (one entry per ``<Gather>`` reached on the leg; ``None`` = presses nothing there).
    * ``voicemail``: a machine answers and never presses anything.
    * ``no-answer``, ``busy``, ``failed``: the leg is never answered.

    ``talk_seconds`` is how long a bridged conversation lasts (capped by ``timeLimit``).
    ``answered_by`` is what answering-machine detection reports when the ``<Number>`` asks
    for it: by default ``human`` for a person, and for a machine ``machine_start``
    (``machineDetection="Enable"``) or ``machine_end_beep`` (``DetectMessageEnd``). Give
    ``unknown`` for a person detection could not tell, or a machine's value for a person it
    took for one.
    """

    outcome: LegOutcome = "accept"
    digits: tuple[str | None, ...] = ("1",)
    talk_seconds: int = 600
    answered_by: str | None = None

    def __post_init__(self) -> None:
        if self.outcome not in _LEG_OUTCOMES:
            raise ScenarioError(f"unknown leg outcome {self.outcome!r}")
        if self.outcome != "accept":
            object.__setattr__(self, "digits", ())
        for keys in self.digits:
            _check_keys(keys)
        if self.answered_by is not None and self.answered_by not in ANSWERED_BY:
            raise ScenarioError(f"unknown AnsweredBy {self.answered_by!r}")

    def detected(self, mode: str) -> str:
        """What answering-machine detection reports for this (answered) leg."""
        if self.answered_by is not None:
            return self.answered_by
        if self.outcome == "voicemail":
            return "machine_end_beep" if mode == "DetectMessageEnd" else "machine_start"
        return "human"

    @property
    def answers(self) -> bool:
        return self.outcome in ("accept", "voicemail")

    @classmethod
    def accept(
        cls, *digits: str | None, talk_seconds: int = 600, answered_by: str | None = None
    ) -> Leg:
        return cls("accept", tuple(digits) if digits else ("1",), talk_seconds, answered_by)

    @classmethod
    def voicemail(cls, answered_by: str | None = None) -> Leg:
        return cls("voicemail", answered_by=answered_by)

    @classmethod
    def no_answer(cls) -> Leg:
        return cls("no-answer")

    @classmethod
    def busy(cls) -> Leg:
        return cls("busy")

    @classmethod
    def failed(cls) -> Leg:
        return cls("failed")


ACCEPT = Leg.accept()
VOICEMAIL = Leg.voicemail()
NO_ANSWER = Leg.no_answer()
BUSY = Leg.busy()
FAILED = Leg.failed()


@dataclass(frozen=True)
class CallerHangup:
    """The caller hangs up during the ``dial``-th ``<Dial>`` of the call (1-based).

    * ``ringing``: before the dialed leg answers (``DialCallStatus=canceled``);
    * ``screening``: after the leg answered, while it hears the ``<Number url>`` TwiML and
      before it is bridged (``DialCallStatus=completed``, ``DialBridged=false``);
    * ``bridged``: at the end of the bridged conversation (``DialCallStatus=completed``,
      ``DialBridged=true``); if the leg is not bridged the caller stays on the line.

    Either way Twilio requests the Dial ``action`` with ``CallStatus=completed`` and plays
    nothing it returns.

    * ``before``: as the ``<Dial>`` is reached (during the words before it): nothing is
      dialed and no Dial ``action`` is requested; the call just ends.
    """

    dial: int = 1
    when: Literal["before", "ringing", "screening", "bridged"] = "ringing"


@dataclass(frozen=True)
class Recording:
    """A message the caller leaves at a ``<Record>``.

    ``finish_key`` is the key pressed to end it (sent as ``Digits``), ``None`` when the
    recording ends on silence or ``maxLength``, or ``"hangup"`` when the caller hangs up to
    end it (Twilio then requests the action with ``Digits=hangup`` and plays nothing).
    """

    duration: int = 15
    finish_key: str | None = "#"


@dataclass
class Scenario:
    """How the people on the call behave.

    * ``digits``: the caller's keys, one entry per ``<Gather>`` reached (``None`` = silence).
      Once used up, every further ``<Gather>`` gets silence.
    * ``recordings``: one entry per ``<Record>`` reached (``None`` = silence). Default silence.
    * ``legs``: what each dialed phone does: a mapping from the dialed number to a
      :class:`Leg` (or a sequence of legs, used in turn for repeated dials to that number, the
      last one repeating), or a sequence of legs used in dial order whatever the number.
    * ``default_leg``: for a dial the ``legs`` do not cover; ``None`` makes that an error.
    * ``caller_hangup``: when the caller hangs up during a dial.
    * ``while_ringing``: called with the dialed number while each dialed phone rings (before
      it answers or not): somebody else's call to the line at that moment, for example.
    """

    digits: Sequence[str | None] = ()
    recordings: Sequence[Recording | None] = ()
    legs: Mapping[str, Leg | Sequence[Leg]] | Sequence[Leg] = ()
    default_leg: Leg | None = None
    caller_hangup: CallerHangup | None = None
    while_ringing: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Geo:
    """Twilio's geographic lookup of a number (sent as FromCity, ToState, ...)."""

    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""


# ---------------------------------------------------------------------------- results


@dataclass
class Exchange:
    """One request the driver made and what came back."""

    leg: str  # "caller", the dialed number, "sms" or "status"
    kind: str  # voice-url, gather-action, dial-action, record-action, redirect, number-url, ...
    method: str
    url: str  # the public URL that was signed (query string included)
    path: str  # what the client was asked for
    params: dict[str, str]
    headers: dict[str, str]
    status_code: int
    content_type: str
    body: str
    error: str | None = None
    played: bool = True  # False: the response came after the caller hung up

    @property
    def twiml(self) -> str | None:
        return None if self.error else self.body

    def __str__(self) -> str:
        flags = "" if self.played else " (not played)"
        head = f"{self.leg} {self.kind} {self.method} {self.path} -> {self.status_code}{flags}"
        params = " ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        tail = f"\n    ERROR {self.error}" if self.error else ""
        return f"{head}\n    {params}\n    {self.body.strip()[:2000]}{tail}"


@dataclass
class SayEvent:
    text: str
    voice: str | None
    language: str | None
    loop: int


@dataclass
class GatherAttempt:
    leg: str
    action: str
    method: str
    num_digits: int | None
    timeout: int
    finish_on_key: str
    action_on_empty_result: bool
    input: str
    prompts: list[str]
    keys: str | None  # what the scenario pressed
    digits: str  # what Twilio sent as Digits
    requested: bool  # whether the action URL was requested


@dataclass
class RecordAttempt:
    leg: str
    action: str
    method: str
    max_length: int
    timeout: int
    finish_on_key: str
    play_beep: bool
    recording: Recording | None
    recording_sid: str | None = None
    recording_url: str | None = None
    requested: bool = False


@dataclass
class LegResult:
    """The dialed party's side of a ``<Dial>``."""

    number: str
    call_sid: str
    spec: Leg
    answered: bool = False
    bridged: bool = False
    end: str = NOT_ANSWERED
    said: list[str] = field(default_factory=list)
    says: list[SayEvent] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    digits_pressed: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(self.said)


@dataclass
class DialAttempt:
    """One ``<Dial>``: its attributes as the app wrote them, and how it went."""

    number: str
    url: str | None  # the <Number url>, resolved
    url_method: str
    timeout: int
    caller_id: str | None
    time_limit: int
    action: str | None
    method: str
    answer_on_bridge: bool
    record: str | None
    attributes: dict[str, str]
    number_attributes: dict[str, str]
    leg: LegResult
    dial_call_status: str = ""
    dial_call_duration: int = 0
    bridged: bool = False
    caller_hung_up: bool = False
    answered_by: str | None = None  # what answering-machine detection reported, if it ran

    @property
    def dial_call_sid(self) -> str:
        return self.leg.call_sid


@dataclass
class CallResult:
    """Everything about one simulated inbound call."""

    call_sid: str
    from_: str
    to: str
    said: list[str] = field(default_factory=list)
    says: list[SayEvent] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    dials: list[DialAttempt] = field(default_factory=list)
    gathers: list[GatherAttempt] = field(default_factory=list)
    records: list[RecordAttempt] = field(default_factory=list)
    end: str = ""
    errors: list[str] = field(default_factory=list)
    application_error: bool = False
    duration: int = 0
    steps: int = 0

    @property
    def text(self) -> str:
        """Everything the caller heard, as one string."""
        return " ".join(self.said)

    @property
    def bridged(self) -> bool:
        return any(d.bridged for d in self.dials)

    @property
    def bridged_leg(self) -> LegResult | None:
        return next((d.leg for d in self.dials if d.bridged), None)

    @property
    def bridged_number(self) -> str | None:
        leg = self.bridged_leg
        return leg.number if leg else None

    @property
    def bridged_to_machine(self) -> bool:
        """True when a voicemail box got the call (what screening exists to prevent)."""
        return any(d.bridged and d.leg.spec.outcome == "voicemail" for d in self.dials)

    def heard_by(self, number: str) -> list[str]:
        """What the phone at ``number`` heard, over every dial to it."""
        return [s for d in self.dials if d.number == number for s in d.leg.said]

    def requests(self, path: str | None = None, kind: str | None = None) -> list[Exchange]:
        """Exchanges whose path (without the query) is ``path`` and/or of ``kind``."""
        return [
            e
            for e in self.exchanges
            if (path is None or e.path.split("?", 1)[0] == path)
            and (kind is None or e.kind == kind)
        ]

    def debug(self) -> str:
        """A readable dump for assertion messages."""
        lines = [f"call {self.call_sid} end={self.end} errors={self.errors}"]
        lines += [f"  heard: {t}" for t in self.transcript]
        lines += [str(e) for e in self.exchanges]
        return "\n".join(lines)


@dataclass
class SmsReply:
    body: str
    media: list[str]
    to: str
    from_: str
    attributes: dict[str, str]


@dataclass
class MessageResult:
    """One inbound text and the app's reply."""

    message_sid: str
    params: dict[str, str]
    exchanges: list[Exchange] = field(default_factory=list)
    replies: list[SmsReply] = field(default_factory=list)
    error: str | None = None

    @property
    def bodies(self) -> list[str]:
        return [r.body for r in self.replies]


# ------------------------------------------------------------------------ internals


@dataclass
class _Fetch:
    method: str
    url: str
    extra: dict[str, str]
    kind: str


@dataclass
class _End:
    reason: str


@dataclass
class _LegState:
    name: str
    is_caller: bool
    base: dict[str, str]
    inputs: deque[str | None]
    recordings: deque[Recording | None]
    said: list[str]
    says: list[SayEvent]
    transcript: list[str]
    exchanges: list[Exchange]
    gathers: list[GatherAttempt]
    records: list[RecordAttempt]
    digits_pressed: list[str] = field(default_factory=list)
    requested: bool = False
    hung_up: bool = False
    abort_on_input: bool = False  # the caller hangs up while this (dialed) leg is screened
    elapsed: int = 0
    application_error: bool = False

    def params(self) -> dict[str, str]:
        if self.hung_up:
            status = "completed"
        elif self.is_caller and not self.requested:
            status = "ringing"
        else:
            status = "in-progress"
        return {**self.base, "CallStatus": status}

    def mark(self, marker: str) -> None:
        self.transcript.append(f"[{marker}]")

    def say(self, text: str, voice: str | None = None, language: str | None = None) -> None:
        self.said.append(text)
        self.says.append(SayEvent(text, voice, language, 1))
        self.transcript.append(text)


def _text(el: ET.Element) -> str:
    return re.sub(r"\s+", " ", "".join(el.itertext())).strip()


def _int_attr(el: ET.Element, name: str, default: int, *, minimum: int = 0) -> int:
    raw = el.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise TwimlError(f"<{el.tag} {name}={raw!r}>: not an integer") from None
    if value < minimum:
        raise TwimlError(f"<{el.tag} {name}={raw!r}>: must be at least {minimum}")
    return value


def _bool_attr(el: ET.Element, name: str, default: bool) -> bool:
    raw = el.get(name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false"):
        raise TwimlError(f"<{el.tag} {name}={raw!r}>: must be true or false")
    return raw.lower() == "true"


def _method_attr(el: ET.Element, name: str = "method") -> str:
    method = (el.get(name) or "POST").upper()
    if method not in ("GET", "POST"):
        raise TwimlError(f"<{el.tag} {name}={method!r}>: must be GET or POST")
    return method


def _segments(body: str) -> int:
    """Segments Twilio counts for an SMS body: GSM-7 160/153, otherwise UCS-2 70/67."""
    if not body:
        return 1
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in body):
        units = sum(2 if c in _GSM_EXTENDED else 1 for c in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else -(-units // multi)


# ---------------------------------------------------------------------------- driver


class TwilioDriver:
    """Plays Twilio against ``client`` (a ``fastapi.testclient.TestClient`` or any httpx client).

    ``public_base_url`` is the URL the line is configured with: every request is signed over
    it (plus path and query), and absolute action URLs must start with it.
    ``signature_algorithm=HMAC_SHA256`` adds ``X-Twilio-Webhooks-Signature-Settings`` and signs
    with ``signing_secret`` (the auth token unless given). ``fallback_path`` plays the number's
    Voice Fallback URL. ``status_callback_path`` plays the number's Status Callback URL: a
    ``completed`` callback is posted when each call ends.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        auth_token: str,
        public_base_url: str,
        account_sid: str = "AC" + "a1" * 16,
        line_number: str | None = None,
        signature_algorithm: str = HMAC_SHA1,
        signing_key_id: str = "webhooks_sharedkey_test",
        signing_secret: str | None = None,
        idempotency_tokens: bool = True,
        fallback_path: str | None = None,
        status_callback_path: str | None = None,
        geo: Mapping[str, Geo] | None = None,
        max_steps: int = 200,
        seed: int | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if signature_algorithm not in (HMAC_SHA1, HMAC_SHA256):
            raise ValueError(f"unsupported signature algorithm {signature_algorithm!r}")
        self.client = client
        self.auth_token = auth_token
        self.base_url = public_base_url.rstrip("/")
        self.account_sid = account_sid
        self.line_number = line_number
        self.signature_algorithm = signature_algorithm
        self.signing_key_id = signing_key_id
        self.signing_secret = signing_secret or auth_token
        self.idempotency_tokens = idempotency_tokens
        self.fallback_path = fallback_path
        self.status_callback_path = status_callback_path
        self.geo = dict(geo or {})
        self.max_steps = max_steps
        self.clock = clock or (lambda: datetime.now(UTC))
        self._random = random.Random(seed) if seed is not None else None
        base = urlsplit(self.base_url)
        self._base_origin = (base.scheme, base.netloc)
        self._base_path = base.path

    # ------------------------------------------------------------------ signing / sending

    def sid(self, prefix: str) -> str:
        """A Twilio-shaped SID: two letters and 32 hex digits."""
        digits = f"{self._random.getrandbits(128):032x}" if self._random else secrets.token_hex(16)
        return prefix + digits

    def url_for(self, path_or_url: str) -> str:
        """The public URL Twilio would request for ``path_or_url``."""
        if "://" in path_or_url:
            return path_or_url
        if not path_or_url.startswith("/"):
            raise ValueError(f"{path_or_url!r}: give a path starting with / or an absolute URL")
        return self.base_url + path_or_url

    def path_for(self, url: str) -> str:
        """The client path (and query) for a public URL of the app."""
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self._base_origin or not parts.path.startswith(
            self._base_path
        ):
            raise TwimlError(f"{url!r} is not under the line's public URL {self.base_url!r}")
        path = parts.path[len(self._base_path) :] or "/"
        if not path.startswith("/"):
            path = "/" + path
        return path + (f"?{parts.query}" if parts.query else "")

    def signature(self, url: str, params: Mapping[str, str]) -> str:
        validator = RequestValidator(self.signing_secret)
        if self.signature_algorithm == HMAC_SHA1:
            return validator.compute_signature(url, dict(params))
        return validator.compute_signature(url, dict(params), self.signature_algorithm)

    def headers_for(
        self, url: str, params: Mapping[str, str], idempotency_token: str | None = None
    ) -> dict[str, str]:
        """The headers Twilio sends with a request to ``url`` carrying ``params``."""
        headers = {"User-Agent": USER_AGENT, SIGNATURE_HEADER: self.signature(url, params)}
        if self.signature_algorithm != HMAC_SHA1:
            headers[SIGNATURE_SETTINGS_HEADER] = (
                f"key={self.signing_key_id},algorithm={self.signature_algorithm}"
            )
        token = idempotency_token
        if token is None and self.idempotency_tokens:
            token = self.sid("")
        if token is not None:
            headers[IDEMPOTENCY_HEADER] = token
        return headers

    def post(
        self,
        path_or_url: str,
        params: Mapping[str, str],
        *,
        method: str = "POST",
        idempotency_token: str | None = None,
        signature: str | None = None,
        signed: bool = True,
    ) -> httpx.Response:
        """Send one webhook as Twilio would (``signature``/``signed`` to forge or omit it)."""
        response, _, _, _ = self._send(
            method, self.url_for(path_or_url), dict(params), idempotency_token, signature, signed
        )
        return response

    def replay(self, exchange: Exchange) -> httpx.Response:
        """Send an exchange's request again, byte for byte: a Twilio retry."""
        if exchange.method == "GET":
            return self.client.get(exchange.path, headers=exchange.headers, follow_redirects=False)
        return self.client.post(
            exchange.path, data=exchange.params, headers=exchange.headers, follow_redirects=False
        )

    def _send(
        self,
        method: str,
        url: str,
        params: dict[str, str],
        idempotency_token: str | None = None,
        signature: str | None = None,
        signed: bool = True,
    ) -> tuple[httpx.Response, str, dict[str, str], str]:
        """Returns (response, client path, headers sent, the URL signed)."""
        if method == "GET":
            url = url + ("&" if "?" in url else "?") + urlencode(list(params.items()))
            body: dict[str, str] = {}
        else:
            body = params
        headers = self.headers_for(url, body, idempotency_token)
        if signature is not None:
            headers[SIGNATURE_HEADER] = signature
        if not signed:
            headers.pop(SIGNATURE_HEADER)
        path = self.path_for(url)
        if method == "GET":
            response = self.client.get(path, headers=headers, follow_redirects=False)
        else:
            response = self.client.post(path, data=body, headers=headers, follow_redirects=False)
        return response, path, headers, url

    def _request(
        self,
        leg: str,
        kind: str,
        method: str,
        url: str,
        params: dict[str, str],
        *,
        expect_twiml: bool = True,
    ) -> tuple[Exchange, ET.Element | None, str | None]:
        """One request, checked as Twilio checks it: (exchange, TwiML root, error code).

        Without ``expect_twiml`` (status callbacks) only a non-2xx status is an error.
        """
        response, path, headers, signed_url = self._send(method, url, params)
        content_type = response.headers.get("content-type", "")
        exchange = Exchange(
            leg=leg,
            kind=kind,
            method=method,
            url=signed_url,
            path=path,
            params=params,
            headers=headers,
            status_code=response.status_code,
            content_type=content_type,
            body=response.text,
        )
        root: ET.Element | None = None
        code: str | None = None
        if not expect_twiml:
            if not 200 <= response.status_code < 300:
                exchange.error, code = f"HTTP {response.status_code}", ERROR_HTTP_RETRIEVAL
        elif response.status_code != 200:
            exchange.error, code = f"HTTP {response.status_code}", ERROR_HTTP_RETRIEVAL
        elif content_type.split(";", 1)[0].strip().lower() not in _TWIML_CONTENT_TYPES:
            exchange.error, code = f"content type {content_type!r}", ERROR_CONTENT_TYPE
        else:
            try:
                root = ET.fromstring(response.content)
            except ET.ParseError as exc:
                exchange.error, code = f"not XML: {exc}", ERROR_DOCUMENT_PARSE
            else:
                if root.tag != "Response":
                    exchange.error, code = f"root is <{root.tag}>", ERROR_DOCUMENT_PARSE
                    root = None
        return exchange, root, code

    # ---------------------------------------------------------------------- parameters

    def _geo(self, number: str) -> Geo:
        if number in self.geo:
            return self.geo[number]
        return Geo(country="US") if number.startswith("+1") else Geo()

    def _geo_params(self, prefixes: Sequence[str], number: str) -> dict[str, str]:
        geo = self._geo(number)
        out: dict[str, str] = {}
        for prefix in prefixes:
            out.update(
                {
                    f"{prefix}City": geo.city,
                    f"{prefix}State": geo.state,
                    f"{prefix}Zip": geo.zip,
                    f"{prefix}Country": geo.country,
                }
            )
        return out

    def call_params(
        self,
        *,
        call_sid: str,
        from_: str,
        to: str,
        direction: str = "inbound",
        parent_call_sid: str | None = None,
    ) -> dict[str, str]:
        """The parameters Twilio sends with every request about a call (less CallStatus)."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call_sid,
            "Direction": direction,
            "From": from_,
            "To": to,
            "Caller": from_,
            "Called": to,
            **self._geo_params(("From", "Caller"), from_),
            **self._geo_params(("To", "Called"), to),
        }
        if parent_call_sid:
            params["ParentCallSid"] = parent_call_sid
        return params

    # -------------------------------------------------------------------------- a call

    def call(
        self,
        path: str = "/twilio/voice",
        *,
        from_: str,
        to: str | None = None,
        scenario: Scenario | None = None,
        call_sid: str | None = None,
        caller_name: str | None = None,
        forwarded_from: str | None = None,
        extra_params: Mapping[str, str] | None = None,
    ) -> CallResult:
        """Ring the line: request ``path`` (the Voice URL) and run the call to its end."""
        to = to or self.line_number
        if not to:
            raise ValueError("give to= or construct the driver with line_number=")
        scenario = scenario or Scenario()
        for keys in scenario.digits:
            _check_keys(keys)
        result = CallResult(call_sid=call_sid or self.sid("CA"), from_=from_, to=to)
        base = self.call_params(call_sid=result.call_sid, from_=from_, to=to)
        if caller_name is not None:
            base["CallerName"] = caller_name
        if forwarded_from is not None:
            base["ForwardedFrom"] = forwarded_from
        base.update(extra_params or {})
        caller = _LegState(
            name="caller",
            is_caller=True,
            base=base,
            inputs=deque(scenario.digits),
            recordings=deque(scenario.recordings),
            said=result.said,
            says=result.says,
            transcript=result.transcript,
            exchanges=result.exchanges,
            gathers=result.gathers,
            records=result.records,
        )
        run = _CallRun(self, result, scenario)
        result.end = run.run_leg(caller, "POST", self.url_for(path), {}, "voice-url")
        result.application_error = caller.application_error
        result.duration = caller.elapsed
        if self.status_callback_path and result.end != REJECTED:
            caller.hung_up = True
            params = self.status_callback_params(
                call_sid=result.call_sid,
                from_=from_,
                to=to,
                call_status="completed",
                call_duration=result.duration,
                sequence_number=0,
            )
            run.notify(caller, "POST", self.url_for(self.status_callback_path), params, "status")
        return result

    # ---------------------------------------------------------------- status callbacks

    def status_callback_params(
        self,
        *,
        call_sid: str,
        from_: str,
        to: str,
        call_status: str,
        call_duration: int | None = None,
        sequence_number: int = 0,
        timestamp: datetime | None = None,
        direction: str = "inbound",
        parent_call_sid: str | None = None,
        callback_source: str = "call-progress-events",
        extra_params: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """A status callback's parameters (``CallDuration`` only once the call has ended)."""
        if call_status not in _CALL_STATUSES:
            raise ValueError(f"unknown CallStatus {call_status!r}")
        when = (timestamp or self.clock()).astimezone(UTC)
        params = self.call_params(
            call_sid=call_sid,
            from_=from_,
            to=to,
            direction=direction,
            parent_call_sid=parent_call_sid,
        )
        params.update(
            {
                "CallStatus": call_status,
                "CallbackSource": callback_source,
                "SequenceNumber": str(sequence_number),
                "Timestamp": format_datetime(when),
            }
        )
        ended = call_status in ("completed", "busy", "no-answer", "failed", "canceled")
        if ended:
            params["CallDuration"] = str(call_duration or 0)
        params.update(extra_params or {})
        return params

    def status_callback(
        self,
        path: str,
        call: CallResult | None = None,
        *,
        call_status: str,
        call_sid: str | None = None,
        from_: str | None = None,
        to: str | None = None,
        call_duration: int | None = None,
        sequence_number: int = 0,
        timestamp: datetime | None = None,
        direction: str = "inbound",
        parent_call_sid: str | None = None,
        extra_params: Mapping[str, str] | None = None,
        idempotency_token: str | None = None,
    ) -> httpx.Response:
        """Post one status callback to ``path`` (send several, repeated or out of order)."""
        call_sid = call_sid or (call.call_sid if call else None)
        from_ = from_ or (call.from_ if call else None)
        to = to or (call.to if call else None)
        if not (call_sid and from_ and to):
            raise ValueError("give call= or call_sid=, from_= and to=")
        if call_duration is None and call is not None:
            call_duration = call.duration
        params = self.status_callback_params(
            call_sid=call_sid,
            from_=from_,
            to=to,
            call_status=call_status,
            call_duration=call_duration,
            sequence_number=sequence_number,
            timestamp=timestamp,
            direction=direction,
            parent_call_sid=parent_call_sid,
            extra_params=extra_params,
        )
        return self.post(path, params, idempotency_token=idempotency_token)

    # --------------------------------------------------------------------------- texts

    def sms(
        self,
        path: str = "/twilio/sms",
        *,
        from_: str,
        body: str,
        to: str | None = None,
        messaging_service_sid: str | None = None,
        media: Sequence[tuple[str, str]] = (),
        message_sid: str | None = None,
        extra_params: Mapping[str, str] | None = None,
    ) -> MessageResult:
        """An inbound text to the line; the reply TwiML's ``<Message>`` bodies are parsed.

        ``media`` is a sequence of (url, content type) pairs (an MMS).
        """
        to = to or self.line_number
        if not to:
            raise ValueError("give to= or construct the driver with line_number=")
        sid = message_sid or self.sid("MM" if media else "SM")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "SmsStatus": "received",
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": str(len(media)),
            "NumSegments": str(_segments(body)),
            **self._geo_params(("From",), from_),
            **self._geo_params(("To",), to),
        }
        if messaging_service_sid:
            params["MessagingServiceSid"] = messaging_service_sid
        for i, (url, content_type) in enumerate(media):
            params[f"MediaUrl{i}"] = url
            params[f"MediaContentType{i}"] = content_type
        params.update(extra_params or {})
        result = MessageResult(message_sid=sid, params=params)
        url, kind = self.url_for(path), "sms-url"
        for _ in range(self.max_steps):
            exchange, root, _ = self._request("sms", kind, "POST", url, params)
            result.exchanges.append(exchange)
            if root is None:
                # Twilio logs the error and sends nothing back to the texter.
                result.error = f"{exchange.path}: {exchange.error}"
                return result
            redirect: str | None = None
            for el in root:
                if el.tag == "Message":
                    result.replies.append(self._sms_reply(el, from_, to))
                elif el.tag == "Redirect":
                    target = (el.text or "").strip()
                    if not target:
                        raise TwimlError("<Redirect> without a URL")
                    if _method_attr(el) != "POST":
                        raise TwimlError("messaging <Redirect method=GET> is not simulated")
                    redirect = urljoin(url, target)
                    break
                else:
                    raise TwimlError(f"<{el.tag}> is not a messaging TwiML verb")
            if redirect is None:
                return result
            url, kind = redirect, "redirect"
        raise LoopError(f"text ran past max_steps={self.max_steps}")

    @staticmethod
    def _sms_reply(el: ET.Element, sender: str, line: str) -> SmsReply:
        body_el = el.find("Body")
        media = [(m.text or "").strip() for m in el.findall("Media")]
        for child in el:
            if child.tag not in ("Body", "Media"):
                raise TwimlError(f"<{child.tag}> inside <Message>")
        body = (body_el.text or "") if body_el is not None else (el.text or "")
        return SmsReply(
            body=body.strip(),
            media=media,
            to=el.get("to") or sender,
            from_=el.get("from") or line,
            attributes=dict(el.attrib),
        )


class _CallRun:
    """The state of one call while the driver carries it out."""

    def __init__(self, driver: TwilioDriver, result: CallResult, scenario: Scenario) -> None:
        self.driver = driver
        self.result = result
        self.scenario = scenario
        self.dial_count = 0
        if isinstance(scenario.legs, Mapping):
            self.legs_by_number: dict[str, deque[Leg]] = {
                number: deque([legs] if isinstance(legs, Leg) else legs)
                for number, legs in scenario.legs.items()
            }
            self.legs_in_order: deque[Leg] = deque()
        else:
            self.legs_by_number = {}
            self.legs_in_order = deque(scenario.legs)

    # ---------------------------------------------------------------------- plumbing

    def tick(self) -> None:
        self.result.steps += 1
        if self.result.steps > self.driver.max_steps:
            raise LoopError(
                f"call ran past max_steps={self.driver.max_steps}\n{self.result.debug()}"
            )

    def record_exchange(self, state: _LegState, exchange: Exchange) -> None:
        state.exchanges.append(exchange)
        if state.exchanges is not self.result.exchanges:
            self.result.exchanges.append(exchange)

    def fetch(
        self, state: _LegState, method: str, url: str, extra: dict[str, str], kind: str
    ) -> tuple[ET.Element, str] | None:
        """Request TwiML for a leg still on the line; None after Twilio's error path."""
        self.tick()
        params = {**state.params(), **extra}
        state.requested = True
        exchange, root, code = self.driver._request(state.name, kind, method, url, params)
        self.record_exchange(state, exchange)
        if root is not None:
            return root, url
        self.result.errors.append(f"{state.name} {kind} {exchange.path}: {exchange.error}")
        fallback = self.driver.fallback_path
        if state.is_caller and fallback:
            fallback_url = self.driver.url_for(fallback)
            fb_params = {**params, "ErrorCode": code or ERROR_HTTP_RETRIEVAL, "ErrorUrl": url}
            fb_exchange, fb_root, _ = self.driver._request(
                state.name, "fallback", "POST", fallback_url, fb_params
            )
            self.record_exchange(state, fb_exchange)
            if fb_root is not None:
                return fb_root, fallback_url
            self.result.errors.append(
                f"{state.name} fallback {fb_exchange.path}: {fb_exchange.error}"
            )
        state.application_error = True
        state.say(APPLICATION_ERROR_MESSAGE)
        return None

    def notify(
        self, state: _LegState, method: str, url: str, extra: dict[str, str], kind: str
    ) -> None:
        """A request whose answer nobody hears (the caller has hung up)."""
        self.tick()
        params = {**state.params(), **extra}
        exchange, _, _ = self.driver._request(
            state.name, kind, method, url, params, expect_twiml=kind != "status"
        )
        exchange.played = False
        self.record_exchange(state, exchange)
        if exchange.error:
            self.result.errors.append(f"{state.name} {kind} {exchange.path}: {exchange.error}")

    # ------------------------------------------------------------------------- a leg

    def run_leg(
        self, state: _LegState, method: str, url: str, extra: dict[str, str], kind: str
    ) -> str:
        fetched = self.fetch(state, method, url, extra, kind)
        if fetched is None:
            return APPLICATION_ERROR
        root, doc_url = fetched
        verbs, i = list(root), 0
        while True:
            self.tick()
            if i >= len(verbs):
                return END_OF_DOCUMENT
            verb = verbs[i]
            i += 1
            step = self.verb(state, verb, doc_url)
            if step is None:
                continue
            if isinstance(step, _End):
                return step.reason
            fetched = self.fetch(state, step.method, step.url, step.extra, step.kind)
            if fetched is None:
                return APPLICATION_ERROR
            root, doc_url = fetched
            verbs, i = list(root), 0

    def verb(self, state: _LegState, el: ET.Element, doc_url: str) -> _Fetch | _End | None:
        tag = el.tag
        if tag == "Say":
            self.say(state, el)
        elif tag == "Play":
            self.play(state, el)
        elif tag == "Pause":
            length = _int_attr(el, "length", 1)
            state.elapsed += length
            state.mark(f"pause {length}s")
        elif tag == "Gather":
            return self.gather(state, el, doc_url)
        elif tag == "Record":
            return self.record(state, el, doc_url)
        elif tag == "Dial":
            if not state.is_caller:
                raise TwimlError("<Dial> in the TwiML of a <Number url> (Twilio forbids it)")
            return self.dial(state, el, doc_url)
        elif tag == "Redirect":
            target = (el.text or "").strip()
            if not target:
                raise TwimlError("<Redirect> without a URL")
            state.mark(f"redirect {target}")
            return _Fetch(_method_attr(el), urljoin(doc_url, target), {}, "redirect")
        elif tag == "Hangup":
            state.mark("hangup")
            return _End(HANGUP)
        elif tag == "Reject":
            state.mark(f"reject {el.get('reason', 'rejected')}")
            return _End(REJECTED)
        elif tag in _UNSIMULATED_VERBS:
            raise TwimlError(f"<{tag}> is valid TwiML but this driver does not simulate it")
        else:
            raise TwimlError(f"unknown TwiML verb <{tag}>")
        return None

    def say(self, state: _LegState, el: ET.Element) -> None:
        text = _text(el)
        loop = _int_attr(el, "loop", 1)
        if not text:
            raise TwimlError("<Say> with no text")
        state.said.append(text)
        state.says.append(SayEvent(text, el.get("voice"), el.get("language"), loop))
        state.transcript.append(text)
        state.elapsed += max(1, len(text.split()) * 2 // 5) * max(loop, 1)

    def play(self, state: _LegState, el: ET.Element) -> None:
        digits = el.get("digits")
        target = (el.text or "").strip()
        if not target and not digits:
            raise TwimlError("<Play> with neither a URL nor digits")
        state.mark(f"play digits {digits}" if digits else f"play {target}")
        state.elapsed += 1

    # ---------------------------------------------------------------------- <Gather>

    def gather(self, state: _LegState, el: ET.Element, doc_url: str) -> _Fetch | _End | None:
        input_ = el.get("input", "dtmf")
        if "dtmf" not in input_.split():
            raise TwimlError(f"<Gather input={input_!r}>: speech input is not simulated")
        num_digits_raw = el.get("numDigits")
        num_digits = _int_attr(el, "numDigits", 0, minimum=1) if num_digits_raw else None
        finish_on_key = el.get("finishOnKey", "#")
        if finish_on_key and not set(finish_on_key) <= _DTMF_KEYS:
            raise TwimlError(f"<Gather finishOnKey={finish_on_key!r}>")
        attempt = GatherAttempt(
            leg=state.name,
            action=urljoin(doc_url, el.get("action") or doc_url),
            method=_method_attr(el),
            num_digits=num_digits,
            timeout=_int_attr(el, "timeout", 5),
            finish_on_key=finish_on_key,
            action_on_empty_result=_bool_attr(el, "actionOnEmptyResult", False),
            input=input_,
            prompts=[],
            keys=None,
            digits="",
            requested=False,
        )
        state.gathers.append(attempt)
        if state.gathers is not self.result.gathers:
            self.result.gathers.append(attempt)
        for child in el:
            if child.tag == "Say":
                self.say(state, child)
                attempt.prompts.append(state.said[-1])
            elif child.tag == "Play":
                self.play(state, child)
            elif child.tag == "Pause":
                self.verb(state, child, doc_url)
            else:
                raise TwimlError(f"<{child.tag}> inside <Gather> (only Say, Play, Pause)")
        if state.abort_on_input:
            return _End(CALLER_HUNG_UP)
        keys = state.inputs.popleft() if state.inputs else None
        attempt.keys = keys
        digits, finished_on = "", ""
        for key in keys or "":
            if finish_on_key and key in finish_on_key:
                finished_on = key
                break
            digits += key
            if num_digits and len(digits) >= num_digits:
                break
        attempt.digits = digits
        if keys:
            state.digits_pressed.append(keys)
            state.mark(f"pressed {keys}")
        if not digits and not attempt.action_on_empty_result:
            # Timeout, or finishOnKey before any digit: Twilio moves to the next verb.
            state.elapsed += attempt.timeout
            state.mark("no input")
            return None
        attempt.requested = True
        extra = {"Digits": digits, "FinishedOnKey": finished_on}
        return _Fetch(attempt.method, attempt.action, extra, "gather-action")

    # ---------------------------------------------------------------------- <Record>

    def record(self, state: _LegState, el: ET.Element, doc_url: str) -> _Fetch | _End | None:
        finish_on_key = el.get("finishOnKey", "1234567890*#")
        attempt = RecordAttempt(
            leg=state.name,
            action=urljoin(doc_url, el.get("action") or doc_url),
            method=_method_attr(el),
            max_length=_int_attr(el, "maxLength", 3600, minimum=1),
            timeout=_int_attr(el, "timeout", 5),
            finish_on_key=finish_on_key,
            play_beep=_bool_attr(el, "playBeep", True),
            recording=None,
        )
        state.records.append(attempt)
        if state.records is not self.result.records:
            self.result.records.append(attempt)
        if attempt.play_beep:
            state.mark("beep")
        if state.abort_on_input:
            return _End(CALLER_HUNG_UP)
        rec = state.recordings.popleft() if state.recordings else None
        attempt.recording = rec
        if rec is None or rec.duration <= 0:
            # An empty recording: Twilio does not request the action, it goes on.
            state.elapsed += attempt.timeout
            state.mark("silence")
            return None
        key = rec.finish_key
        if key not in (None, "hangup") and key not in finish_on_key:
            raise ScenarioError(f"finish key {key!r} does not end <Record finishOnKey=...>")
        duration = min(rec.duration, attempt.max_length)
        if duration == attempt.max_length and key != "hangup":
            key = None  # maxLength ended it before any key
        attempt.recording_sid = self.driver.sid("RE")
        attempt.recording_url = (
            f"https://api.twilio.com/{API_VERSION}/Accounts/{self.driver.account_sid}"
            f"/Recordings/{attempt.recording_sid}"
        )
        state.elapsed += duration
        state.mark(f"recorded {duration}s")
        extra = {
            "RecordingUrl": attempt.recording_url,
            "RecordingSid": attempt.recording_sid,
            "RecordingDuration": str(duration),
        }
        if key is not None:
            extra["Digits"] = key
        attempt.requested = True
        if key == "hangup":
            state.hung_up = True
            state.mark("caller hangs up")
            self.notify(state, attempt.method, attempt.action, extra, "record-action")
            return _End(CALLER_HUNG_UP)
        return _Fetch(attempt.method, attempt.action, extra, "record-action")

    # ------------------------------------------------------------------------ <Dial>

    def leg_for(self, number: str) -> Leg:
        queue = self.legs_by_number.get(number)
        if queue:
            return queue.popleft() if len(queue) > 1 else queue[0]
        if self.legs_in_order:
            return self.legs_in_order.popleft()
        if self.scenario.default_leg is not None:
            return self.scenario.default_leg
        raise ScenarioError(f"the scenario does not say what {number} does when dialed")

    def dial(self, state: _LegState, el: ET.Element, doc_url: str) -> _Fetch | _End | None:
        nouns = list(el)
        number_attrs: dict[str, str] = {}
        if not nouns:
            number = (el.text or "").strip()
            if not number:
                raise TwimlError("<Dial> with nothing to dial")
            url, url_method, noun = None, "POST", None
        elif len(nouns) == 1 and nouns[0].tag == "Number":
            noun = nouns[0]
            number = (noun.text or "").strip()
            number_attrs = dict(noun.attrib)
            url = urljoin(doc_url, noun.get("url")) if noun.get("url") else None
            url_method = _method_attr(noun)
            if not number:
                raise TwimlError("<Number> without a number")
        elif len(nouns) > 1 and all(n.tag == "Number" for n in nouns):
            raise TwimlError("simultaneous dialing (several <Number>) is not simulated")
        else:
            raise TwimlError(f"<Dial><{nouns[0].tag}> is not simulated")
        self.dial_count += 1
        hangup = self.scenario.caller_hangup
        if hangup is not None and hangup.dial != self.dial_count:
            hangup = None
        if hangup is not None and hangup.when == "before":
            state.hung_up = True
            state.mark("caller hangs up")
            return _End(CALLER_HUNG_UP)
        action_raw = el.get("action")
        caller_id = el.get("callerId")
        child_from = caller_id or state.base["From"]
        spec = self.leg_for(number)
        leg = LegResult(number=number, call_sid=self.driver.sid("CA"), spec=spec)
        attempt = DialAttempt(
            number=number,
            url=url,
            url_method=url_method,
            timeout=_int_attr(el, "timeout", 30, minimum=1),
            caller_id=caller_id,
            time_limit=_int_attr(el, "timeLimit", 14400, minimum=1),
            action=urljoin(doc_url, action_raw) if action_raw else None,
            method=_method_attr(el),
            answer_on_bridge=_bool_attr(el, "answerOnBridge", False),
            record=el.get("record"),
            attributes=dict(el.attrib),
            number_attributes=number_attrs,
            leg=leg,
        )
        self.result.dials.append(attempt)
        child = _LegState(
            name=number,
            is_caller=False,
            base=self.driver.call_params(
                call_sid=leg.call_sid,
                from_=child_from,
                to=number,
                direction="outbound-dial",
                parent_call_sid=state.base["CallSid"],
            ),
            inputs=deque(spec.digits),
            recordings=deque(),
            said=leg.said,
            says=leg.says,
            transcript=leg.transcript,
            exchanges=leg.exchanges,
            gathers=self.result.gathers,
            records=self.result.records,
            digits_pressed=leg.digits_pressed,
        )
        state.mark(f"dialing {number}")
        if self.scenario.while_ringing is not None and spec.outcome not in ("busy", "failed"):
            self.scenario.while_ringing(number)
        bridged, caller_gone, talk = False, False, 0
        when = hangup.when if hangup else None
        if spec.outcome in ("busy", "failed"):
            status = spec.outcome
            caller_gone = when in ("ringing", "screening")
        elif when == "ringing" or (
            when == "screening" and (spec.outcome == "no-answer" or url is None)
        ):
            status, caller_gone = "canceled", True
            state.elapsed += 5
        elif spec.outcome == "no-answer":
            status = "no-answer"
            state.elapsed += attempt.timeout
        else:
            leg.answered = True
            status = "completed"
            detected = self.detect_machine(noun, child, attempt, doc_url)
            if url is not None:
                child.abort_on_input = when == "screening"
                end = self.run_leg(child, url_method, url, detected, "number-url")
                if child.abort_on_input:
                    caller_gone = True
                    if end == END_OF_DOCUMENT:
                        end = CALLER_HUNG_UP
                leg.end = end
                bridged = end == END_OF_DOCUMENT
            else:
                bridged = True
            if bridged:
                leg.end = END_OF_DOCUMENT
                talk = min(spec.talk_seconds, attempt.time_limit)
                caller_gone = when == "bridged"
        leg.bridged = bridged
        attempt.bridged = bridged
        attempt.dial_call_status = status
        attempt.dial_call_duration = (child.elapsed + talk) if leg.answered else 0
        attempt.caller_hung_up = caller_gone
        state.elapsed += attempt.dial_call_duration
        state.mark(f"dial {number}: {status}" + (", bridged" if bridged else ""))
        self.child_status_callbacks(noun, child, attempt, doc_url)
        if caller_gone:
            state.hung_up = True
            state.mark("caller hangs up")
        if attempt.action is None:
            return _End(CALLER_HUNG_UP) if caller_gone else None
        extra = {
            "DialCallStatus": status,
            "DialCallSid": leg.call_sid,
            "DialCallDuration": str(attempt.dial_call_duration),
            "DialBridged": "true" if bridged else "false",
        }
        if caller_gone:
            self.notify(state, attempt.method, attempt.action, extra, "dial-action")
            return _End(CALLER_HUNG_UP)
        return _Fetch(attempt.method, attempt.action, extra, "dial-action")

    def detect_machine(
        self, noun: ET.Element | None, child: _LegState, attempt: DialAttempt, doc_url: str
    ) -> dict[str, str]:
        """Synchronous answering-machine detection on an answered leg, when the <Number>
        asks for it: it listens first (the leg's time runs), then reports ``AnsweredBy`` to
        the ``amdStatusCallback`` and with the ``<Number url>`` request. {} when not asked."""
        mode = noun.get("machineDetection") if noun is not None else None
        if noun is None or not mode:
            return {}
        if mode not in ("Enable", "DetectMessageEnd"):
            raise TwimlError(f"<Number machineDetection={mode!r}>: Enable or DetectMessageEnd")
        answered_by = attempt.leg.spec.detected(mode)
        seconds = _AMD_SECONDS.get(answered_by, _AMD_MESSAGE_END_SECONDS)
        child.elapsed += seconds
        child.mark(f"machine detection: {answered_by}")
        attempt.answered_by = answered_by
        detected = {"AnsweredBy": answered_by, "MachineDetectionDuration": str(seconds * 1000)}
        if noun.get("amdStatusCallback"):
            url = urljoin(doc_url, noun.get("amdStatusCallback") or "")
            method = _method_attr(noun, "amdStatusCallbackMethod")
            params = {**child.params(), **detected}
            exchange, _, _ = self.driver._request(
                child.name, "amd-status", method, url, params, expect_twiml=False
            )
            exchange.played = False
            self.record_exchange(child, exchange)
            if exchange.error:
                self.result.errors.append(f"{child.name} amd {exchange.path}: {exchange.error}")
        return detected

    def child_status_callbacks(
        self, noun: ET.Element | None, child: _LegState, attempt: DialAttempt, doc_url: str
    ) -> None:
        """The <Number statusCallback> requests for the dialed leg, if it asked for them."""
        if noun is None or not noun.get("statusCallback"):
            return
        url = urljoin(doc_url, noun.get("statusCallback") or "")
        method = _method_attr(noun, "statusCallbackMethod")
        wanted = set(re.split(r"[\s,]+", noun.get("statusCallbackEvent", "completed").strip()))
        events = [("initiated", "initiated")]
        if attempt.dial_call_status not in ("busy", "failed"):
            events.append(("ringing", "ringing"))
        if attempt.leg.answered:
            events.append(("answered", "in-progress"))
        events.append(("completed", attempt.dial_call_status))
        sequence = itertools.count()
        for event, status in events:
            if event not in wanted:
                continue
            params = self.driver.status_callback_params(
                call_sid=child.base["CallSid"],
                from_=child.base["From"],
                to=child.base["To"],
                call_status=status,
                call_duration=attempt.dial_call_duration,
                sequence_number=next(sequence),
                direction="outbound-dial",
                parent_call_sid=child.base["ParentCallSid"],
            )
            exchange, _, _ = self.driver._request(
                child.name, "status", method, url, params, expect_twiml=False
            )
            exchange.played = False
            self.record_exchange(child, exchange)
            if exchange.error:
                self.result.errors.append(f"{child.name} status {exchange.path}: {exchange.error}")
