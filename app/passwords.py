"""The rules a dashboard password must meet, told plainly when it does not.

Length alone let `aaaaaaaaaa` and `1234567890` through. A password is now also judged by
zxcvbn (Dropbox's strength estimator, kept as the `zxcvbn` package): it knows the common
passwords, words, names, keyboard runs, repeats and dates, and must rate the password 3 of 4
("safely unguessable" against an online attacker) or better. A password holding the user's
email, or its part before the @, is refused outright: it is the first thing tried.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

from app.domain import Invalid

PASSWORD_MIN = 10
PASSWORD_MAX = 200
MIN_SCORE = 3
# zxcvbn's time grows with the length; what follows the first 100 characters only adds strength.
_JUDGED = 100


def check_password_rules(password: str, email: str) -> None:
    """Raise `Invalid` naming what is wrong with the password, if anything."""
    if len(password) < PASSWORD_MIN:
        raise Invalid(f"a password needs at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise Invalid(f"a password has at most {PASSWORD_MAX} characters")
    email = email.strip().lower()
    local = email.split("@", 1)[0]
    lowered = password.lower()
    if email and email in lowered or len(local) >= 3 and local in lowered:
        raise Invalid("the password must not contain your email or the part before the @")
    result = zxcvbn(password[:_JUDGED], user_inputs=[email, local])
    if result["score"] < MIN_SCORE:
        raise Invalid(_too_easy(result["feedback"]))


def _too_easy(feedback: dict[str, object]) -> str:
    """zxcvbn's own words on why, e.g. 'This is a top-100 common password.'"""
    said = ["that password is too easy to guess"]
    warning = feedback.get("warning")
    if isinstance(warning, str) and warning:
        said.append(warning.rstrip("."))
    suggestions = feedback.get("suggestions")
    if isinstance(suggestions, list) and suggestions:
        said.append(str(suggestions[0]).rstrip("."))
    else:
        said.append("A few uncommon words together are easy to remember and hard to guess")
    return ": ".join(said[:2]) + (". " + ". ".join(said[2:]) if len(said) > 2 else "")
