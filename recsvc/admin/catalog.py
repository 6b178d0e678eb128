"""Catalog changes without retraining: availability, prices, titles and other attributes of a published version.

A change file (CSV, CSV.gz or JSON lines) has ``item_id`` and any of ``available``,
``price``, ``title``, ``url``, ``image_url``, and any other column as a typed attribute:
parsed by the version's ``attribute_types``, or, for a column new to the version, typed by
the file's values (``units.attribute_type``) and added to them. All changes land in one
transaction with a bump of the version's ``catalog_rev``, so every service process drops its cached
attributes and hidden items at once. A hidden item shown again (back in stock) or a price
that falls by the version's ``price_drop_share`` is recorded for the ``back-in-stock`` and
``price-drop`` trigger lists, and the users who watch the item join that list.

A row of an item the version does not know, with a ``category_id`` of the version, adds the item, placed by its
content (``recsvc.admin.arrivals``); a file that adds items is refused whole, with line numbers, if any row is bad.
"""

import csv
import gzip
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recsvc.admin import arrivals
from recsvc.contract import catalog_changes, keys
from recsvc.contract.ids import is_valid_id
from recsvc.contract.units import (
    ITEM_ATTRIBUTES,
    MAX_ATTRIBUTE_CHARS,
    MAX_ATTRIBUTES,
    PRICE_DROP_SHARE,
    attribute_name_problem,
    attribute_type,
    attribute_value,
)
from recsvc.store.arrivals import Busy
from recsvc.store.catalog_updates import CatalogRecords, CatalogWrite

FIELDS = ("available", *ITEM_ATTRIBUTES)
"""What a change may set: availability and the attributes an item in an answer carries."""
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")
CHUNK = 1_000
MAX_EXAMPLES = 5


class CatalogError(ValueError):
    """The change file cannot be applied; the message is one line for the operator."""


class NoVersion(CatalogError):
    """No model is published yet, or not the version named."""


class UpdateUnderWay(CatalogError):
    """Another update of the version that adds items held it too long."""


@dataclass
class CatalogUpdate:
    """What an update changed, and what it skipped."""

    version: str
    changed: int = 0
    hidden: int = 0
    shown: int = 0
    unknown: int = 0
    back_in_stock: int = 0
    price_drops: int = 0
    notified: dict[str, int] = field(default_factory=dict)  # per catalog trigger kind: users added to it
    bad_rows: int = 0  # rows skipped, and columns skipped (each once)
    examples: list[str] = field(default_factory=list)
    lines: dict[str, str] = field(default_factory=dict)  # item id -> where the file first names it ("f.csv line 3")
    added: int = 0  # new items added to the version (``recsvc.admin.arrivals``)
    category_kept: int = 0  # known items whose row gave another category: kept (a change of category needs a training)
    new_attributes: dict[str, str] = field(default_factory=dict)  # attributes new to the version -> their type

    def skip(self, where: str, reason: str) -> None:
        """Count a bad row or column, with the first few as examples."""
        self.bad_rows += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{where}: {reason}")


def _open_text(path: Path):
    return io.TextIOWrapper(gzip.open(path), newline="") if path.name.endswith(".gz") else open(path, newline="")


def read_rows(path: Path) -> list[tuple[int, dict]]:
    """(line, row) of a change file: CSV or JSON lines, gzipped or not."""
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"{path}: no such file")
    with _open_text(path) as f:
        return list(_json_rows(f) if path.name.endswith((".jsonl", ".jsonl.gz", ".ndjson")) else _csv_rows(f, path))


