"""What an id (user, item, category) may look like: checked before it reaches a Redis key."""

import re

MAX_ID_LENGTH = 128
ID_CHARACTERS = "A-Za-z0-9_.:@+=~-"
ID_PATTERN = re.compile(f"[{ID_CHARACTERS}]{{1,{MAX_ID_LENGTH}}}")
"""Letters, digits and ``_ . : @ + = ~ -``, 1 to 128 of them. The trainer rejects other ids too."""


def is_valid_id(value: str) -> bool:
    """True when value may be used as an id."""
    return ID_PATTERN.fullmatch(value) is not None
