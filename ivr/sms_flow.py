"""The text-message flow: `handle_sms(state, body, now) -> SmsDecision`.

The service loads who texted (`SmsState`), asks here what to do, replies with
`decision.reply` (TwiML <Message>, or an empty response when it is None) and saves what the
decision says, in one transaction with the inbound message.

Decisions where the issue is silent, made here and tested in tests/test_ivr_sms_flow.py:

- Crisis language wins over everything, for clients, therapists and unknown senders alike,
  and the crisis reply goes out even to an opted-out client: it answers their own message,
  it is not proactive. (Twilio refuses replies to a number that texted STOP, with error
  21610, so in practice it reaches them only if they have opted back in; the inbound text is
  in the log either way.)
- Every sign of distress from a known client opens an attention item and tells a therapist
  (`ivr.attention`, safety invariant 7): crisis language ("<first name> texted the line and
  may need support."), an urge of 4 or 5 answering a check-in, and a plea for contact
  ("<first name> texted the coaching line and asked for a call."). This holds under the
  24-hour rule too: the rule pauses coaching, not the team's response to a sign of risk.
  An opted-out client's plea is still raised (silently: they get no reply). Unknown senders
  and therapists notify nobody.
- Crisis language leaves an open check-in open, so a rating sent next still gets a
  distress-tolerance skill and the crisis resources. Every other keyword (check-in, win,
  help, STOP, START) closes it; "check-in" opens a new one. Text that is not understood and
  numbers outside 0-5 leave it open and ask for the number again.
- A check-in is open from when it was asked until `expires_at` (exclusive); after that a
  bare number is not understood and gets the help reply.
- An opted-out client gets no reply to anything but START/UNSTOP/YES and crisis language.
  A "win" they send is still stored for the therapist (they sent it to be read), silently.
- Under a lockout every reply but the crisis reply carries a skill, when coaching is
  available again, and the crisis resources (the reminder to finish a check-in carries no
  new skill: the prompt minutes before gave one). Check-ins and successes are stored as usual
  (stored is not forwarded); `under_lockout` on the decision lets the service keep them out
  of the therapist's daily text until the lockout ends, if it wants to.
- A rating of 0-2 gets a skill from any module, 3 from distress tolerance or emotion
  regulation, 4-5 from distress tolerance, plus the crisis resources; 4-5 also tells the
  therapist (`ivr.attention.HIGH_URGE`).
- A bare "win" (no words after it) is stored with an empty body and thanked.
- A therapist texting STOP is recorded as an opt-out like anyone else (Twilio blocks our
  notices to them until they text START): the service should show that on the dashboard.
- The diary card (`ivr.diary`): "diary" starts or continues today's card for a client who
  opted in (others are told their therapist can turn it on) and closes an open check-in.
  While a card waits for an answer, numbers, yes/no and other text not understood answer
  it; an open check-in takes a rating first. Crisis language, pleas, help, wins and
  "check-in" keep their own replies and leave the card where it was; STOP leaves it (it is
  not continued until "diary"). "yes" answers the card (it is also Twilio's opt-in word,
  which changes nothing for a client who has not opted out). An urge of 4-5 or a yes to
  acting tells the therapist once a card (`AttentionKind.DIARY_URGE`). Under a lockout the
  card's replies are its own (a record, not coaching).
- Language (issue 24): a client reads the practice's view in their language
  (`SmsState.for_client`: Spanish when the line offers it, else English), skills included
  (the state's skills are that language's library). Crisis words in Spanish get the crisis
  reply in Spanish from anyone, whatever their language and whether or not the line offers
  Spanish, and the therapist's text says the client texted in Spanish. An opt-out word of ours
  (PARAR: Twilio does not act on it) is confirmed in the sender's language; an unknown sender
  who used a Spanish keyword reads Spanish when the line offers it. Therapists read English.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ivr import diary, replies
from ivr.attention import HIGH_URGE, alert_body
from ivr.codes import AttentionKind
from ivr.language import Language
from ivr.replies import UnderLockout
from ivr.scripts import Practice, speaking
from ivr.skills import (
    DISTRESS_TOLERANCE,
    EMOTION_REGULATION,
    Skill,
    builtin_skills,
    pick_skill,
)
from ivr.texts import Intent, IntentKind, classify, crisis_language

CHECK_IN_TTL = timedelta(minutes=30)


class Sender(StrEnum):
    CLIENT = "client"
    THERAPIST = "therapist"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ClientState:
    """An enrolled client, as the text flow needs them."""

    first_name: str
    last_skill: str | None = None
    opted_out: bool = False
    # From ivr.rules.locked_until (None when the 24-hour rule does not apply to them).
    locked_until: datetime | None = None
    # expires_at of their latest unanswered check-in, expired or not; None when there is none.
    check_in_expires_at: datetime | None = None
    diary_opt_in: bool = False
    # Their latest diary card (today's, or an open one from before), if any.
    diary_card: diary.Card | None = None
    language: Language = Language.ENGLISH  # the client's own (clients.language)


@dataclass(frozen=True)
class SmsState:
    practice: Practice
    sender: Sender = Sender.UNKNOWN
    client: ClientState | None = None
    # The library in the practice view's language (ivr.skills.library); empty: the built-ins.
    skills: Sequence[Skill] = ()
    seed: str = ""  # e.g. the MessageSid: varies the skill offered, reproducibly

    @classmethod
    def for_client(
        cls,
        practice: Practice,
        client: ClientState,
        skills: Iterable[Skill] = (),
        seed: str = "",
    ) -> SmsState:
        """The state for a client: the practice as they read it (their language when the line
        offers it; `skills` must be that language's library)."""
        view = speaking(practice, client.language)
        return cls(view, Sender.CLIENT, client, tuple(skills), seed)

    @classmethod
    def for_therapist(cls, practice: Practice) -> SmsState:
        return cls(practice, Sender.THERAPIST)

    @classmethod
    def for_unknown(cls, practice: Practice) -> SmsState:
        return cls(practice, Sender.UNKNOWN)


@dataclass(frozen=True)
class TherapistNotice:
    """An attention item for the client's therapist (or whoever is on call), and the text
    that tells them, queued durably."""

    kind: AttentionKind
    body: str

    @classmethod
    def about(cls, kind: AttentionKind, first_name: str) -> TherapistNotice:
        return cls(kind, alert_body(kind, first_name))


@dataclass(frozen=True)
class SmsDecision:
    """What to reply and what to record. Fields left at their defaults mean "no change"."""

    intent: IntentKind
    reply: str | None  # None: reply nothing (Twilio answers opt-out words itself)
    skill_key: str | None = None  # store as Client.last_skill
    open_check_in_until: datetime | None = None  # new CheckIn: asked_at=now, expires_at=this
    close_check_in: bool = False  # the open check-in ends unanswered (e.g. expires_at=now)
    urge_rating: int | None = None  # answers the open check-in (answered_at=now)
    success_body: str | None = None  # a new Success with this body
    opt_out: bool = False
    opt_in: bool = False
    notice: TherapistNotice | None = None
    under_lockout: bool = False
    diary_card: diary.Card | None = None  # the diary card to save


def handle_sms(state: SmsState, body: str, now: datetime) -> SmsDecision:
    """Decide the reply to one inbound text and what to record. `now` must be timezone-aware."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    intent = classify(body)
    if state.sender is Sender.CLIENT and state.client is not None:
        return _client(state, state.client, intent, now, body)
    if state.sender is Sender.THERAPIST:
        return _therapist(state, intent, body)
    return _unknown_sender(state, intent, body)


def crisis_view(practice: Practice, body: str) -> Practice:
    """The practice view a crisis reply is written in: Spanish when the crisis words were
    Spanish (offered or not: the client wrote it), else the view's own language."""
    if crisis_language(body, prefer=practice.language) is Language.SPANISH:
        return dataclasses.replace(practice, language=Language.SPANISH)
    return practice


def _opt_out(intent: Intent, practice: Practice) -> str | None:
    """Twilio answers its own opt-out words; ours (PARAR) the line confirms itself."""
    return None if intent.by_twilio else replies.opt_out_reply(practice)


def _therapist(state: SmsState, intent: Intent, body: str) -> SmsDecision:
    practice = speaking(state.practice, Language.ENGLISH)  # therapists keep their language
    if intent.kind is IntentKind.CRISIS:
        crisis = replies.crisis_reply(crisis_view(practice, body), therapist_told=False)
        return SmsDecision(intent.kind, crisis)
    if intent.kind is IntentKind.OPT_OUT:
        return SmsDecision(intent.kind, _opt_out(intent, practice), opt_out=True)
    usage = replies.therapist_usage_reply(practice)
    return SmsDecision(intent.kind, usage, opt_in=intent.kind is IntentKind.OPT_IN)


def _unknown_sender(state: SmsState, intent: Intent, body: str) -> SmsDecision:
    practice = speaking(state.practice, intent.language)
    if intent.kind is IntentKind.CRISIS:
        crisis = replies.crisis_reply(crisis_view(practice, body), therapist_told=False)
        return SmsDecision(intent.kind, crisis)
    if intent.kind is IntentKind.OPT_OUT:
        return SmsDecision(intent.kind, _opt_out(intent, practice), opt_out=True)
    about = replies.unknown_sender_reply(practice)
    return SmsDecision(intent.kind, about, opt_in=intent.kind is IntentKind.OPT_IN)


def _rating_modules(rating: int) -> tuple[str, ...] | None:
    if rating >= 4:
        return (DISTRESS_TOLERANCE,)
    if rating == 3:
        return (DISTRESS_TOLERANCE, EMOTION_REGULATION)
    return None


def _diary_answer(
    state: SmsState,
    client: ClientState,
    kind: IntentKind,
    body: str,
    now: datetime,
) -> SmsDecision:
    assert client.diary_card is not None
    turn = diary.answer(client.diary_card, body, state.practice, now)
    notice = (
        TherapistNotice.about(AttentionKind.DIARY_URGE, client.first_name) if turn.sign else None
    )
    return SmsDecision(kind, turn.reply, notice=notice, diary_card=turn.card)


def _client(
    state: SmsState, client: ClientState, intent: Intent, now: datetime, body: str = ""
) -> SmsDecision:
    practice = state.practice
    kind = intent.kind
    lockout = (
        UnderLockout(client.locked_until, now)
        if client.locked_until is not None and client.locked_until > now
        else None
    )
    locked = lockout is not None
    check_in_open = client.check_in_expires_at is not None and now < client.check_in_expires_at
    library = list(state.skills) or builtin_skills(language=practice.language)

    def pick(modules: Sequence[str] | None = None) -> Skill:
        seed = f"{state.seed}|{now.isoformat()}|{kind}"
        return pick_skill(library, last_key=client.last_skill, seed=seed, modules=modules)

    def lockout_skill() -> Skill | None:
        # Under a lockout every reply teaches a skill; distress tolerance fits that day.
        return pick((DISTRESS_TOLERANCE,)) if locked else None

    def decide(reply: str | None, skill: Skill | None = None, **changes: Any) -> SmsDecision:
        key = skill.key if skill else None
        base = SmsDecision(kind, reply, skill_key=key, under_lockout=locked)
        return dataclasses.replace(base, **changes)

    if kind is IntentKind.CRISIS:
        view = crisis_view(practice, body)
        in_spanish = crisis_language(body, prefer=Language.SPANISH) is Language.SPANISH
        notice = TherapistNotice(
            AttentionKind.CRISIS_TEXT,
            replies.therapist_crisis_notice(client.first_name, in_spanish=in_spanish),
        )
        return decide(replies.crisis_reply(view, therapist_told=True), notice=notice)
    diary_open = diary.is_open(client.diary_card, now)
    if kind is IntentKind.OPT_OUT:
        paused = (
            dataclasses.replace(client.diary_card, next_question=None)
            if diary_open and client.diary_card
            else None
        )
        return decide(
            _opt_out(intent, practice),
            opt_out=True,
            close_check_in=check_in_open,
            diary_card=paused,
        )
    card_answer = diary_open and not client.opted_out and not check_in_open
    if kind is IntentKind.OPT_IN and card_answer and intent.matched == "yes":
        return _diary_answer(state, client, kind, body, now)
    if kind is IntentKind.OPT_IN:
        skill = lockout_skill()
        reply = replies.opt_in_reply(practice, lockout, skill)
        return decide(reply, skill, opt_in=True, close_check_in=check_in_open)

    plea = (
        TherapistNotice.about(AttentionKind.CONTACT_PLEA, client.first_name)
        if kind is IntentKind.PLEA
        else None
    )
    if client.opted_out:
        # Nothing proactive: silence, but a success is still kept for the therapist, and a
        # plea still reaches one.
        if kind is IntentKind.SUCCESS:
            return decide(None, success_body=intent.text)
        return decide(None, notice=plea)

    if kind is IntentKind.CHECK_IN:
        skill = pick()
        return decide(
            replies.check_in_prompt(practice, skill, lockout),
            skill,
            open_check_in_until=now + CHECK_IN_TTL,
            close_check_in=check_in_open,
        )
    if kind is IntentKind.DIARY:
        if not client.diary_opt_in:
            return decide(diary.not_on_reply(practice), close_check_in=check_in_open)
        turn = diary.start(client.diary_card, practice, now)
        return decide(turn.reply, diary_card=turn.card, close_check_in=check_in_open)
    if kind is IntentKind.SUCCESS:
        skill = lockout_skill()
        reply = replies.success_reply(
            practice, detailed=bool(intent.text), lockout=lockout, skill=skill
        )
        return decide(reply, skill, success_body=intent.text, close_check_in=check_in_open)
    if kind is IntentKind.HELP:
        skill = lockout_skill()
        return decide(
            replies.help_reply(practice, lockout, skill), skill, close_check_in=check_in_open
        )
    if kind is IntentKind.PLEA:
        skill = lockout_skill()
        reply = replies.plea_reply(practice, lockout, skill)
        return decide(reply, skill, notice=plea, close_check_in=check_in_open)
    if kind is IntentKind.RATING and check_in_open and intent.rating is not None:
        skill = pick(_rating_modules(intent.rating))
        reply = replies.rating_reply(practice, intent.rating, skill, lockout)
        high = (
            TherapistNotice.about(AttentionKind.HIGH_URGE, client.first_name)
            if intent.rating >= HIGH_URGE
            else None
        )
        return decide(reply, skill, urge_rating=intent.rating, notice=high)

    if card_answer and kind in (IntentKind.RATING, IntentKind.NUMBER, IntentKind.UNKNOWN):
        return _diary_answer(state, client, kind, body, now)

    # Not understood (or a number with no open check-in to answer).
    if check_in_open:
        return decide(replies.check_in_reminder(practice, lockout))
    skill = lockout_skill()
    return decide(replies.help_reply(practice, lockout, skill), skill)
