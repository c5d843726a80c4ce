"""What each person may see (issue 22, item 7): another therapist's phone number and override
reasons are an admin's to read; /metrics needs its bearer token; HSTS on an https line.

Dana and Marcus are therapists; Marcus has an override whose reason is private ("surgery").
"""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.models import OnCallOverride, Rotation, RotationMember
from tests.conftest import NOW
from tests.helpers import user_headers
from tests.test_web_support import DANA, MARCUS, texts_of

pytest_plugins = ["tests.test_web_support"]

METRICS_TOKEN = "metrics-token-0123456789abcdef"
HSTS = "max-age=31536000; includeSubDomains"


def the_forms_of(number: str) -> list[str]:
    """A +1 314 555 01XX number as a page or an answer might write it."""
    local = number[-10:]
    return [
        number,
        local,
        f"{local[:3]}-{local[3:6]}-{local[6:]}",
        f"({local[:3]}) {local[3:6]}-{local[6:]}",
        f"{local[3:6]}-{local[6:]}",
    ]


@pytest.fixture
def dana_token(db, people) -> dict[str, str]:
    return user_headers(db, "dana.api@example.org", therapist_id=people["dana"])


@pytest.fixture
def overrides(db, people) -> dict[str, int]:
    """Marcus is off for surgery (Dana covers); Dana's own override has her own reason."""
    marcus = OnCallOverride(
        therapist_id=people["dana"],
        starts_at=NOW + timedelta(hours=1),
        ends_at=NOW + timedelta(days=2),
        reason="covering Marcus: his surgery",
    )
    own = OnCallOverride(
        therapist_id=people["marcus"],
        starts_at=NOW + timedelta(days=3),
        ends_at=NOW + timedelta(days=4),
        reason="Marcus's surgery follow-up",
    )
    db.add_all([marcus, own])
    db.commit()
    return {"for_dana": marcus.id, "for_marcus": own.id}


# ---- phone numbers in the API -------------------------------------------------------------


def test_a_therapist_reads_only_their_own_phone_number(http, dana_token, admin, people):
    listed = http.get("/api/therapists", headers=dana_token).json()["items"]
    phones = {t["id"]: t["phone"] for t in listed}
    assert phones == {people["dana"]: DANA, people["marcus"]: None}
    one = http.get(f"/api/therapists/{people['marcus']}", headers=dana_token)
    assert one.status_code == 200 and one.json()["phone"] is None
    assert http.get(f"/api/therapists/{people['dana']}", headers=dana_token).json()["phone"] == DANA
    for path in ("/api/therapists", f"/api/therapists/{people['marcus']}"):
        text = http.get(path, headers=dana_token).text
        assert not any(form in text for form in the_forms_of(MARCUS)), path

    # The admin sees everyone's.
    listed = http.get("/api/therapists", headers=admin).json()["items"]
    assert {t["id"]: t["phone"] for t in listed} == {people["dana"]: DANA, people["marcus"]: MARCUS}
    assert http.get(f"/api/therapists/{people['marcus']}", headers=admin).json()["phone"] == MARCUS


def test_setting_away_answers_with_the_therapists_own_number(http, dana_token, admin, people):
    until = (NOW + timedelta(hours=3)).isoformat()
    own = http.post(
        f"/api/therapists/{people['dana']}/away", json={"until": until}, headers=dana_token
    )
    assert own.status_code == 200 and own.json()["phone"] == DANA
    theirs = http.post(
        f"/api/therapists/{people['marcus']}/away", json={"until": until}, headers=admin
    )
    assert theirs.json()["phone"] == MARCUS


def test_no_on_call_answer_carries_a_phone_number(http, dana_token, overrides):
    for path in (
        "/api/on-call",
        f"/api/on-call?at={(NOW + timedelta(hours=2)).isoformat().replace('+', '%2B')}",
        "/api/on-call/gaps",
        "/api/on-call-overrides",
        "/api/on-call-shifts",
        "/api/rotations",
    ):
        response = http.get(path, headers=dana_token)
        assert response.status_code == 200, path
        for number in (DANA, MARCUS):
            assert not any(form in response.text for form in the_forms_of(number)), path


# ---- override reasons ---------------------------------------------------------------------


