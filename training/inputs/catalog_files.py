"""Read the catalog and the category tree (CSV, gzip CSV or Parquet, one file or a folder), as ``readers`` reads
the events: every row validated, bad rows skipped, counted and reported with their line numbers.

A catalog's columns beyond the fixed ones are typed extra attributes (``_Extras``); a file of property changes
(RetailRocket's item_properties) gives each item its latest category.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recsvc.contract.ids import is_valid_id
from recsvc.contract.units import (
    ATTRIBUTE_TYPES,
    ITEM_ATTRIBUTES,
    MAX_ATTRIBUTE_CHARS,
    MAX_ATTRIBUTES,
    attribute_name_problem,
    attribute_type,
    attribute_value,
)
from training.inputs.presets import Preset
from training.inputs.readers import (
    ID_RULE,
    BadRows,
    Catalog,
    InputError,
    input_files,
    read_table,
    renamed_columns,
    timestamps_of,
)


def read_catalog(path: Path, preset: Preset, *, strict: bool = False) -> tuple[Catalog, BadRows]:
    """Read the catalog: item_id and category_id, any of title, price, url, image_url, available, and
    any other column as a typed extra attribute (``_Extras``).

    A file of property changes (timestamp, item_id, property, value: RetailRocket's item_properties)
    gives each item its latest ``categoryid``."""
    bad = BadRows(strict=strict)
    items: dict[str, dict] = {}
    since: dict[str, float] = {}  # for property logs: when each item's category was set
    extras = _Extras()
    for file in input_files(path):
        t = read_table(file, None, bad)
        table = renamed_columns(t.table, preset.catalog_columns)
        if "item_id" not in table.column_names:
            raise InputError(f"{file.name}: the catalog needs an item_id column; found {', '.join(table.column_names)}")
        if PROPERTY_LOG <= set(table.column_names) and "category_id" not in table.column_names:
            latest_categories(file.name, table, t.lines, bad, items, since)
            continue
        table, other = extras.columns(file.name, table, t.types, bad)
        for line, row in zip(t.lines, table.to_pylist()):
            item_id = (row.get("item_id") or "").strip()
            if not is_valid_id(item_id):
                bad.add(f"{file.name} line {line}", f"item_id {item_id!r} {ID_RULE}")
                continue
            attrs = {"category_id": (row.get("category_id") or "").strip() or None}
            for key in ("title", "url", "image_url"):
                if row.get(key):
                    attrs[key] = row[key]
            if row.get("price"):
                try:
                    attrs["price"] = float(row["price"])
                except ValueError:
                    bad.add(f"{file.name} line {line}", f"price {row['price']!r} is not a number")
                    continue
            available = (row.get("available") or "true").strip().lower()
            if available not in ("true", "false", "1", "0", "yes", "no"):
                bad.add(f"{file.name} line {line}", f"available {available!r} is not true or false")
                continue
            attrs["available"] = available in ("true", "1", "yes")
            extras.add(attrs, row, other)
            items[item_id] = attrs
            bad.kept += 1
    return Catalog(items, extras.settle(items, bad)), bad


CATALOG_COLUMNS = ("item_id", "category_id", *ITEM_ATTRIBUTES, "available")
"""The catalog's fixed columns; any other is an extra attribute."""


@dataclass
class _Column:
    """An extra column while the files are read."""

    file: str  # the first file that has it
    allowed: set[str]  # the types its values may take: all, or the one a Parquet file declares


@dataclass
class _Extras:
    """The catalog's other columns, kept as typed attributes (``units.attribute_type``).

    A column whose name may not be an attribute is skipped and reported once; so is a string column
    with a value over ``MAX_ATTRIBUTE_CHARS`` and every column after the first ``MAX_ATTRIBUTES``.
    Empty cells (and NaN in a Parquet float column) leave the attribute out for that item."""

    kept: dict[str, _Column] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)

    def columns(self, file: str, table: pa.Table, types: list[pa.DataType], bad: BadRows) -> tuple[pa.Table, list[str]]:
        """The file's table, with NaN emptied in Parquet float columns, and the extra columns to keep of it."""
        declared = dict(zip(table.column_names, types))
        other = []
        for name in table.column_names:
            if name in CATALOG_COLUMNS or name in self.refused:
                continue
            problem = attribute_name_problem(name)
            if problem:
                self.refused.add(name)
                bad.skip_column(file, name, problem)
                continue
            kind = declared.get(name)
            allowed = _declared_type(kind) if kind is not None else set(ATTRIBUTE_TYPES)
            if kind is not None and pa.types.is_floating(kind):
                column = table[name]
                empty = pc.if_else(pc.equal(column, "nan"), pa.scalar(None, pa.string()), column)
                table = table.set_column(table.column_names.index(name), name, empty)
            self.kept.setdefault(name, _Column(file, allowed)).allowed &= allowed
            other.append(name)
        return table, other

    @staticmethod
    def add(attrs: dict, row: dict, names: list[str]) -> None:
        """Put a row's non-empty extra values into its item's attributes, as text until ``settle``."""
        for name in names:
            text = (row.get(name) or "").strip()
            if text:
                attrs[name] = text

    def settle(self, items: dict[str, dict], bad: BadRows) -> dict[str, str]:
        """Type each column by its values and convert them in ``items``; returns name -> type of those kept."""
        types: dict[str, str] = {}
        for name, column in self.kept.items():
            texts = {attrs[name] for attrs in items.values() if name in attrs}  # distinct: values repeat
            if not texts:  # nothing to keep, and a later catalog update may give it any type
                continue
            kind = attribute_type(texts, column.allowed)
            longest = max(map(len, texts))
            problem = None
            if kind == "string" and longest > MAX_ATTRIBUTE_CHARS:
                problem = f"a value has {longest:,} characters, more than {MAX_ATTRIBUTE_CHARS:,}"
            elif len(types) == MAX_ATTRIBUTES:
                problem = f"more than {MAX_ATTRIBUTES} other columns"
            value = {} if problem else {t: attribute_value(t, kind) for t in texts}
            for attrs in items.values():
                if name in attrs:
                    if problem:
                        del attrs[name]
                    else:
                        attrs[name] = value[attrs[name]]
            if problem:
                bad.skip_column(column.file, name, problem)
            else:
                types[name] = kind
        return types


