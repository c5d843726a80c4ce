"""Errors as log lines: the exception's type and where it was raised, never its message,
which can carry a phone number or a name (a database error quotes the row it refused)."""

from __future__ import annotations

import traceback


def describe(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/app/" in f.filename or "/ivr/" in f.filename]
    where = ours[-1] if ours else (frames[-1] if frames else None)
    place = f" at {where.filename.rsplit('/', 2)[-2]}/{where.name}:{where.lineno}" if where else ""
    return f"{type(exc).__name__}{place}"