def changes_of(
    rows: list[tuple[int, dict]], update: CatalogUpdate, types: dict[str, str], source: str, where: str
) -> dict[str, dict]:
    """item_id -> changed fields of the rows of ``source`` (``where``: what names a row's place, "f.csv line");
    bad rows are counted with examples.

    ``types`` are the version's attribute types; the types of new columns go into ``update.new_attributes``."""
    kinds = _attribute_types(source, rows, types, update)
    changes: dict[str, dict] = {}
    for line, row in rows:
        try:
            item_id, change = _parse(row, kinds)
        except ValueError as e:
            update.skip(f"{where} {line}", str(e))
            continue
        changes.setdefault(item_id, {}).update(change)
        update.lines.setdefault(item_id, f"{where} {line}")
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


def _attribute_types(
    file: str, rows: list[tuple[int, dict]], types: dict[str, str], update: CatalogUpdate
) -> dict[str, str]:
    """The type of each other column of the file: the version's, else inferred from its values (a new attribute).

    A column that may not be an attribute is skipped and reported once."""
    names = dict.fromkeys(name for _, row in rows for name in row if name not in ("item_id", "category_id", *FIELDS))
    kinds = {}
    for name in names:
        if name in types:
            kinds[name] = types[name]
            continue
        texts = [t for _, row in rows if (t := _text(row.get(name)))]
        problem = attribute_name_problem(name)
        if problem is None and texts:  # a column of empty cells changes nothing
            kind, longest = attribute_type(texts), max(map(len, texts))
            if kind == "string" and longest > MAX_ATTRIBUTE_CHARS:
                problem = f"a value has {longest:,} characters, more than {MAX_ATTRIBUTE_CHARS:,}"
            elif len(types) + len(update.new_attributes) >= MAX_ATTRIBUTES:
                problem = f"the version has {MAX_ATTRIBUTES} other attributes already"
            else:
                kinds[name] = update.new_attributes[name] = kind
        if problem:
            update.skip(file, f"column {name!r} skipped: {problem}")
    return kinds


