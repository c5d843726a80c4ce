"""A demo practice, so a newcomer sees the whole line from `make run`.

With no Twilio credentials and an empty database (no therapists, no users), `coachline serve`
creates two therapists, three clients (one of them locked out under the 24-hour rule), an
on-call rotation, weekly coaching hours, a missed call waiting for a call-back, a success
report and a check-in, plus an admin login with a generated password, and prints the login.
Everyone is invented; every number is a 555-01XX number. Otherwise it does nothing.
"""

from __future__ import annotations

import secrets
from datetime import time, timedelta
from pathlib import Path

from sqlalchemy import func, select

from app import clients, lockouts, schedule, therapists, users
from app.db import transaction
from app.line import Line
from app.models import AttentionItem, Call, CheckIn, Message, Success, Therapist, User
from app.users import set_password
from ivr.codes import AttentionKind

ACTOR = "demo-setup"
ADMIN_EMAIL = "admin@demo.example.org"

THERAPISTS = (("Dana Whitfield", "(314) 555-0111"), ("Marcus Oyelaran", "(314) 555-0112"))
# (name, phone, therapist index)
CLIENTS = (
    ("Riley Tran", "(314) 555-0142", 0),
    ("Jordan Pike", "(314) 555-0143", 1),
    ("Sam Okafor", "(314) 555-0144", 0),
)


def _no_database_file(line: Line) -> bool:
    """A SQLite file that does not exist yet (never migrated): nothing to seed, and merely
    looking would create an empty file."""
    url = line.engine.url
    name = url.database
    return (
        url.get_backend_name() == "sqlite"
        and name not in (None, "", ":memory:")
        and not name.startswith("file:")
        and not Path(name).exists()
    )


def should_seed(line: Line) -> bool:
    if line.settings.twilio_configured or _no_database_file(line):
        return False
    with line.sessions() as session:
        therapist_count = session.scalar(select(func.count()).select_from(Therapist)) or 0
        user_count = session.scalar(select(func.count()).select_from(User)) or 0
    return therapist_count == 0 and user_count == 0


def seed_demo(line: Line) -> tuple[str, str] | None:
    """Create the demo practice and return the admin's (email, password); None when the line
    has Twilio credentials or the database already has therapists or users."""
    if not should_seed(line):
        return None
    now = line.now()
    tz = line.settings.tz
    password = secrets.token_urlsafe(12)
    with transaction(line.sessions) as session:
        # Checked again inside the transaction: two processes starting at once seed once.
        if session.scalar(select(func.count()).select_from(User)):
            return None
        dana, marcus = (
            therapists.create_therapist(session, ACTOR, now, name=name, phone=phone)
            for name, phone in THERAPISTS
        )
        staff = (dana, marcus)
        enrolled = [
            clients.create_client(
                session, ACTOR, now, name=name, phone=phone, therapist_id=staff[index].id
            )
            for name, phone, index in CLIENTS
        ]
        riley, jordan, sam = enrolled
        # Weekday coaching hours; Marcus also takes an evening that runs past midnight.
        therapists.set_hours(
            session,
            ACTOR,
            now,
            dana.id,
            [therapists.HoursWindow(day, time(9), time(17)) for day in range(5)],
        )
        therapists.set_hours(
            session,
            ACTOR,
            now,
            marcus.id,
            [therapists.HoursWindow(day, time(12), time(20)) for day in range(4)]
            + [therapists.HoursWindow(4, time(18), time(1))],
        )
        # A weekly rotation handing off on Mondays at 9:00, this week's Monday first.
        today = now.astimezone(tz).date()
        schedule.create_rotation(
            session,
            ACTOR,
            now,
            name="Weekly on call",
            starts_on=today - timedelta(days=today.weekday()),
            handoff_time=time(9),
            turn_days=7,
            therapist_ids=[dana.id, marcus.id],
        )
        # Sam is locked out: a self-harm event three hours ago.
        lockouts.record_lockout(
            session,
            ACTOR,
            now,
            sam.id,
            occurred_at=now - timedelta(hours=3),
            note="Demo: recorded after a session.",
        )
        # Jordan's call 40 minutes ago went unanswered and heard the wait-time script.
        missed = Call(
            call_sid="CA" + secrets.token_hex(16),
            client_id=jordan.id,
            route="coaching",
            outcome="wait_script",
            started_at=now - timedelta(minutes=40),
            ended_at=now - timedelta(minutes=38),
            duration_seconds=95,
            twilio_status="completed",
        )
        session.add(missed)
        session.flush()
        # ...and so it waits on Marcus's (Jordan's therapist's) attention list.
        session.add(
            AttentionItem(
                kind=AttentionKind.MISSED_CALL,
                client_id=jordan.id,
                therapist_id=jordan.therapist_id,
                alerted_id=jordan.therapist_id,
                call_id=missed.id,
                created_at=missed.started_at,
                escalations=0,
            )
        )
        session.add(
            Success(
                client_id=riley.id,
                body="Used TIPP before the argument got big, and it worked.",
                received_at=now - timedelta(hours=5),
            )
        )
        session.add(
            Message(
                direction="inbound",
                kind="inbound",
                client_id=riley.id,
                from_phone=riley.phone,
                body="check-in",
                status="replied",
                created_at=now - timedelta(hours=6),
            )
        )
        session.add(
            CheckIn(
                client_id=riley.id,
                asked_at=now - timedelta(hours=6),
                expires_at=now - timedelta(hours=5),
                urge_rating=2,
                answered_at=now - timedelta(hours=6) + timedelta(minutes=2),
            )
        )
        users.create_user(session, ACTOR, now, email=ADMIN_EMAIL, role="admin")
        set_password(session, ACTOR, now, ADMIN_EMAIL, password)
    return ADMIN_EMAIL, password