def _declared_type(kind: pa.DataType) -> set[str]:
    """The attribute type a Parquet column type keeps (all three when it is none of them: inferred from text)."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_boolean(kind):
        return {"boolean"}
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return {"number"}
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return {"string"}
    return set(ATTRIBUTE_TYPES)


PROPERTY_LOG = {"timestamp", "item_id", "property", "value"}
"""The columns of a catalog kept as a log of property changes (RetailRocket's item_properties files)."""
CATEGORY_PROPERTY = "categoryid"


def latest_categories(
    name: str, table: pa.Table, lines: np.ndarray, bad: BadRows, items: dict[str, dict], since: dict[str, float]
) -> None:
    """From a property log, each item's latest ``categoryid`` into ``items``; ``since`` keeps when each was set."""
    rows = pc.equal(pc.utf8_trim_whitespace(table["property"]), CATEGORY_PROPERTY).to_numpy(zero_copy_only=False)
    picked = table.filter(pa.array(rows))
    seconds = timestamps_of(picked["timestamp"]).tolist()
    columns = (picked["item_id"].to_pylist(), picked["value"].to_pylist(), picked["timestamp"].to_pylist())
    for line, item_id, value, stamp, at in zip(lines[rows], *columns, seconds):
        item_id, value = (item_id or "").strip(), (value or "").strip()
        if not is_valid_id(item_id):
            bad.add(f"{name} line {line}", f"item_id {item_id!r} {ID_RULE}")
        elif not value:
            bad.add(f"{name} line {line}", "empty categoryid")
        elif at != at:  # NaN: the time of the change is unreadable
            bad.add(f"{name} line {line}", f"bad timestamp {stamp!r}")
        else:
            bad.kept += 1
            if at >= since.get(item_id, -np.inf):
                since[item_id] = at
                items[item_id] = {"category_id": value, "available": True}


def read_categories(path: Path, preset: Preset, *, strict: bool = False) -> tuple[dict[str, str | None], BadRows]:
    """Read the category tree: category id -> parent id (None for a root)."""
    bad = BadRows(strict=strict)
    parents: dict[str, str | None] = {}
    for file in input_files(path):
        t = read_table(file, None, bad)
        table = renamed_columns(t.table, preset.categories_columns)
        if "category_id" not in table.column_names:
            raise InputError(
                f"{file.name}: the category tree needs category_id and parent_id; found {', '.join(table.column_names)}"
            )
        parent_col = table["parent_id"].to_pylist() if "parent_id" in table.column_names else [None] * table.num_rows
        for line, cat, parent in zip(t.lines, table["category_id"].to_pylist(), parent_col):
            cat = (cat or "").strip()
            if not cat:
                bad.add(f"{file.name} line {line}", "empty category_id")
                continue
            parents[cat] = (parent or "").strip() or None
            bad.kept += 1
    return parents, bad
