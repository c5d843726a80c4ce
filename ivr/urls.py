"""The line's voice webhook URLs, as the TwiML names them."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass(frozen=True)
class Urls:
    """The line's webhook URLs, absolute on the public base URL Twilio signs against."""

    base: str

    def _url(self, path: str, **query: str) -> str:
        return f"{self.base}{path}" + (f"?{urlencode(query)}" if query else "")

    def dial_result(self, tried: list[int]) -> str:
        return self._url("/twilio/voice/dial-result", tried=",".join(map(str, tried)))

    def screen(self, therapist_id: int) -> str:
        # No CallSid here: Twilio's request on the therapist's leg carries ParentCallSid, and
        # without it the ringing TwiML is the same for every call (`_ringing`).
        return self._url("/twilio/voice/screen", therapist=str(therapist_id))

    def screen_answer(self, parent_sid: str, therapist_id: int) -> str:
        return self._url(
            "/twilio/voice/screen/answer", parent=parent_sid, therapist=str(therapist_id)
        )

    def recorded(self) -> str:
        return self._url("/twilio/voice/recorded")

    def lifeline(self, then: str) -> str:
        return self._url("/twilio/voice/lifeline", then=then)
