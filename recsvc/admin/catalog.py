"""Catalog changes without retraining: availability, prices and titles of a published version.

A change file (CSV, CSV.gz or JSON lines) has ``item_id`` and any of ``available``,
``price``, ``title``, ``url``, ``image_url``. All changes land in one transaction with a
bump of the version's ``catalog_rev``, so every service process drops its cached
attributes and hidden items at once.
"""

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from recsvc.contract import keys, versions
from recsvc.contract.commands import get_many
from recsvc.contract.ids import is_valid_id
from recsvc.contract.records import ITEM_HEADER
from recsvc.contract.units import ITEM_ATTRIBUTES

FIELDS = ("available", *ITEM_ATTRIBUTES)
"""What a change may set: availability and the attributes an item in an answer carries."""
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")
CHUNK = 1_000
MAX_EXAMPLES = 5


class CatalogError(ValueError):
    """The change file cannot be applied; the message is one line for the operator."""


@dataclass
class CatalogUpdate:
    """What an update changed, and what it skipped."""

    version: str
    changed: int = 0
    hidden: int = 0
    shown: int = 0
    unknown: int = 0
    bad_rows: int = 0
    examples: list[str] = field(default_factory=list)


def _open_text(path: Path):
    return io.TextIOWrapper(gzip.open(path), newline="") if path.name.endswith(".gz") else open(path, newline="")


def read_changes(path: Path, update: CatalogUpdate) -> dict[str, dict]:
    """item_id -> changed fields, from CSV or JSON lines; bad rows are counted with examples."""
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"{path}: no such file")
    changes: dict[str, dict] = {}
    with _open_text(path) as f:
        rows = _json_rows(f) if path.name.endswith((".jsonl", ".jsonl.gz", ".ndjson")) else _csv_rows(f, path)
        for line, row in rows:
            try:
                item_id, change = _parse(row)
            except ValueError as e:
                update.bad_rows += 1
                if len(update.examples) < MAX_EXAMPLES:
                    update.examples.append(f"{path.name} line {line}: {e}")
                continue
            changes.setdefault(item_id, {}).update(change)
    return changes


def _csv_rows(f, path: Path) -> Iterator[tuple[int, dict]]:
    reader = csv.DictReader(f)
    if not reader.fieldnames or "item_id" not in reader.fieldnames:
        raise CatalogError(f"{path.name}: needs an item_id column and any of {', '.join(FIELDS)}")
    for n, row in enumerate(reader, start=2):
        yield n, {k: v for k, v in row.items() if k and v not in (None, "")}


def _json_rows(f) -> Iterator[tuple[int, dict]]:
    for n, text in enumerate(f, start=1):
        if text.strip():
            try:
                row = json.loads(text)
            except json.JSONDecodeError:
                row = None
            yield n, row if isinstance(row, dict) else {"item_id": None}


def _parse(row: dict) -> tuple[str, dict]:
    item_id = row.get("item_id")
    if not isinstance(item_id, str) or not is_valid_id(item_id.strip()):
        raise ValueError(f"item_id {item_id!r} is not an id")
    change: dict[str, bool | float | str] = {}
    if "available" in row:
        value = str(row["available"]).strip().lower()
        if value not in TRUE + FALSE:
            raise ValueError(f"available {row['available']!r} is not true or false")
        change["available"] = value in TRUE
    if "price" in row:
        try:
            change["price"] = float(row["price"])
        except (TypeError, ValueError):
            raise ValueError(f"price {row['price']!r} is not a number") from None
    for name in ITEM_ATTRIBUTES:
        if name != "price" and name in row:
            change[name] = str(row[name])
    if not change:
        raise ValueError(f"nothing to change: give any of {', '.join(FIELDS)}")
    return item_id.strip(), change


def apply_changes(r: redis.Redis, changes: dict[str, dict], update: CatalogUpdate) -> CatalogUpdate:
    """Apply changes to ``update.version`` in one transaction."""
    version = update.version
    attrs: dict[str, str] = {}
    hide: list[int] = []
    show: list[int] = []
    ids = list(changes)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        records = get_many(r, [keys.item(version, i) for i in chunk])
        found = [(i, ITEM_HEADER.unpack_from(rec)[1]) for i, rec in zip(chunk, records) if rec]
        update.unknown += len(chunk) - len(found)
        if not found:
            continue
        current = r.hmget(keys.attrs(version), [str(index) for _, index in found])
        for (item_id, index), raw in zip(found, current):
            entry = json.loads(raw) if raw else {"item_id": item_id}
            change = dict(changes[item_id])
            available = change.pop("available", None)
            if available is not None:
                (show if available else hide).append(index)
            entry.update(change)
            attrs[str(index)] = json.dumps(entry, separators=(",", ":"))
            update.changed += 1
    pipe = r.pipeline(transaction=True)
    items = list(attrs.items())
    for start in range(0, len(items), CHUNK):
        pipe.hset(keys.attrs(version), mapping=dict(items[start : start + CHUNK]))
    if hide:
        pipe.sadd(keys.unavailable(version), *hide)
    if show:
        pipe.srem(keys.unavailable(version), *show)
    pipe.incr(keys.catalog_rev(version))
    pipe.execute()
    update.hidden, update.shown = len(hide), len(show)
    return update


def update_catalog(r: redis.Redis, path: Path, version: str | None = None) -> CatalogUpdate:
    """Read a change file and apply it to a version (the served one by default)."""
    version = version or versions.current(r)
    if version is None:
        raise CatalogError("no model is published yet: run `recsvc train`")
    if not r.exists(keys.meta(version)):
        raise CatalogError(f"no published version {version!r}")
    update = CatalogUpdate(version)
    return apply_changes(r, read_changes(path, update), update)
