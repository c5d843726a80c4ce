"""The background worker (escalations, then text delivery): a thread inside the service by
default, or its own process with `coachline worker`."""

from __future__ import annotations

import logging
import threading

from app.diary import prompt_pass
from app.errors import describe
from app.escalation import escalate_due
from app.line import Line
from app.notify import deliver_due
from app.retention import purge_if_due

log = logging.getLogger("coachline.worker")


def run_once(line: Line) -> dict[str, int]:
    """One pass: escalate attention items nobody acknowledged, then deliver what is due. A
    database that is down is logged and tried again next pass."""
    try:
        escalate_due(line)
    except Exception as exc:
        log.error("escalation pass failed: %s", describe(exc))
    prompt_pass(line)  # the diary card's daily prompts (logs its own failure)
    try:
        purge_if_due(line)
    except Exception as exc:
        log.error("retention pass failed: %s", describe(exc))
    try:
        return deliver_due(line)
    except Exception as exc:
        log.error("notification pass failed: %s", describe(exc))
        return {}


class NotificationWorker:
    def __init__(self, line: Line) -> None:
        self.line = line
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="notifications", daemon=True)

    def run(self) -> None:
        while not self._stop.is_set():
            done = run_once(self.line)
            # Keep going without a pause while there is a backlog.
            if not done:
                self._stop.wait(self.line.settings.worker_poll_seconds)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
