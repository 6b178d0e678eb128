"""Streaming exports for the email generator: every user's picks, or a whole trigger list, to a file.

Users are read with SCAN and pipelines a chunk at a time, so memory stays bounded
whatever the number of users; a progress bar shows how far it is.
"""

import csv
from collections.abc import Iterator
from pathlib import Path

import orjson
from tqdm import tqdm

from recsvc.contract.live import EMPTY
from recsvc.contract.units import ITEM_ATTRIBUTES
from recsvc.read.answers import Answers
from recsvc.read.listing import Filters
from recsvc.read.retention import RetentionAnswers
from recsvc.read.triggers import SUPPRESS_DAYS, WINDOWS, Triggers
from recsvc.store.model import ModelStore

CHUNK = 1_000
FORMATS = ("jsonl", "csv")
CSV_COLUMNS = (
    *("user_id", "rank", "item_id", "score", "category_id", "reason", "reason_item_id", *ITEM_ATTRIBUTES),
    *("experiment", "arm"),
)
"""One row per user and item; the catalog's attributes are empty where the catalog has none, the A/B test and arm
outside an experiment."""


def picks(store: ModelStore, limit: int) -> tuple[int | None, Iterator[dict]]:
    """(number of users if known, every user's picks) under the served version, with the email rules.

    While an A/B test runs, each user's row comes from their arm (its version and rule set) and names it."""
    answers = Answers(store)
    version = store.version()
    total = store.summary(version).redis_memory.user_keys
    filters = Filters(limit=limit)

    def rows() -> Iterator[dict]:
        """One row per user with a record, read a chunk at a time."""
        for chunk in store.user_ids(version, CHUNK):
            if store.steering.running is not None:  # users of an arm are answered from its version
                batch = answers.batch(chunk, filters)
                yield from ({"model_version": batch["model_version"], **result} for result in batch["results"])
                continue
            found = store.users_by_id(version, chunk)
            lists = answers.prefetch(version, [record for record in found if record is not None], limit)
            versions, lives, arms = [version] * len(chunk), [EMPTY] * len(chunk), [None] * len(chunk)
            judged = answers.judged_together(versions, found, lives, arms, filters, "email", {version: lists})
            for n, (user_id, record) in enumerate(zip(chunk, found)):
                if record is not None:
                    answer = judged.get(n) or answers.for_user_record(version, record, filters, lists)
                    yield {"user_id": user_id, "model_version": version, **answer}

    return total, rows()


def trigger_entries(
    store: ModelStore, kind: str, window: int | None, items_per_user: int, suppress_days: int = SUPPRESS_DAYS
) -> tuple[None, Iterator[dict]]:
    """(None: the size is known only at the end, every entry of a trigger list) under the served version.

    Users sent a message of this kind within ``suppress_days`` are left out, as in ``/v1/triggers/<kind>``."""
    triggers = Triggers(RetentionAnswers(Answers(store)))
    total = None
    span = window if window is not None else WINDOWS[kind].default

    def rows() -> Iterator[dict]:
        """The entries of every page, the cursor carried from one to the next."""
        cursor = None
        while True:
            page = triggers.page(kind, span, CHUNK, items_per_user, cursor, suppress_days=suppress_days)
            for entry in page["entries"]:
                yield {"kind": kind, "model_version": page["model_version"], **entry}
            cursor = page["next_cursor"]
            if cursor is None:
                return

    return total, rows()


def write(rows: Iterator[dict], out: Path, fmt: str, total: int | None, unit: str, progress: bool = True) -> int:
    """Write rows as JSON lines (one per user) or CSV (one per user and item); returns the users written."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(out, "w", newline="", encoding="utf-8") as f, tqdm(total=total, unit=unit, disable=not progress) as bar:
        writer = csv.writer(f) if fmt == "csv" else None
        if writer:
            writer.writerow(CSV_COLUMNS)
        for row in rows:
            if writer:
                tested = row.get("experiment") or {}
                for rank, item in enumerate(row["items"], start=1):
                    reason = item["reason"]
                    writer.writerow(
                        (
                            row["user_id"],
                            rank,
                            item["item_id"],
                            item["score"],
                            item.get("category_id") or "",
                            reason["type"],
                            reason.get("item_id", ""),
                            *(item.get(name, "") for name in ITEM_ATTRIBUTES),
                            tested.get("name", ""),
                            tested.get("arm", ""),
                        )
                    )
            else:
                f.write(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE).decode())
            count += 1
            bar.update(1)
    return count