def test_a_therapist_reads_only_their_own_overrides_reasons(http, dana_token, admin, overrides):
    items = http.get("/api/on-call-overrides", headers=dana_token).json()["items"]
    reasons = {o["id"]: o["reason"] for o in items}
    assert reasons == {
        overrides["for_dana"]: "covering Marcus: his surgery",  # her own
        overrides["for_marcus"]: None,
    }
    items = http.get("/api/on-call-overrides", headers=admin).json()["items"]
    assert {o["id"]: o["reason"] for o in items} == {
        overrides["for_dana"]: "covering Marcus: his surgery",
        overrides["for_marcus"]: "Marcus's surgery follow-up",
    }


def test_the_schedule_page_shows_reasons_to_the_admin_and_each_their_own(
    web, staff, overrides, people
):
    from tests.test_web_support import ADMIN_EMAIL, DANA_EMAIL, sign_in

    assert sign_in(web, DANA_EMAIL).status_code == 303
    page = texts_of(web.get("/schedule").text)
    assert "covering Marcus: his surgery" in page  # her own override
    assert "follow-up" not in page
    for path in ("/schedule", "/"):
        html = web.get(path).text
        for number in (DANA, MARCUS):
            assert not any(form in html for form in the_forms_of(number)), path

    web.cookies.clear()
    assert sign_in(web, ADMIN_EMAIL).status_code == 303
    page = texts_of(web.get("/schedule").text)
    assert "covering Marcus: his surgery" in page and "Marcus's surgery follow-up" in page


def test_a_rotation_feed_shared_with_a_therapist_has_no_numbers_or_reasons(
    http, db, dana_token, people, overrides
):
    rotation = Rotation(
        name="Weekly", starts_on=(NOW - timedelta(days=1)).date(), handoff_time=time(9)
    )
    rotation.members = [
        RotationMember(therapist_id=people["dana"], position=0),
        RotationMember(therapist_id=people["marcus"], position=1),
    ]
    db.add(rotation)
    db.commit()
    [listed] = http.get("/api/rotations", headers=dana_token).json()["items"]
    feed = http.get(listed["calendar_url"].removeprefix("https://line.example.org")).text
    assert "On call: Marcus" in feed
    assert "surgery" not in feed
    for number in (DANA, MARCUS):
        assert not any(form in feed.replace("\r\n ", "") for form in the_forms_of(number))


# ---- /metrics -----------------------------------------------------------------------------


def test_metrics_are_off_without_a_token(http):
    assert http.get("/metrics").status_code == 404
    assert http.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


@pytest.fixture
def with_metrics(settings):
    with TestClient(create_app(settings.model_copy(update={"metrics_token": METRICS_TOKEN}))) as c:
        yield c


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer metrics-token-0123456789abcdeF",  # one character off
        "Bearer metrics-token-0123456789abcde",  # a prefix
        f"Basic {METRICS_TOKEN}",
        METRICS_TOKEN,
    ],
)
def test_metrics_refuse_a_missing_or_wrong_token(with_metrics, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = with_metrics.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "coachline_" not in response.text


def test_metrics_answer_the_right_token(with_metrics):
    response = with_metrics.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    assert "coachline_database_up 1.0" in response.text
    lower = with_metrics.get("/metrics", headers={"Authorization": f"bearer {METRICS_TOKEN}"})
    assert lower.status_code == 200  # the scheme is case-insensitive (RFC 9110)


@pytest.mark.parametrize("token", ["short", "sixteen chars ok", "x" * 15])
def test_a_weak_metrics_token_is_refused_at_start(token):
    from pydantic import ValidationError

    from app.settings import Settings

    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, metrics_token=token)
    assert token not in str(refused.value)  # settings errors never echo their input


# ---- HSTS ---------------------------------------------------------------------------------


def test_an_https_line_sends_hsts_on_every_answer(http, admin):
    answers = [
        http.get("/healthz"),
        http.get("/api/therapists", headers=admin),
        http.get("/api/therapists"),  # 401
        http.get("/no-such-page"),  # 404
        http.get("/login"),
        http.post("/twilio/voice", data={"From": "+13145550142"}),  # 403: unsigned
        http.post("/twilio/voice", content=b"x" * 40_000),  # 413
    ]
    for response in answers:
        assert response.headers.get("strict-transport-security") == HSTS, response.request.url
    assert [r.status_code for r in answers[2:4]] == [401, 404]
    assert answers[-1].status_code == 413


def test_a_plain_http_line_sends_no_hsts(settings):
    plain = settings.model_copy(update={"public_base_url": "http://127.0.0.1:8000"})
    with TestClient(create_app(plain)) as client:
        for path in ("/healthz", "/login", "/no-such-page"):
            assert "strict-transport-security" not in client.get(path).headers
