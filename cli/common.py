"""What every command shares: the one way to fail."""

import sys


def fail(message: str, prefix: bool = True) -> int:
    """Print a one-line reason to stderr; the exit code of a failed command (2)."""
    print(f"recsvc: error: {message}" if prefix else message, file=sys.stderr)
    return 2
