"""Words for the codes the line records, as the pages show them (templates get them as
OUTCOMES, ROUTES, KINDS and SOURCES)."""

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
