"""What an id (user, item, category) may look like: the one rule, shared by the service and the trainer.

An id is a string of 1 to ``MAX_ID_LENGTH`` characters (Unicode code points, not bytes: at most
512 bytes of UTF-8), every one printable in the sense of ``str.isprintable``: letters, digits,
marks, punctuation and symbols of any script (Cyrillic, CJK, ``/``, ``,`` ...) and the plain space,
but no control, format, private-use, unassigned or surrogate characters and no other whitespace
(tabs, newlines, no-break or zero-width spaces). It neither starts nor ends with a space, so it is
never blank. Ids are compared exactly: no case folding, no Unicode normalization.
"""

import re

MAX_ID_LENGTH = 128
"""The most characters (code points) an id may have."""

ID_RULE = f"1 to {MAX_ID_LENGTH} printable characters, not starting or ending with a space"
"""The rule in words, for error messages."""

ASCII_ID_REGEX = f"^[!-~](?:[ -~]{{0,{MAX_ID_LENGTH - 2}}}[!-~])?$"
"""The ids made only of ASCII characters, as a regular expression that Python's ``re`` and RE2
(``pyarrow.compute.match_substring_regex``) read alike. Every id it matches is valid; an id it does
not match may still be valid (non-ASCII ones): check those with ``is_valid_id``."""

_ASCII_ID = re.compile(ASCII_ID_REGEX)


def is_valid_id(value: str) -> bool:
    """True when value may be used as an id."""
    if value.isascii():
        return _ASCII_ID.fullmatch(value) is not None
    return 0 < len(value) <= MAX_ID_LENGTH and value.isprintable() and value[0] != " " and value[-1] != " "
