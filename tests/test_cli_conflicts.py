"""A unique column's refusal, as the command line says it: in words, on both databases,
without the statement or its values."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from app.cli_support import conflict_in_words
from app.models import Client, User


def refusal(db, row) -> IntegrityError:
    db.add(row)
    with pytest.raises(IntegrityError) as caught:
        db.commit()
    db.rollback()
    return caught.value


def test_a_phone_already_on_the_line(db, people):
    words = conflict_in_words(
        refusal(db, Client(name="Avery Copy", phone="+13145550142", therapist_id=people["dana"]))
    )
    assert words == "that phone number is already on the line (a client's or a therapist's)"
    assert "314" not in words and "Avery" not in words


def test_an_email_that_has_a_login(db):
    db.add(User(email="dana@example.org", role="therapist"))
    db.commit()
    words = conflict_in_words(refusal(db, User(email="dana@example.org", role="therapist")))
    assert words == "that email already has a login"
