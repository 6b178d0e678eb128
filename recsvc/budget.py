"""The time budget of the request a thread is answering: long work checks it and stops past it.

``recsvc.http.admission`` starts a budget for each request (``RECSVC_REQUEST_BUDGET_S``); every call to the
store checks it, and so do loops over many users, so no request runs on for minutes. Outside a request
(the trainer, the command line) there is no budget and ``check`` does nothing.
"""

import threading
import time

REQUEST_BUDGET_S = 10.0
"""Seconds a request may run before it is stopped with a 503 (``RECSVC_REQUEST_BUDGET_S``; 0: no budget)."""

_local = threading.local()


class OverBudget(Exception):
    """The request ran past its time budget."""


def start(seconds: float) -> None:
    """Give this thread's request ``seconds`` from now (0 or less: no budget)."""
    _local.deadline = time.monotonic() + seconds if seconds > 0 else None
    _local.seconds = seconds


def clear() -> None:
    """The request is answered: no budget any more."""
    _local.deadline = None


def check() -> None:
    """Raise ``OverBudget`` if this thread's request ran past its budget."""
    deadline = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise OverBudget(f"the request ran past its time budget of {_local.seconds:g} s")
