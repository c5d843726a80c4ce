"""Words for the codes the line records, as the pages show them: one mapping per code, used by
every page that shows it (templates get them as OUTCOMES, ROUTES, KINDS, SOURCES,
MESSAGE_STATUSES, CALL_STATUSES and `message_status`)."""

from __future__ import annotations

OUTCOMES = {
    "ringing": "Ringing",
    "bridged": "Talked with a coach",
    "wait_script": "Missed: heard the wait-time script",
    "caller_hung_up": "Missed: hung up while ringing",
    "lockout_script": "24-hour rule script",
    "crisis_resources": "Crisis resources",
    "being_called_back": "Already being called back",
    "menu": "Therapist: missed-call menu",
    "calling_back": "Therapist calling back",
    "returned": "Call-back reached the client",
    "not_reached": "Call-back did not reach the client",
    "no_pin": "Therapist: menu not opened (no right PIN)",
}
ROUTES = {
    "unknown_caller": "Unknown caller",
    "locked_out": "24-hour rule",
    "coaching": "Coaching",
    "fallback": "Fallback",
    "therapist": "Therapist calling",
}
KINDS = {
    "inbound": "Text in",
    "reply": "Reply",
    "notification": "To a therapist",
    "escalation": "Escalation",
    "success_digest": "Success digest",
    "prompt": "Prompt",
}
SOURCES = {"rotation": "rotation", "override": "override", "shift": "shift"}

# A text's delivery (Message.status). "replied" is the only one that reads differently by
# direction: a text in that the line answered, or the answer itself (sent in the webhook's reply).
MESSAGE_STATUSES = {
    "received": "Received",
    "replied": "Answered",
    "queued": "Waiting to be sent",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Could not be sent",
    "not_sent": "Not sent",
}
_SENT_AS_THE_ANSWER = "Sent as the line's answer"

# Why a text was not sent (Message.last_error, as app.notify writes it).
_WHY_NOT_SENT = {
    "recipient opted out": "they replied STOP to the line",
    "no Twilio credentials (development)": "no Twilio account is set up",
}

# A call's state as Twilio reports it (Call.twilio_status, the simulator's status callbacks).
CALL_STATUSES = {
    "queued": "Waiting to ring",
    "initiated": "Dialling",
    "ringing": "Ringing",
    "in-progress": "In progress",
    "answered": "Answered",
    "completed": "Ended",
    "busy": "Busy",
    "no-answer": "No answer",
    "failed": "Could not connect",
    "canceled": "Cancelled",
}


def message_status(direction: str, status: str) -> str:
    """A text's status in words: "Sent", "Not sent", "Answered"."""
    if status == "replied" and direction == "outbound":
        return _SENT_AS_THE_ANSWER
    return MESSAGE_STATUSES.get(status, status.replace("_", " ").capitalize())


def why_not_sent(last_error: str | None) -> str | None:
    """Why a text failed or was not sent, in words (never a number or address: the stored
    reason is a fixed phrase, Twilio's error code, or an exception's class name)."""
    if not last_error:
        return None
    if last_error in _WHY_NOT_SENT:
        return _WHY_NOT_SENT[last_error]
    if last_error.startswith("twilio "):
        code = last_error.rsplit(" ", 1)[-1]
        return f"Twilio refused it (error {code})" if code.isdigit() else "Twilio refused it"
    return "the line could not reach Twilio"