def _text(value: object) -> str | None:
    """A CSV or JSON value as stripped text ("" when empty), None when it is no single value (a list, an object)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return None


def _parse(row: dict, kinds: dict[str, str]) -> tuple[str, dict]:
    item_id = row.get("item_id")
    if not isinstance(item_id, str) or not is_valid_id(item_id.strip()):
        raise ValueError(f"item_id {item_id!r} is not an id")
    change: dict[str, bool | float | str] = {}
    if "category_id" in row:
        category = row["category_id"]
        if not isinstance(category, str) or not is_valid_id(category.strip()):
            raise ValueError(f"category_id {category!r} is not an id")
        change["category_id"] = category.strip()
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
    for name, kind in kinds.items():
        text = _text(row.get(name))
        if text is None:
            raise ValueError(f"{name} {row[name]!r} is not a {kind}")
        if text:
            try:
                change[name] = attribute_value(text, kind)
            except ValueError as e:
                raise ValueError(f"{name} {e}") from None
    if not change:
        raise ValueError(f"nothing to change: give any of category_id, {', '.join(FIELDS)} or another attribute")
    return item_id.strip(), change


def apply_changes(
    records: CatalogRecords, changes: dict[str, dict], update: CatalogUpdate, at: float | None = None
) -> CatalogUpdate:
    """Apply changes to ``update.version`` in one transaction, with the triggers they set off at ``at``."""
    version = update.version
    at = time.time() if at is None else at
    share = records.price_drop_share(version)
    share = PRICE_DROP_SHARE if share is None else share
    write = CatalogWrite(new_attributes=update.new_attributes)
    triggered: dict[str, dict[str, tuple[int, dict]]] = {kind: {} for kind in keys.CATALOG_KINDS}
    ids = list(changes)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found = records.items(version, chunk)
        update.unknown += len(chunk) - len(found)
        for item in found:
            entry: dict[str, Any] = item.attrs if item.attrs is not None else {"item_id": item.item_id}
            change = dict(changes[item.item_id])
            available = change.pop("available", None)
            if available is not None:
                (write.show if available else write.hide).append(item.index)
            shown = bool(available) if available is not None else not item.hidden
            for kind, what in catalog_changes.triggered(
                item.hidden, shown, entry.get("price"), change.get("price"), share, at
            ).items():
                triggered[kind][item.item_id] = (item.index, what)
            entry.update(change)
            write.attrs[str(item.index)] = json.dumps(entry, separators=(",", ":"))
            update.changed += 1
    watched = sorted({i for by_item in triggered.values() for i in by_item})
    watchers: dict[str, list[str]] = {}
    for start in range(0, len(watched), CHUNK):
        watchers.update(records.watchers(version, watched[start : start + CHUNK]))
    for kind, by_item in triggered.items():
        users: dict[str, float] = {}
        write.triggered[kind] = {}
        for item_id, (index, change) in by_item.items():
            write.triggered[kind][str(index)] = json.dumps(change)
            users.update((u, at) for u in watchers.get(item_id, ()))
        write.notified[kind] = users
        update.notified[kind] = len(users)
    update.back_in_stock, update.price_drops = len(triggered["back-in-stock"]), len(triggered["price-drop"])
    records.write(version, write)
    update.hidden, update.shown = len(write.hide), len(write.show)
    return update


def update_catalog(records: CatalogRecords, path: Path, version: str | None = None) -> CatalogUpdate:
    """Read a change file and apply it to a version (the served one by default).

    Rows of items the version does not know that give a ``category_id`` add those items (``arrivals``); a file
    that adds items is applied whole or not at all: any bad row refuses it, with line numbers, before any write.
    Other rows of unknown items are counted as not in the model."""
    version = _version(records, version)
    name = Path(path).name
    return apply_rows(records, read_rows(path), version, name, f"{name} line")


def update_items(records: CatalogRecords, items: list[dict], version: str | None = None) -> CatalogUpdate:
    """Apply the changes of ``items`` (rows as a change file's JSON lines hold them) as ``update_catalog`` does;
    a row's place is its number in the list, from 1."""
    version = _version(records, version)
    return apply_rows(records, list(enumerate(items, start=1)), version, "the request", "item")


def _version(records: CatalogRecords, version: str | None) -> str:
    """The version to change: ``version`` if published, else the served one; NoVersion without."""
    version = version or records.served()
    if version is None:
        raise NoVersion("no model is published yet: run `recsvc train`")
    if not records.is_published(version):
        raise NoVersion(f"no published version {version!r}")
    return version


def apply_rows(
    records: CatalogRecords, rows: list[tuple[int, dict]], version: str, source: str, where: str
) -> CatalogUpdate:
    """Apply the rows of ``source`` (a file's name, "the request") to a published version, one update that adds
    items at a time."""
    update = CatalogUpdate(version)
    changes = changes_of(rows, update, records.attribute_types(version), source, where)
    try:
        with records.arrivals.exclusive(version):  # what is known, and every read-modify-write, as of this update
            return _update(records, changes, update, source)
    except Busy as e:
        raise UpdateUnderWay(str(e)) from None


def _update(records: CatalogRecords, changes: dict[str, dict], update: CatalogUpdate, name: str) -> CatalogUpdate:
    """Apply the changes of known items, then add the new ones (under the version's arrivals lock)."""
    version = update.version
    known = records.known(version, list(changes))
    incoming = [
        arrivals.Arrival(i, update.lines[i], change)
        for i, change in changes.items()
        if i not in known and "category_id" in change
    ]
    if incoming:
        refused = [*arrivals.problems(incoming, set(records.category_ids(version))), *update.examples]
        if refused:
            raise CatalogError(
                f"{name} adds items and has {len(refused):,} bad rows or columns, so nothing was applied; "
                + "; ".join(refused[:MAX_EXAMPLES])
            )
    for item_id in known:
        if changes[item_id].pop("category_id", None) is not None:
            update.category_kept += 1
    apply_changes(records, {i: c for i, c in changes.items() if i in known and c}, update)
    update.unknown = len(changes) - len(known) - len(incoming)
    update.added = len(arrivals.add(records.arrivals, version, incoming))
    return update
