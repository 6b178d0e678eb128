"""``recsvc serve --production``: the app factory under granian's WSGI server, one process per worker.

granian (the ``serve`` extra) measured fastest for this app (docs/benchmarks.md). Its main process
restarts the workers gracefully on SIGHUP (each finishes the requests it holds) and stops them on
SIGTERM or SIGINT. The workers share one ``PROMETHEUS_MULTIPROC_DIR``, so ``/metrics`` adds up the
counts of them all, of workers restarted since included.

Each worker works on twice ``--threads`` requests at once (``RECSVC_MAX_IN_FLIGHT``, unless the operator
set it: with one slot per thread, a request arriving while a batch of 100 ran was refused at 500 req/s),
of them half of ``--threads`` batches or trigger pages (at least one), and runs ``--threads`` more threads
than that: on those a request beyond the bound waits a moment for a slot, then gets a fast 503, and
``/healthz`` always finds a thread, however busy the others are (``recsvc.http.admission``).
"""

import contextlib
import os
import tempfile
from collections.abc import Iterator

from cli.common import fail

APP_FACTORY = "recsvc:create_app"
KILL_AFTER_S = 30
"""Seconds a worker may take to finish its requests on a restart or a stop before it is killed."""
HEADER_READ_TIMEOUT_MS = 5_000
"""Milliseconds a client may take to send a request's headers (granian's default is 30 s)."""


def default_workers() -> int:
    """One worker per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def serve(host: str, port: int, workers: int, threads: int, redis_url: str | None) -> int:
    """Serve until stopped; the exit code."""
    try:
        from granian import Granian
        from granian.constants import Interfaces
        from granian.http import HTTP1Settings
    except ImportError:
        return fail("--production needs granian: pip install 'recsvc[serve]'")
    if workers < 1 or threads < 1:
        return fail("--workers and --threads must be 1 or more")
    if redis_url:
        os.environ["REDIS_URL"] = redis_url  # the workers build the app from the environment
    os.environ.setdefault("RECSVC_MAX_IN_FLIGHT", str(2 * threads))
    os.environ.setdefault("RECSVC_MAX_HEAVY_IN_FLIGHT", str(max(1, threads // 2)))
    with metrics_folder():
        server = Granian(
            APP_FACTORY,
            factory=True,
            interface=Interfaces.WSGI,
            address=host,
            port=port,
            workers=workers,
            blocking_threads=3 * threads,  # the spare third answers the probes and refuses the excess
            http1_settings=HTTP1Settings(header_read_timeout=HEADER_READ_TIMEOUT_MS),
            respawn_failed_workers=True,
            workers_kill_timeout=KILL_AFTER_S,
            websockets=False,
        )
        server.serve()
    return 0


@contextlib.contextmanager
def metrics_folder() -> Iterator[None]:
    """``PROMETHEUS_MULTIPROC_DIR`` as the operator set it, else a new empty folder for this run."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="recsvc-metrics-") as folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]
