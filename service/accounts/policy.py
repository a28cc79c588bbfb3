"""What a password must be: long enough, not a common one, not the username, not easy to guess.

Every password a person chooses or an admin types goes through :func:`password_problems` (accounts
made on the web, the API and the CLI, resets, one's own change); generated ones pass it by
construction. The reasons are named in the user's language, one message per broken rule:

* at least :data:`MIN_LENGTH` characters (and at most :data:`MAX_LENGTH`, what the login form takes);
* not among the common passwords: the 30 000 most common passwords of the public leaks that
  **zxcvbn** ships (``zxcvbn.frequency_lists``, Dropbox's estimator, PyPI ``zxcvbn``), plus the
  short list kept here of passwords common in China (pinyin, 520/1314 and the like, see
  ``common_passwords_zh.txt``), compared case-insensitively;
* not containing the username;
* not easy to guess by zxcvbn's estimate (score below :data:`MIN_SCORE`: repeats, sequences, keyboard
  rows, dates, common words with digits appended, the user's own name).
"""

from __future__ import annotations

import functools
from importlib import resources

from flask_babel import gettext as _

MIN_LENGTH = 10
MAX_LENGTH = 256
# zxcvbn scores 0-4; 3 is "safely unguessable" (about 10^10 guesses): the bar for a login that reads
# every school's data, with argon2 slowing each guess down on top.
MIN_SCORE = 3
# zxcvbn's cost grows with the length; past this it has nothing left to find that matters.
_SCORED_PREFIX = 64
_PRODUCT_WORDS = ("houqin", "后勤", "jiaoyuju", "教育局")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The refused list, lower-case: zxcvbn's leaked-password list and the kept Chinese supplement."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    kept = resources.files("service.accounts").joinpath("common_passwords_zh.txt").read_text("utf-8")
    extra = (line.strip().lower() for line in kept.splitlines())
    return frozenset(FREQUENCY_LISTS["passwords"]) | {w for w in extra if w and not w.startswith("#")}


def password_problems(password: str, *, username: str = "", display_name: str = "") -> list[str]:
    """Every rule ``password`` breaks, as messages for the ``password`` field; empty when it is fine."""
    if len(password) < MIN_LENGTH:
        return [_("At least %(n)d characters.", n=MIN_LENGTH)]
    if len(password) > MAX_LENGTH:
        return [_("At most %(n)d characters.", n=MAX_LENGTH)]
    lowered = password.lower()
    if lowered in common_passwords() or lowered.strip("0123456789!@#.*_-") in common_passwords():
        return [
            _(
                "This is one of the most common passwords (digits or symbols added at its end do not help); choose another."
            )
        ]
    name = username.strip().lower()
    if len(name) >= 3 and name in lowered:
        return [_("The password must not contain the username.")]
    if _score(password, (username, display_name, *_PRODUCT_WORDS)) < MIN_SCORE:
        return [
            _(
                "This password is too easy to guess (repeated or sequential characters, keyboard "
                "rows, dates, names or a common word with digits). Join a few unrelated words, "
                "or make it longer."
            )
        ]
    return []


def _score(password: str, user_inputs: tuple[str, ...]) -> int:
    from zxcvbn import zxcvbn

    inputs = [w for w in user_inputs if w]
    return int(zxcvbn(password[:_SCORED_PREFIX], user_inputs=inputs)["score"])
