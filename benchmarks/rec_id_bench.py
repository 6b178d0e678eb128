"""The cost of signing each answer's rec_id, beside the ids it replaced, in one run.

    .venv/bin/python benchmarks/rec_id_bench.py

Three are timed in the same process, in alternating rounds, each with the impression counter ``tag``
increments: the unsigned id (``<code>.<random>``), the signed id without the shown digest (expiry, nonce,
HMAC-SHA256), and ``attribution.tag`` as it is (its nonce also ends with the digest of the answer's ten item ids,
which lets ``/v1/track`` take clicks only on shown items).
"""

import secrets
import statistics
import time

import common  # noqa: F401 - the repository on sys.path
from flask import Flask

from recsvc.http.attribution import CODES, REC_ID_TTL_S, SECRET_EXTENSION, _signature, tag, tracking_secret
from recsvc.http.metrics import ANSWERS

CALLS = 20_000
ROUNDS = 7


def unsigned(answer: dict, endpoint: str) -> dict:
    """The rec_id as it was before it was signed."""
    answer["rec_id"] = f"u.{secrets.token_urlsafe(9)}"
    ANSWERS.labels(endpoint, answer.get("source", "")).inc()
    return answer


def without_shown(answer: dict, endpoint: str) -> dict:
    """The rec_id as it was signed before it carried the shown digest."""
    unsigned = f"{CODES[endpoint]}.{int(time.time()) + REC_ID_TTL_S}.{secrets.token_urlsafe(6)}"
    answer["rec_id"] = f"{unsigned}.{_signature(tracking_secret(), unsigned, answer.get('user_id') or '')}"
    ANSWERS.labels(endpoint, answer.get("source", "")).inc()
    return answer


def per_call_us(fn) -> float:
    items = [{"item_id": f"coffee-{n:02d}-1kg", "score": 1.0} for n in range(10)]  # a widget's list
    answer = {"user_id": "user-81860c151e30", "source": "personalized", "items": items}
    started = time.perf_counter()
    for _ in range(CALLS):
        fn(answer, "user_recommendations")
    return (time.perf_counter() - started) / CALLS * 1e6


def main() -> None:
    app = Flask(__name__)
    app.extensions[SECRET_EXTENSION] = secrets.token_bytes(32)  # as read once per process from Redis
    with app.app_context():
        times: dict[str, list[float]] = {"unsigned": [], "signed": [], "signed+shown": []}
        for _ in range(ROUNDS):
            for name, fn in zip(times, (unsigned, without_shown, tag)):
                times[name].append(per_call_us(fn))
    o, s, n = (statistics.median(t) for t in times.values())
    print(
        f"unsigned rec_id: {o:.2f} us a call; signed: {s:.2f} us; signed with the shown digest (tag): {n:.2f} us; "
        f"ratio to unsigned {n / o:.2f}x, the digest adds {n - s:.2f} us an answer (medians of {ROUNDS} rounds of "
        f"{CALLS:,})"
    )
    print(common.machine())


if __name__ == "__main__":
    main()
