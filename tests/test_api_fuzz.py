"""Schemathesis against the admin API's OpenAPI schema: whatever is sent, never a 500.

Every /api operation is called with generated requests, valid and invalid, as the admin and as a
therapist, against a practice with a few people in it, on both databases. Each answer must be
below 500, documented for the operation, and shaped as the schema says.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from app.api import router
from tests.helpers import user_headers


class AppUnderTest:
    """What schemathesis calls: the app of the test running (its own database), set by `api`.

    The schema is loaded at import, so that each operation is a test of its own (with
    schemathesis 4.32, `schemathesis.pytest.from_fixture` does not run under pytest 9.2), and
    schemathesis sends some requests of its own (the same one without the token) straight to
    the schema's app. Served without its lifespan (start-up checks, the worker): none needed.
    """

    app: FastAPI | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)


# Text that databases, drivers and encoders stumble on, mixed into generated strings (NUL:
# PostgreSQL refuses it in text). Half a surrogate pair cannot go here (schemathesis's validator
# cannot take it); test_api_therapists.py and test_api_lockouts.py send it.
ODD_TEXT = ["\x00", "Dana\x00", "\u202eRiley", "\ufeff", "\U0001f600", " \t\n"]
# Every free-text field the API reads (the others are ids, flags, dates and times).
TEXT_FIELDS = ("body.name", "body.phone", "body.note", "body.reason", "query.entity")


def load_schema(**config):
    """The API's part of the OpenAPI document create_app serves at /openapi.json (the same on
    every database, so it is read without one), calling `app_under_test`."""
    api_only = FastAPI()
    api_only.include_router(router)
    loaded = schemathesis.openapi.from_dict(
        api_only.openapi(),
        config=schemathesis.Config.from_dict(
            {
                "seed": 20261127,
                "base-url": "http://testserver",
                "dictionaries": {"odd-text": {"values": ODD_TEXT}},
                "generation": {
                    # Each test sends its caller's token; generated ones would only be refused.
                    "with-security-parameters": False,
                },
                "parameters": {
                    field: {"dictionary": "odd-text", "probability": 0.25} for field in TEXT_FIELDS
                },
                **config,
            }
        ),
    )
    loaded.app = app_under_test
    return loaded


app_under_test = AppUnderTest()
schema = load_schema()
# A therapist is refused most of the API (403, or 404 for another's client): no need for the
# coverage phase's every edge case again, a few examples each.
therapist_schema = load_schema(phases={"coverage": {"enabled": False}})

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
    ignored_auth,
]

# Not run: positive_data_acceptance (a request the schema allows may still be refused by the
# records, e.g. an unknown therapist or a number already taken: a 409 or 422 is right), and
# allow_header_conformance (Starlette's 405 lists the methods of one route, not of the path).


def fuzz(max_examples: int):
    """Few examples per operation (the coverage phase adds its own edge cases): the whole file
    runs in about two and a half minutes on two cores, on both databases."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        # One app and database per operation, shared by its examples, on purpose.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.fixture
def api(app) -> Iterator[None]:
    app_under_test.app = app
    yield
    app_under_test.app = None


@pytest.fixture
def as_dana(db, people):
    return user_headers(db, "dana@example.org", therapist_id=people["dana"])


@schema.parametrize()
@fuzz(max_examples=20)
def test_admin_api(case, api, admin, people):
    case.call_and_validate(headers=admin, checks=CHECKS)


@therapist_schema.parametrize()
@fuzz(max_examples=8)
def test_therapist_api(case, api, as_dana):
    case.call_and_validate(headers=as_dana, checks=CHECKS)
