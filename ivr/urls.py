"""The line's voice webhook URLs, as the TwiML names them.

A URL that leads to words said later carries the language they are in (`lang=es`; English
says nothing), so that the webhook it reaches speaks it without the database: the 988
answer, the voice message's thanks, the therapist's screening prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from ivr.language import Language


def _lang(language: Language) -> dict[str, str]:
    return {} if language == Language.ENGLISH else {"lang": language.value}


@dataclass(frozen=True)
class Urls:
    """The line's webhook URLs, absolute on the public base URL Twilio signs against."""

    base: str

    def _url(self, path: str, **query: str) -> str:
        return f"{self.base}{path}" + (f"?{urlencode(query)}" if query else "")

    def dial_result(self, tried: list[int]) -> str:
        return self._url("/twilio/voice/dial-result", tried=",".join(map(str, tried)))

    def screen(self, therapist_id: int, language: Language = Language.ENGLISH) -> str:
        # No CallSid here: Twilio's request on the therapist's leg carries ParentCallSid, and
        # without it the ringing TwiML is the same for every call (`_ringing`). The language
        # is the call's, so the prompt can say it is in Spanish.
        return self._url("/twilio/voice/screen", therapist=str(therapist_id), **_lang(language))

    def screen_answer(self, parent_sid: str, therapist_id: int) -> str:
        return self._url(
            "/twilio/voice/screen/answer", parent=parent_sid, therapist=str(therapist_id)
        )

    def recorded(self, language: Language = Language.ENGLISH) -> str:
        return self._url("/twilio/voice/recorded", **_lang(language))

    def lifeline(
        self, then: str, language: Language = Language.ENGLISH, replay: str | None = None
    ) -> str:
        """The key after the offer of 988. `replay`: the script a caller whose language the
        line doesn't know heard, said again in Spanish when they press 2."""
        query = {"then": then, **_lang(language)}
        if replay:
            query["replay"] = replay
        return self._url("/twilio/voice/lifeline", **query)
