"""Python's garbage collector set for a process that answers many users: once per process, by ``create_app``
and by ``recsvc export``, both with the threshold ``RECSVC_GC_YOUNG_THRESHOLD`` when the operator sets one.

The service keeps its caches for hours while its answers allocate many short-lived containers. With
Python's default thresholds (a young collection every 700 new containers, a full one every 100 young
ones) a 1,000-user batch ran about 40 young collections, and every few batches a full one walked every
object of the process, 20-25 ms each: a pause for whichever request set it off (docs/benchmarks.md).
Here the objects that exist once the app is built (modules, the app itself) are frozen out of every
later collection, and a young collection waits for ``YOUNG_THRESHOLD`` new containers (0 leaves the
collector as Python sets it). Reference counting still frees every object without a
cycle at once; only cycles wait for a collection.
"""

import gc
import os

YOUNG_THRESHOLD = 50_000
"""New containers before a young collection (Python's default is 700)."""
SETTING = "RECSVC_GC_YOUNG_THRESHOLD"
"""The environment variable that changes it (the app's ``GC_YOUNG_THRESHOLD``)."""


def configured_threshold() -> int:
    """The young threshold the environment sets, else ``YOUNG_THRESHOLD``: for processes without the app's config."""
    return int(os.environ.get(SETTING, YOUNG_THRESHOLD))


def tune(young_threshold: int) -> None:
    """Freeze what exists and raise the young threshold; the first app a process builds decides."""
    if young_threshold <= 0 or gc.get_freeze_count():
        return
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    gc.set_threshold(young_threshold, *gc.get_threshold()[1:])
