"""Rules for user names (they travel in HTTP headers, so plain ASCII only)."""

from __future__ import annotations

import re

USER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_USER_NAME = re.compile(USER_NAME_PATTERN)


def valid_user_name(name: str) -> bool:
    return bool(_USER_NAME.match(name))
