"""The missed-call queries use the partial index made for them (ix_calls_unreturned).

Its rows are only the missed calls nobody has returned, so the incoming call's INSERT never
writes to it; a query finds it only when it says the index's own predicate
(`app.models.UNRETURNED_MISSED`), literals and all. Each query here is the line's own,
captured as it runs, and explained on the database it ran on.
"""

from __future__ import annotations

from sqlalchemy import event

from app.twilio.therapist_menu import missed_calls_for
from tests.conftest import NOW


def plan_of(line, run) -> str:
    """The plan of the missed-call query that `run` sends, as the database explains it."""
    sent = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "returned_at IS NULL" in statement:
            sent.append((statement, parameters))

    event.listen(line.engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(line.engine, "before_cursor_execute", capture)
    assert len(sent) == 1
    statement, parameters = sent[0]
    with line.engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        if conn.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        # The tables of a test hold a handful of rows: any plan would do, so ask for one
        # that reads an index where one serves (for this transaction only: the pooled
        # connection goes back as it was).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement, parameters)
        return "\n".join(str(row[0]) for row in cursor.fetchall())


def test_the_therapists_phone_menu_finds_them_by_the_partial_index(line, db, people):
    plan = plan_of(line, lambda: missed_calls_for(db, people["dana"], NOW))
    assert "ix_calls_unreturned" in plan
