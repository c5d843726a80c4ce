"""Turning the diary card on for a client, and their prompt time: on the API and on the
dashboard's client form, audited."""

from __future__ import annotations

from datetime import time

import pytest

from app.models import Client
from tests.helpers import audit_log, fresh
from tests.test_web_support import csrf_of, post_form, texts_of

pytest_plugins = ["tests.test_web_support"]


def test_the_api_turns_the_card_on_with_a_prompt_time_and_off_again(http, admin, db, people):
    riley = people["riley"]
    before = http.get(f"/api/clients/{riley}", headers=admin).json()
    assert (before["diary_opt_in"], before["diary_prompt_time"]) == (False, None)
    on = http.patch(
        f"/api/clients/{riley}",
        headers=admin,
        json={"diary_opt_in": True, "diary_prompt_time": "20:30"},
    )
    assert on.status_code == 200, on.text
    assert (on.json()["diary_opt_in"], on.json()["diary_prompt_time"]) == (True, "20:30")
    row = fresh(db, Client, riley)
    assert (row.diary_opt_in, row.diary_prompt_time) == (True, time(20, 30))
    [entry] = [e for e in audit_log(db, "client", riley) if "diary_opt_in" in (e.changes or {})]
    assert entry.changes == {
        "diary_opt_in": {"from": False, "to": True},
        "diary_prompt_time": {"from": None, "to": "20:30"},
    }
    # null: no daily prompt (the client can still text DIARY); the card stays on.
    off = http.patch(f"/api/clients/{riley}", headers=admin, json={"diary_prompt_time": None})
    assert off.status_code == 200 and off.json()["diary_prompt_time"] is None
    assert off.json()["diary_opt_in"] is True
    # Other fields still refuse null.
    refused = http.patch(f"/api/clients/{riley}", headers=admin, json={"diary_opt_in": None})
    assert refused.status_code == 422 and "diary_opt_in" in refused.text


def test_a_client_can_be_enrolled_with_the_card_on(http, admin, db, people):
    made = http.post(
        "/api/clients",
        headers=admin,
        json={
            "name": "Avery Lindqvist",
            "phone": "(314) 555-0150",
            "therapist_id": people["dana"],
            "diary_opt_in": True,
            "diary_prompt_time": "07:05",
        },
    )
    assert made.status_code == 201, made.text
    assert (made.json()["diary_opt_in"], made.json()["diary_prompt_time"]) == (True, "07:05")


@pytest.mark.parametrize("bad", ["7pm", "24:00", "20:30:00", 2030, "", "20:3"])
def test_a_prompt_time_that_is_not_hh_mm_is_422_in_words(http, admin, db, people, bad):
    answer = http.patch(
        f"/api/clients/{people['riley']}", headers=admin, json={"diary_prompt_time": bad}
    )
    assert answer.status_code == 422
    assert "HH:MM" in answer.text
    assert fresh(db, Client, people["riley"]).diary_prompt_time is None


def test_the_dashboard_form_turns_the_card_on_and_sets_the_time(as_admin, db, people):
    riley = people["riley"]
    path = f"/clients/{riley}/edit"
    form = as_admin.get(path)
    assert "Diary card by text" in texts_of(form.text) and 'name="diary_prompt_time"' in form.text
    fields = {
        "name": "Riley Tran",
        "phone": "(314) 555-0142",
        "therapist_id": str(people["dana"]),
        "lockout_rule_applies": "on",
        "diary_opt_in": "on",
        "diary_prompt_time": "21:15",
    }
    saved = post_form(as_admin, path, path, fields)
    assert saved.status_code == 200 and "Saved." in saved.text
    row = fresh(db, Client, riley)
    assert (row.diary_opt_in, row.diary_prompt_time) == (True, time(21, 15))
    again = as_admin.get(path)
    assert 'id="diary_opt_in" name="diary_opt_in" type="checkbox" checked' in again.text
    assert 'value="21:15"' in again.text
    # A time that is not one is explained, and nothing changes.
    bad = post_form(as_admin, path, path, {**fields, "diary_prompt_time": "noon"})
    assert bad.status_code == 422
    assert "The diary prompt time must be a time of day, like 20:30." in texts_of(bad.text)
    # Unticked and emptied: off, no prompt.
    off = as_admin.post(
        path,
        data={
            **fields,
            "diary_opt_in": "",
            "diary_prompt_time": "",
            "csrf_token": csrf_of(again.text),
        },
    )
    assert off.status_code == 200
    row = fresh(db, Client, riley)
    assert (row.diary_opt_in, row.diary_prompt_time) == (False, None)
