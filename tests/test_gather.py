"""Incoming calls and texts of the same moment are answered together (`app.gather`): one
statement for every caller, one INSERT (one commit) for every call record, one transaction
for every text, and nothing a caller hears or a texter reads depends on who else called."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator

import app.twilio.voice as voice_routes
from app.callers import callers_by_phone
from app.gather import Gather
from app.models import Call, CheckIn, Client, Message, Success
from app.twilio.voice import CallStart, _record_starts
from tests.conftest import AUTH_TOKEN, NOW, PUBLIC_BASE_URL
from tests.helpers import run

RILEY, JORDAN, SAM, STRANGER = "+13145550142", "+13145550143", "+13145550144", "+13145550199"


# --- Gather itself ---------------------------------------------------------------------------


def test_keys_of_one_turn_are_answered_by_one_call():
    groups: list[list[int]] = []

    def answer(keys: list[int]) -> list[int]:
        groups.append(keys)
        return [k * 10 for k in keys]

    async def main() -> tuple[list[int], int]:
        gather = Gather(asyncio.get_running_loop(), answer)
        together = await asyncio.gather(*(gather(k) for k in (1, 2, 3)))
        alone = await gather(4)
        return together, alone

    assert run(main) == ([10, 20, 30], 40)
    assert groups == [[1, 2, 3], [4]]


def test_a_group_is_at_most_most_keys():
    groups: list[list[int]] = []

    def answer(keys: list[int]) -> list[int]:
        groups.append(keys)
        return keys

    async def main() -> list[int]:
        gather = Gather(asyncio.get_running_loop(), answer, most=2)
        return await asyncio.gather(*(gather(k) for k in range(5)))

    assert run(main) == [0, 1, 2, 3, 4]
    assert groups == [[0, 1], [2, 3], [4]]


def test_an_exception_answers_only_its_own_key_and_a_failure_every_key():
    def answer(keys: list[int]) -> list[object]:
        if 0 in keys:
            raise RuntimeError("the database is down")
        return [ValueError(k) if k == 2 else k for k in keys]

    async def main() -> tuple[list[object], list[object]]:
        gather = Gather(asyncio.get_running_loop(), answer)
        mixed = await asyncio.gather(*(gather(k) for k in (1, 2, 3)), return_exceptions=True)
        failed = await asyncio.gather(gather(0), gather(5), return_exceptions=True)
        return mixed, failed

    mixed, failed = run(main)
    assert mixed[0] == 1 and isinstance(mixed[1], ValueError) and mixed[2] == 3
    assert all(isinstance(f, RuntimeError) for f in failed)


def test_a_wrong_number_of_answers_leaves_no_caller_waiting():
    async def main() -> list[object]:
        gather = Gather(asyncio.get_running_loop(), lambda keys: keys[:1])
        return await asyncio.gather(gather(1), gather(2), return_exceptions=True)

    assert all(isinstance(r, RuntimeError) for r in run(main))


def test_a_caller_that_went_away_does_not_stop_the_others():
    async def main() -> int:
        gather = Gather(asyncio.get_running_loop(), lambda keys: keys)
        gone, kept = gather(1), gather(2)
        gone.cancel()
        return await kept

    assert run(main) == 2


# --- the incoming call's two statements --------------------------------------------------------


def test_every_caller_of_a_group_is_found_in_one_statement(line, people):
    with line.webhook_engine.connect() as conn:
        found = callers_by_phone(conn, [RILEY, STRANGER, JORDAN, RILEY], NOW)
    assert {phone: f.caller.name for phone, f in found.items()} == {
        RILEY: "Riley Tran",
        JORDAN: "Jordan Pike",
    }
    assert found[RILEY].caller.primary.name == "Dana Whitfield"
    assert found[JORDAN].caller.primary.name == "Marcus Oyelaran"


def record_calls(line, starts):
    with line.webhook_engine.connect() as conn:
        return _record_starts(conn, starts)


def test_call_records_of_a_group_are_one_insert_and_a_retry_keeps_the_first(line, db, people):
    starts = [
        CallStart("CA" + "1" * 32, "coaching", "ringing", NOW, people["riley"], people["dana"]),
        CallStart("CA" + "2" * 32, "unknown_caller", "crisis_resources", NOW),
        # Twilio retried the first webhook within the same moment
        CallStart("CA" + "1" * 32, "coaching", "bridged", NOW, people["riley"], people["dana"]),
    ]
    assert record_calls(line, starts) == [None, None, None]
    assert record_calls(line, starts[:1]) == [None]  # and again later
    rows = {c.call_sid: c for c in db.scalars(select(Call))}
    assert len(rows) == 2
    assert (rows["CA" + "1" * 32].outcome, rows["CA" + "1" * 32].therapist_id) == (
        "ringing",
        people["dana"],
    )
    assert rows["CA" + "2" * 32].client_id is None


def test_a_record_that_breaks_a_constraint_fails_alone(line, db, people):
    starts = [
        CallStart("CA" + "3" * 32, "coaching", "ringing", NOW, people["riley"]),
        CallStart("CA" + "4" * 32, "coaching", "ringing", NOW, 99_999),  # no such client
        CallStart("CA" + "5" * 32, "coaching", "ringing", NOW, people["jordan"]),
    ]
    results = record_calls(line, starts)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], IntegrityError)
    assert set(db.scalars(select(Call.call_sid))) == {"CA" + "3" * 32, "CA" + "5" * 32}


# --- through the webhook ---------------------------------------------------------------------


def _signed(path: str, params: dict[str, str]) -> dict[str, str]:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + path, params)
    return {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def post_together(app, path: str, many: list[dict[str, str]]) -> list[httpx.Response]:
    """Twilio's webhooks for `many` calls or texts, all in flight at once."""

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://line") as client:
            return await asyncio.gather(
                *(
                    client.post(path, content=urlencode(params), headers=_signed(path, params))
                    for params in many
                )
            )

    return run(main)


