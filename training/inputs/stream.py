"""Events posted to the API (the ``keys.EVENTS_STREAM`` Redis Stream) as training input.

A run reads the stream up to the newest entry at its start, in chunks; after a successful publish
it trims exactly what it read (XTRIM MINID), so events that arrive while it trains stay for the next run.
"""

import pyarrow as pa
import redis

from recsvc.contract import keys

CHUNK = 50_000
COLUMNS = ("timestamp", "user_id", "item_id", "event", "quantity")


def read_stream(r: redis.Redis, chunk: int = CHUNK) -> tuple[pa.Table, str | None]:
    """(the stream's events as string columns, the id of the last one read; None when empty)."""
    newest = r.xrevrange(keys.EVENTS_STREAM, count=1)
    columns: dict[str, list[str]] = {name: [] for name in COLUMNS}
    if not newest:
        return pa.table({name: pa.array([], pa.string()) for name in COLUMNS}), None
    end = newest[0][0].decode()
    start, last = "-", None
    while True:
        entries = r.xrange(keys.EVENTS_STREAM, min=start, max=end, count=chunk)
        for _, fields in entries:
            for name in COLUMNS:
                value = fields.get(name.encode())
                columns[name].append(value.decode() if value is not None else "")
        if not entries:
            break
        last = entries[-1][0].decode()
        if len(entries) < chunk or last == end:
            break
        start = next_id(entries[-1][0].decode())
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()}), last


def next_id(entry_id: str) -> str:
    """The smallest stream id after ``entry_id``."""
    ms, _, seq = entry_id.partition("-")
    return f"{ms}-{int(seq or 0) + 1}"


def trim_consumed(r: redis.Redis, last_id: str) -> int:
    """Delete the entries up to and including ``last_id``; returns how many."""
    return r.xtrim(keys.EVENTS_STREAM, minid=next_id(last_id), approximate=False)
