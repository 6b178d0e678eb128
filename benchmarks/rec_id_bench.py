"""The cost of signing each answer's rec_id, beside the unsigned id it replaced, in one run.

    .venv/bin/python benchmarks/rec_id_bench.py

Both are timed in the same process, in alternating rounds: the unsigned id (``<code>.<random>``) and
``attribution.tag`` (expiry, nonce, HMAC-SHA256), each with the impression counter ``tag`` increments.
"""

import secrets
import statistics
import time

import common  # noqa: F401 - the repository on sys.path
from flask import Flask

from recsvc.http.attribution import SECRET_EXTENSION, tag
from recsvc.http.metrics import ANSWERS

CALLS = 20_000
ROUNDS = 7


def unsigned(answer: dict, endpoint: str) -> dict:
    """The rec_id as it was before it was signed."""
    answer["rec_id"] = f"u.{secrets.token_urlsafe(9)}"
    ANSWERS.labels(endpoint, answer.get("source", "")).inc()
    return answer


def per_call_us(fn) -> float:
    answer = {"user_id": "user-00794", "source": "personalized"}
    started = time.perf_counter()
    for _ in range(CALLS):
        fn(answer, "user_recommendations")
    return (time.perf_counter() - started) / CALLS * 1e6


def main() -> None:
    app = Flask(__name__)
    app.extensions[SECRET_EXTENSION] = secrets.token_bytes(32)  # as read once per process from Redis
    with app.app_context():
        old, new = [], []
        for _ in range(ROUNDS):
            old.append(per_call_us(unsigned))
            new.append(per_call_us(tag))
    o, n = statistics.median(old), statistics.median(new)
    print(
        f"unsigned rec_id: {o:.2f} us a call; signed rec_id: {n:.2f} us a call; ratio {n / o:.2f}x "
        f"(+{n - o:.2f} us an answer; medians of {ROUNDS} rounds of {CALLS:,})"
    )
    print(common.machine())


if __name__ == "__main__":
    main()