def incoming_call(n: int, caller: str) -> dict[str, str]:
    return {
        "CallSid": f"CA{n:032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": caller,
        "To": "+13145550100",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }


def incoming_text(n: int, sender: str, body: str) -> dict[str, str]:
    return {
        "MessageSid": f"SM{n:032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "+13145550100",
        "Body": body,
        "NumMedia": "0",
    }


@pytest.fixture
def groups(monkeypatch) -> list[list[str]]:
    """The numbers each caller lookup was asked for, one list per statement."""
    seen: list[list[str]] = []

    def counted(conn, phones, now):
        seen.append(list(phones))
        return callers_by_phone(conn, phones, now)

    monkeypatch.setattr(voice_routes, "callers_by_phone", counted)
    return seen


def test_calls_arriving_together_are_answered_as_each_would_be_alone(app, db, people, groups):
    callers = [RILEY, JORDAN, STRANGER, RILEY, JORDAN]
    answers = post_together(
        app, "/twilio/voice", [incoming_call(n, c) for n, c in enumerate(callers)]
    )
    assert [r.status_code for r in answers] == [200] * 5
    dana, marcus = "+13145550111", "+13145550112"
    # Each rings the caller's own therapist; the stranger hears the line is for clients.
    for answer, rung in zip(answers, [dana, marcus, None, dana, marcus], strict=True):
        if rung is None:
            assert "This line is for clients" in answer.text and "<Dial" not in answer.text
        else:
            assert f">{rung}</Number>" in answer.text
    assert groups == [sorted(set(callers))]  # one lookup for the five
    assert db.scalar(select(func.count()).select_from(Call)) == 5
    outcomes = dict(db.execute(select(Call.call_sid, Call.outcome)).all())
    assert outcomes[f"CA{2:032x}"] == "crisis_resources"
    assert sum(o == "ringing" for o in outcomes.values()) == 4
    assert db.scalar(select(func.count()).select_from(Client)) == 2


@pytest.fixture
def commits(line) -> list[int]:
    """One entry per transaction the line's main engine committed."""
    seen: list[int] = []
    listener = lambda _conn: seen.append(1)  # noqa: E731
    event.listen(line.engine, "commit", listener)
    yield seen
    event.remove(line.engine, "commit", listener)


def test_texts_arriving_together_are_saved_in_one_transaction(app, db, people, commits):
    texts = [(RILEY, "check-in"), (JORDAN, "win: I used opposite action"), (STRANGER, "hi")]
    answers = post_together(
        app, "/twilio/sms", [incoming_text(n, s, b) for n, (s, b) in enumerate(texts)]
    )
    assert [r.status_code for r in answers] == [200] * 3
    assert "How strong are your urges right now, 0-5?" in answers[0].text
    assert "Thank you for sharing your win" in answers[1].text
    assert "enrolled clients" in answers[2].text
    assert len(commits) == 1
    inbound = db.scalars(select(Message.body).where(Message.direction == "inbound")).all()
    assert sorted(inbound) == sorted(body for _, body in texts)


