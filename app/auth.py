"""Moved to `app.users`; kept only while `app.records` still imports `issue_token` from here."""

from app.users import hash_token, issue_token, user_for_token

__all__ = ["hash_token", "issue_token", "user_for_token"]
