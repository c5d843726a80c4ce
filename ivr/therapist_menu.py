"""A therapist calls the line from their registered phone: the missed-call menu.

Only after their PIN (`ivr.pin`: caller ID can be faked), they hear who is waiting for a
call-back, can call a client back through the line (the client sees the line's number, never
the therapist's), and can record a self-harm event for that client, which starts the 24-hour
rule after a confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from ivr.rules import CALL_BACK_DIAL_TIMEOUT_SECONDS, lockout_ends_at
from ivr.scripts import Practice, clock_time, first_name, say, spoken_when

CALL_BACK, NEXT, RECORD_EVENT, REPEAT = "1", "2", "3", "9"
CONFIRM, CANCEL = "1", "2"
SPOKE = "1"  # after a call-back detection could not place: "did you speak with them?"
MENU_TIMEOUT_SECONDS = 8


@dataclass(frozen=True)
class Missed:
    """A client waiting for a call-back: their latest missed call, and how many."""

    client_id: int
    name: str
    called_at: datetime
    calls: int = 1


@dataclass(frozen=True)
class MenuUrls:
    base: str

    def _url(self, path: str, **query: object) -> str:
        q = {k: str(v) for k, v in query.items()}
        return f"{self.base}/twilio/voice/therapist{path}" + (f"?{urlencode(q)}" if q else "")

    def menu(self, index: int) -> str:
        return self._url("/menu", i=index)

    def choice(self, index: int) -> str:
        return self._url("/choice", i=index)

    def callback_done(self, client_id: int, index: int) -> str:
        return self._url("/callback-done", client=client_id, i=index)

    def callback_answered(self, parent_call_sid: str) -> str:
        # The therapist's call in the query as well as in ParentCallSid: the AMD status
        # callback is not documented to carry ParentCallSid.
        return self._url("/callback-answered", parent=parent_call_sid)

    def callback_confirm(self, client_id: int, index: int) -> str:
        return self._url("/callback-confirm", client=client_id, i=index)

    def event_time(self, client_id: int, index: int) -> str:
        return self._url("/event-time", client=client_id, i=index)

    def event_confirm(self, client_id: int, index: int, at: datetime) -> str:
        return self._url("/event-confirm", client=client_id, i=index, at=int(at.timestamp()))


def _when_called(missed: Missed, now: datetime, practice: Practice) -> str:
    local_day = missed.called_at.astimezone(practice.tz).date()
    time = clock_time(missed.called_at, practice.tz)
    if local_day == now.astimezone(practice.tz).date():
        return f"at {time}"
    return spoken_when(missed.called_at, now, practice.tz).replace("today ", "")


def menu(
    missed: list[Missed],
    index: int,
    now: datetime,
    practice: Practice,
    urls: MenuUrls,
    lead: str = "",
) -> str:
    """The menu at entry `index` (wrapping), or a goodbye when nobody is waiting."""
    response = VoiceResponse()
    if not missed:
        say(
            response,
            (lead + " " if lead else "") + "You have no missed coaching calls waiting. "
            "To record a self-harm event, text LOCK with the client's first name. Goodbye.",
        )
        response.hangup()
        return str(response)
    index %= len(missed)
    entry = missed[index]
    name = first_name(entry.name)
    count = len(missed)
    intro = (
        f"You have {count} missed coaching call{'s' if count != 1 else ''}. " if index == 0 else ""
    )
    times = f", {entry.calls} times," if entry.calls > 1 else ""
    prompt = (
        f"{lead + ' ' if lead else ''}{intro}Press 1 to call back {name}, who called{times} "
        f"{_when_called(entry, now, practice)}. "
        + ("Press 2 for the next. " if count > 1 else "")
        + f"Press 3 to record a self-harm event for {name}. Press 9 to hear this again."
    )
    gather = response.gather(
        num_digits=1, timeout=MENU_TIMEOUT_SECONDS, action=urls.choice(index), method="POST"
    )
    say(gather, prompt)
    say(response, "Goodbye.")
    response.hangup()
    return str(response)


def call_back(
    missed: Missed,
    client_phone: str,
    index: int,
    practice: Practice,
    urls: MenuUrls,
    call_sid: str,
) -> str:
    """Bridge the therapist to the client with the line's number as caller ID, once
    answering-machine detection says who answered (`answered`): never to a voicemail box."""
    response = VoiceResponse()
    say(response, f"Calling {first_name(missed.name)} now.")
    dial = response.dial(
        action=urls.callback_done(missed.client_id, index),
        method="POST",
        timeout=CALL_BACK_DIAL_TIMEOUT_SECONDS,
        time_limit=practice.call_time_limit_seconds,
        caller_id=practice.line_number or None,
    )
    answered = urls.callback_answered(call_sid)
    dial.number(
        client_phone,
        machine_detection="Enable",
        url=answered,
        method="POST",
        amd_status_callback=answered,
        amd_status_callback_method="POST",
    )
    return str(response)


HUMAN, FAX = "human", "fax"  # Twilio's AnsweredBy values (and machine_*, unknown)


def is_machine(answered_by: str | None) -> bool:
    """Twilio's AnsweredBy names a voicemail box (machine_start, machine_end_beep, ...) or
    a fax."""
    return answered_by is not None and (answered_by.startswith("machine_") or answered_by == FAX)


def answered(answered_by: str | None, pin_given: bool = True) -> str:
    """The client's leg of a call-back has answered: a machine is hung up on (the therapist
    is never bridged to voicemail), anyone else is put through, unless the call that dialed
    never gave its PIN (then nobody is put through)."""
    response = VoiceResponse()
    if is_machine(answered_by) or not pin_given:
        response.hangup()
    return str(response)


class CallBack(Enum):
    """How a call-back went, as far as returning the missed call goes."""

    REACHED = "reached"  # a person answered and they spoke
    MACHINE = "machine"  # a voicemail box (or a fax) answered
    NOT_ANSWERED = "not_answered"  # no answer, busy, failed, or hung up before an answer
    ASK = "ask"  # answered and lasted, but detection could not say by whom


def call_back_result(
    dial_status: str, dial_duration: str | None, dial_bridged: str | None, answered_by: str | None
) -> CallBack:
    """Only a person reached returns a missed call: Twilio reports DialCallStatus=completed
    for any answered leg, a machine's included, so the answer's detection decides. A leg
    that answered but was never put through to the therapist (DialBridged=false: someone
    hung up while detection listened) reached nobody either."""
    duration = dial_duration or "0"
    lasted = duration.isascii() and duration.isdigit() and int(duration) > 0
    if is_machine(answered_by):
        return CallBack.MACHINE
    if dial_status != "completed" or not lasted or dial_bridged == "false":
        return CallBack.NOT_ANSWERED
    if answered_by == HUMAN:
        return CallBack.REACHED
    return CallBack.ASK  # unknown, or never heard: the therapist knows


STILL_WAITING = "The missed call is still waiting for a call-back."


def after_call_back(
    name: str, result: CallBack, answered_by: str | None, client_id: int, index: int, urls: MenuUrls
) -> str:
    """What the therapist hears when the call-back ends, then back to the menu."""
    first = first_name(name)
    response = VoiceResponse()
    if result is CallBack.REACHED:
        say(response, f"Your call with {first} has ended, and it is marked returned.")
    elif result is CallBack.MACHINE:
        machine = "A fax machine" if answered_by == FAX else f"{first}'s voicemail"
        say(response, f"{machine} answered. {STILL_WAITING}")
    elif result is CallBack.NOT_ANSWERED:
        say(response, f"{first} didn't answer. {STILL_WAITING}")
    else:
        gather = response.gather(
            num_digits=1,
            timeout=MENU_TIMEOUT_SECONDS,
            action=urls.callback_confirm(client_id, index),
            method="POST",
        )
        say(gather, f"Did you speak with {first}? Press 1 for yes, 2 for no.")
        say(response, STILL_WAITING)
    response.redirect(urls.menu(index), method="POST")
    return str(response)


def after_confirm(name: str, spoke: bool, index: int, urls: MenuUrls) -> str:
    """The therapist said whether they spoke with the client."""
    response = VoiceResponse()
    if spoke:
        say(response, f"Thank you. {first_name(name)}'s missed call is marked returned.")
    else:
        say(response, STILL_WAITING)
    response.redirect(urls.menu(index), method="POST")
    return str(response)


def event_time_prompt(
    name: str, client_id: int, index: int, urls: MenuUrls, retry: bool = False
) -> str:
    response = VoiceResponse()
    gather = response.gather(
        finish_on_key="#", timeout=10, action=urls.event_time(client_id, index), method="POST"
    )
    lead = "Sorry, that wasn't a time I understood. " if retry else ""
    say(
        gather,
        f"{lead}To record a self-harm event for {first_name(name)}, enter the time it happened "
        "as four digits on a 24-hour clock, then pound. For example, 2 1 3 0 pound for 9:30 PM. "
        "If it was just now, press star, then pound.",
    )
    response.redirect(urls.menu(index), method="POST")
    return str(response)


def parse_event_time(digits: str, now: datetime, practice: Practice) -> datetime | None:
    """ "*" is now; "HHMM" is the most recent such local time, not in the future, within 24 h."""
    digits = digits.strip()
    if digits == "*":
        return now
    if len(digits) != 4 or not digits.isdigit():
        return None
    hour, minute = int(digits[:2]), int(digits[2:])
    if hour > 23 or minute > 59:
        return None
    local_now = now.astimezone(practice.tz)
    for days_back in (0, 1):
        day = local_now.date() - timedelta(days=days_back)
        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=practice.tz)
        if candidate <= local_now:
            return candidate.astimezone(now.tzinfo)
    return None


def event_confirm_prompt(
    name: str,
    client_id: int,
    index: int,
    at: datetime,
    now: datetime,
    practice: Practice,
    urls: MenuUrls,
) -> str:
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1,
        timeout=MENU_TIMEOUT_SECONDS,
        action=urls.event_confirm(client_id, index, at),
        method="POST",
    )
    ends = lockout_ends_at(at)
    say(
        gather,
        f"Press 1 to start the 24-hour rule for {first_name(name)}, from "
        f"{spoken_when(at, now, practice.tz)} until {spoken_when(ends, now, practice.tz)}. "
        "Press 2 to cancel.",
    )
    say(response, "Nothing was recorded.")
    response.redirect(urls.menu(index), method="POST")
    return str(response)


def event_recorded(
    name: str, ends_at: datetime, now: datetime, practice: Practice, index: int, urls: MenuUrls
) -> str:
    response = VoiceResponse()
    say(
        response,
        f"Recorded. The 24-hour rule for {first_name(name)} runs until "
        f"{spoken_when(ends_at, now, practice.tz)}.",
    )
    response.redirect(urls.menu(index), method="POST")
    return str(response)


def cancelled(index: int, urls: MenuUrls) -> str:
    response = VoiceResponse()
    say(response, "Cancelled. Nothing was recorded.")
    response.redirect(urls.menu(index), method="POST")
    return str(response)