def test_a_senders_second_text_of_the_moment_sees_what_the_first_changed(app, db, people):
    """Riley's "check-in" and her rating arrive together: the rating answers the check-in
    the first text opened, as it would a moment later."""
    answers = post_together(
        app, "/twilio/sms", [incoming_text(1, RILEY, "check-in"), incoming_text(2, RILEY, "2")]
    )
    assert "How strong are your urges right now, 0-5?" in answers[0].text
    assert "0-5" not in answers[1].text  # not asked again: the rating was taken
    rated = db.scalars(select(CheckIn.urge_rating)).all()
    assert rated == [2]


def test_two_wins_for_one_therapist_of_the_moment_queue_one_digest(app, db, people):
    """Riley and Sam (both Dana's) text a win together: both wins are saved, and Dana gets
    one text that there are wins to read, as if they had come a minute apart."""
    db.add(Client(name="Sam Okafor", phone="+13145550144", therapist_id=people["dana"]))
    db.commit()
    answers = post_together(
        app,
        "/twilio/sms",
        [incoming_text(1, RILEY, "win: went to group"), incoming_text(2, SAM, "win: TIPP")],
    )
    assert all("Thank you for sharing your win" in a.text for a in answers)
    assert sorted(db.scalars(select(Success.body))) == ["TIPP", "went to group"]
    digests = db.scalars(select(Message).where(Message.kind == "success_digest")).all()
    assert [d.to_phone for d in digests] == ["+13145550111"]


def test_a_retried_text_among_new_ones_gets_its_first_reply_and_changes_nothing(app, db, people):
    [first] = post_together(app, "/twilio/sms", [incoming_text(1, RILEY, "check-in")])
    assert "0-5" in first.text
    retried, new = post_together(
        app,
        "/twilio/sms",
        [incoming_text(1, RILEY, "check-in"), incoming_text(2, JORDAN, "check-in")],
    )
    assert retried.text == first.text  # the same skill and question, word for word
    assert "0-5" in new.text
    assert db.scalar(select(func.count()).select_from(CheckIn)) == 2  # Riley's one, Jordan's
    inbound = db.scalars(select(Message.from_phone).where(Message.direction == "inbound"))
    assert sorted(inbound) == [RILEY, JORDAN]
    assert db.scalar(select(func.count()).where(Message.kind == "reply")) == 2


def test_a_text_that_fails_fails_alone(app, db, people, monkeypatch):
    import app.twilio.sms as sms_routes

    real = sms_routes.handle_sms

    def broken_for_jordan(state, body, now):
        if body == "boom":
            raise RuntimeError("a bug in the flow")
        return real(state, body, now)

    monkeypatch.setattr(sms_routes, "handle_sms", broken_for_jordan)
    answers = post_together(
        app,
        "/twilio/sms",
        [incoming_text(1, RILEY, "check-in"), incoming_text(2, JORDAN, "boom")],
    )
    assert "How strong are your urges right now, 0-5?" in answers[0].text
    assert "988" in answers[1].text  # the crisis resources, and nothing of it saved
    inbound = db.scalars(select(Message.body).where(Message.direction == "inbound")).all()
    assert inbound == ["check-in"]


def test_a_call_whose_record_fails_hears_the_crisis_resources_alone(app, db, people, monkeypatch):
    real = voice_routes._record_starts

    def jordans_fails(conn, starts):
        results = real(conn, [s for s in starts if s.client_id != people["jordan"]])
        failure = IntegrityError("INSERT", {}, Exception("client deleted"))
        by_sid = iter(results)
        return [failure if s.client_id == people["jordan"] else next(by_sid) for s in starts]

    monkeypatch.setattr(voice_routes, "_record_starts", jordans_fails)
    riley, jordan = post_together(
        app, "/twilio/voice", [incoming_call(1, RILEY), incoming_call(2, JORDAN)]
    )
    assert ">+13145550111</Number>" in riley.text
    assert "<Dial" not in jordan.text and "9 8 8" in jordan.text
    assert db.scalars(select(Call.call_sid)).all() == [f"CA{1:032x}"]
