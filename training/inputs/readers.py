"""Read events, catalog and category tree from CSV, gzip CSV or Parquet, one file or a folder.

Every row is validated; bad rows are skipped, counted and reported with their line
numbers, or, with ``strict``, the first one stops the run. Values stay strings until
ids are factorized, so ids such as ``007`` keep their form. A timestamp is a bad row when
it cannot be read or breaks the contract's time rule (``recsvc.contract.times``), which
``POST /v1/events`` applies too. The event stream's bad rows (written by an older server) are
counted apart: skipped and reported, never a reason to stop the run.
"""

from __future__ import annotations

import csv
import gzip
import logging
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from recsvc.contract.events import ADDTOCART, EVENT_ALIASES, EVENTS, PURCHASE, VIEW, WISHLIST  # noqa: F401 (re-exported)
from recsvc.contract.ids import ASCII_ID_REGEX, is_valid_id
from recsvc.contract.ids import ID_RULE as RULE_IN_WORDS
from recsvc.contract.times import EARLIEST_TIME, MILLISECONDS_FROM, iso_seconds, latest_time, window_rule
from training.inputs.presets import Preset

log = logging.getLogger(__name__)

EVENT_COLUMNS = ("timestamp", "user_id", "item_id", "event")
ID_REGEX = ASCII_ID_REGEX  # the vectorized check of ASCII ids; the others go through is_valid_id
ID_RULE = f"is not an id ({RULE_IN_WORDS})"
MAX_EXAMPLES = 5
USER_IDS = np.dtypes.StringDType()
"""The dtype of the user ids: numpy's variable-width strings, 16 bytes each up to 15 bytes of UTF-8 (a str object in
an object array takes 64): 0.7 GiB less for the 14M visitors of 10x RetailRocket."""


class InputError(ValueError):
    """The input cannot be trained on; the message is one line for the operator."""


@dataclass
class BadRows:
    """Rows skipped as invalid: how many, and a few examples with their line numbers."""

    count: int = 0
    examples: list[str] = field(default_factory=list)
    strict: bool = False
    kept: int = 0  # the rows read and kept, so the bad share is rows / (rows + kept)
    columns: int = 0  # of ``count``, the columns skipped: reported, but no row of theirs is lost

    @property
    def rows(self) -> int:
        """The bad rows, without the skipped columns."""
        return self.count - self.columns

    @property
    def share(self) -> float:
        """The bad rows' share of all rows read."""
        total = self.rows + self.kept
        return self.rows / total if total else 0.0

    def add(self, where: str, reason: str, count: int = 1) -> None:
        if self.strict:
            raise InputError(f"{where}: {reason}")
        self.count += count
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{where}: {reason}")

    def skip_column(self, where: str, name: str, reason: str) -> None:
        """Report a column that is not kept, once."""
        self.add(where, f"column {name!r} skipped: {reason}")
        self.columns += 1


@dataclass
class Events:
    """Validated events as columns; users and items are codes into ``user_ids`` and ``item_ids``."""

    timestamp: np.ndarray  # int64 unix seconds
    user: np.ndarray  # int32
    item: np.ndarray  # int32
    event: np.ndarray  # int8, a position in EVENTS
    quantity: np.ndarray  # int32 >= 1
    user_ids: np.ndarray  # str (``USER_IDS``)
    item_ids: np.ndarray  # str
    item_categories: dict[str, str] = field(default_factory=dict)  # from formats that carry them

    def __len__(self) -> int:
        return len(self.timestamp)


@dataclass
class Catalog:
    """Catalog attributes by item id; ``available`` false hides an item.

    The extra attributes (any other column) sit beside the fixed ones, typed: ``types`` gives each one's type."""

    items: dict[str, dict]
    types: dict[str, str] = field(default_factory=dict)


def input_files(path: Path) -> list[Path]:
    """The data files of a path: the file itself, or the CSV/Parquet files of a folder, sorted."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and _is_data_file(p))
    if not files:
        raise InputError(f"{path}: no .csv, .csv.gz or .parquet files in the folder")
    return files


def _is_data_file(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".csv", ".csv.gz", ".parquet", ".pq", ".tsv", ".tsv.gz"))


@dataclass
class _Table:
    """One file read as string columns, with the line number of each row."""

    table: pa.Table
    lines: np.ndarray
    name: str
    types: list[pa.DataType] = field(default_factory=list)  # a Parquet file's own column types, in column order


def read_table(path: Path, header: tuple[str, ...] | None, bad: BadRows) -> _Table:
    """Read a file as strings, reporting rows with the wrong number of fields; an unreadable file is an InputError."""
    try:
        return _read_strings(path, header, bad)
    except (pa.ArrowException, OSError, EOFError, UnicodeError, zlib.error) as e:
        kind = "Parquet" if path.name.lower().endswith((".parquet", ".pq")) else "CSV"
        compressed = " (gzip)" if path.name.lower().endswith(".gz") else ""
        said = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise InputError(f"{path.name}: cannot read as {kind}{compressed}: {said}") from None


def _read_strings(path: Path, header: tuple[str, ...] | None, bad: BadRows) -> _Table:
    if path.name.lower().endswith((".parquet", ".pq")):
        table = pq.read_table(path)
        types = list(table.schema.types)
        table = table.cast(pa.schema([pa.field(f.name, pa.string()) for f in table.schema]))
        return _Table(table, np.arange(1, table.num_rows + 1), path.name, types)
    table, skipped = _read_csv(path, header, bad, use_threads=True)
    if skipped:  # only a single-threaded read knows the line numbers of bad rows
        table, skipped = _read_csv(path, header, bad, use_threads=False)
    first = 1 if header else 2
    # a kept row's line is the next line number that was not skipped
    every = np.arange(first, first + table.num_rows + len(skipped))
    lines = every[~np.isin(every, skipped)] if skipped else every
    return _Table(table, lines, path.name)


def _read_csv(path: Path, header: tuple[str, ...] | None, bad: BadRows, use_threads: bool):
    """The table and the skipped line numbers; bad rows are reported only when numbered."""
    skipped: list[int] = []

    def on_invalid(row) -> str:
        skipped.append(row.number if row.number is not None else -1)
        if row.number is not None and row.text.strip():
            bad.add(
                f"{path.name} line {row.number}",
                f"expected {row.expected_columns} fields, found {row.actual_columns}: {row.text[:80]!r}",
            )
        return "skip"

    delimiter = _sniff_delimiter(path)
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                use_threads=use_threads, block_size=16 << 20, column_names=list(header) if header else None
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, invalid_row_handler=on_invalid, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=_all_strings(path, header, delimiter),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as e:
        raise InputError(f"{path.name}: cannot read as CSV: {str(e).splitlines()[0]}") from None
    return table, skipped


def _sniff_delimiter(path: Path) -> str:
    """Comma, or the separator of a semicolon- or tab-separated file."""
    first = _first_line(path)
    return max((",", ";", "\t"), key=first.count) if first else ","


def _all_strings(path: Path, header: tuple[str, ...] | None, delimiter: str) -> dict:
    """Column types that keep every column a string."""
    names = header or next(csv.reader([_first_line(path)], delimiter=delimiter), [])
    return {name: pa.string() for name in names}


def _first_line(path: Path) -> str:
    """The first line of a plain or gzip-compressed text file."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    # utf-8-sig: Excel's "CSV UTF-8" starts with a byte order mark, which the CSV reader drops too
    with opener(path, "rt", encoding="utf-8-sig", errors="replace") as f:
        return f.readline().rstrip("\r\n")


def renamed_columns(table: pa.Table, columns: dict[str, str]) -> pa.Table:
    names = [columns.get(n, n).strip() for n in table.column_names]
    return table.rename_columns(names)


def read_events(
    path: Path | None,
    preset: Preset,
    *,
    strict: bool = False,
    stream: pa.Table | None = None,
    stream_bad: BadRows | None = None,
) -> tuple[Events, BadRows]:
    """Read and validate events from files, from a table of streamed events, or both; raise InputError
    when nothing can be trained on. ``stream`` has the contract's column names as strings; with
    ``stream_bad``, its bad rows are counted there (never strict) instead of with the files'."""
    bad = BadRows(strict=strict)
    table, sources, lines, label = _event_table(path, preset, stream, bad)
    split = table.num_rows - (stream.num_rows if stream is not None and stream_bad is not None else 0)
    ids, codes, ts, qty = _valid_rows(table, sources, lines, (bad, stream_bad or BadRows()), split, label)
    del table  # the raw columns: only the valid rows' trimmed ids go on
    if not np.isin(codes, (VIEW, PURCHASE)).any():
        raise InputError(f"{label}: no purchases or views to learn from")
    user, user_ids = _coded(ids["user_id"])
    item, item_ids = _coded(ids["item_id"])
    categories = {}
    if "category_id" in ids.column_names:
        pairs = pa.table({"i": ids["item_id"], "c": ids["category_id"]}).group_by("i").aggregate([("c", "max")])
        categories = dict(zip(pairs["i"].to_pylist(), pairs["c_max"].to_pylist()))
    del ids
    events = Events(
        timestamp=ts,
        user=user,
        item=item,
        event=codes.astype(np.int8),
        quantity=np.minimum(qty, 10_000).astype(np.int32),
        user_ids=user_ids.to_numpy(zero_copy_only=False).astype(USER_IDS),
        item_ids=item_ids.to_numpy(zero_copy_only=False),
        item_categories={k: v for k, v in categories.items() if v},
    )
    return events, bad


def _event_table(
    path: Path | None, preset: Preset, stream: pa.Table | None, bad: BadRows
) -> tuple[pa.Table, list[str], list[np.ndarray], str]:
    """Every source's events as one table of strings, with each part's source name and line numbers."""
    parts: list[pa.Table] = []
    lines: list[np.ndarray] = []  # per part, the line (or entry) number of each row
    files = input_files(path) if path is not None else []
    sources = [f.name for f in files]
    label = str(path) if path is not None else "the event stream"
    for file in files:
        t = read_table(file, preset.events_header, bad)
        table = renamed_columns(t.table, preset.events_columns)
        missing = [c for c in EVENT_COLUMNS if c not in table.column_names]
        if missing:
            raise InputError(
                f"{file.name}: missing column(s) {', '.join(missing)}; found {', '.join(table.column_names)}"
                " (need timestamp, user_id, item_id, event; or pass --preset)"
            )
        keep = [c for c in (*EVENT_COLUMNS, "quantity", "category_id") if c in table.column_names]
        parts.append(table.select(keep))  # the other columns are freed with ``t``
        lines.append(t.lines)
    if stream is not None:
        label = f"{path} and the event stream" if path is not None else label
        sources.append("event stream")
        parts.append(stream)
        lines.append(np.arange(1, stream.num_rows + 1))
    if not parts or sum(p.num_rows for p in parts) == 0:
        raise InputError(f"{label}: no events")
    table = pa.concat_tables(parts, promote_options="default")
    if "quantity" in table.column_names:  # a source without quantities: one of each
        table = table.set_column(table.column_names.index("quantity"), "quantity", pc.fill_null(table["quantity"], ""))
    return table, sources, lines, label


def _valid_rows(
    table: pa.Table,
    sources: list[str],
    lines: list[np.ndarray],
    bads: tuple[BadRows, BadRows],
    split: int,
    label: str,
) -> tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]:
    """The valid rows: their trimmed ids (and categories), event codes, unix seconds and quantities; the others
    counted in ``bads`` (the rows before ``split``, then those from it on), the first few with their line."""
    part_starts = np.cumsum([0] + [len(numbers) for numbers in lines])

    def reject(mask: np.ndarray, reason_of) -> None:
        """Count the rows in mask as bad, with the first few as examples."""
        for bad, rows in ((bads[0], np.flatnonzero(mask[:split])), (bads[1], split + np.flatnonzero(mask[split:]))):
            for r in rows[:MAX_EXAMPLES]:
                part = int(np.searchsorted(part_starts, r, side="right")) - 1
                source = sources[part]
                number = lines[part][r - part_starts[part]]
                bad.add(f"{source} {'entry' if source == 'event stream' else 'line'} {number}", reason_of(r))
            bad.count += max(0, len(rows) - MAX_EXAMPLES)

    ok = np.ones(table.num_rows, dtype=bool)
    event_col = table["event"]
    codes = _event_codes(event_col)
    reject(codes < 0, lambda r: f"unknown event {event_col[int(r)].as_py()!r}")
    ok &= codes >= 0
    for name in ("user_id", "item_id"):
        col = pc.utf8_trim_whitespace(table[name])
        table = table.set_column(table.column_names.index(name), name, col)
        invalid = _invalid_ids(col)
        reject(invalid & ok, lambda r, n=name, c=col: f"{n} {c[int(r)].as_py()!r} {ID_RULE}")
        ok &= ~invalid
    seconds = timestamps_of(table["timestamp"])
    unreadable = np.isnan(seconds)
    reject(unreadable & ok, lambda r: f"bad timestamp {table['timestamp'][int(r)].as_py()!r}")
    ok &= ~unreadable
    now = time.time()
    with np.errstate(invalid="ignore"):
        outside = ~unreadable & ~((seconds >= EARLIEST_TIME) & (seconds <= latest_time(now)))
    reject(outside & ok, lambda r: f"timestamp {table['timestamp'][int(r)].as_py()!r} {window_rule(now)}")
    ok &= ~outside
    ts = np.where(ok, seconds, 0).astype(np.int64)
    if "quantity" in table.column_names:
        qty = _quantities(table["quantity"])
        reject((qty < 1) & ok, lambda r: f"bad quantity {table['quantity'][int(r)].as_py()!r}")
        ok &= qty >= 1
    else:
        qty = np.ones(table.num_rows, dtype=np.int64)
    if not ok.any():
        count, first = sum(b.count for b in bads), [*bads[0].examples, *bads[1].examples][0]
        raise InputError(f"{label}: no valid events ({count} bad rows; first: {first})")
    bads[0].kept, bads[1].kept = int(ok[:split].sum()), int(ok[split:].sum())
    ids = table.select([c for c in ("user_id", "item_id", "category_id") if c in table.column_names])
    if ok.all():
        return ids, codes, ts, qty
    return ids.filter(pa.array(ok)), codes[ok], ts[ok], qty[ok]


def _coded(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Each row's code (int32) and the distinct values by code, numbered in order of first appearance."""
    distinct = pc.unique(column)
    return pc.index_in(column, value_set=distinct).to_numpy().astype(np.int32, copy=False), distinct


def _invalid_ids(column: pa.ChunkedArray) -> np.ndarray:
    """True where a row's id breaks the contract's id rule: ASCII ids by one vectorized regex, the
    others (Cyrillic, CJK, ...) by ``is_valid_id`` once per distinct value."""
    ascii_ok = pc.fill_null(pc.match_substring_regex(column, ID_REGEX), False)
    others = pc.unique(pc.filter(column, pc.invert(ascii_ok))).to_pylist()
    good = pa.array([v for v in others if v is not None and is_valid_id(v)], type=column.type)
    ok = pc.or_(ascii_ok, pc.fill_null(pc.is_in(column, value_set=good), False))
    return ~ok.to_numpy(zero_copy_only=False)


def _event_codes(column: pa.ChunkedArray) -> np.ndarray:
    """Each event's code, -1 where unknown."""
    names = list(EVENT_ALIASES)
    position = pc.index_in(pc.utf8_lower(pc.utf8_trim_whitespace(column)), value_set=pa.array(names))
    position = position.to_numpy(zero_copy_only=False)
    lookup = np.array([EVENT_ALIASES[n] for n in names] + [-1], dtype=np.int64)
    position = np.where(np.isnan(position.astype(float)), len(names), position).astype(np.int64)
    return lookup[position]


def timestamps_of(column: pa.ChunkedArray) -> np.ndarray:
    """Unix seconds (float64) from unix seconds, milliseconds or ISO-8601; NaN where unreadable.

    Huge numbers stay floats (``inf`` past float range), so the caller's window check sees them."""
    text = pc.utf8_trim_whitespace(column)
    numeric = pc.match_substring_regex(text, r"^[0-9]+(\.[0-9]+)?$").to_numpy(zero_copy_only=False)
    out = np.full(len(text), np.nan, dtype=np.float64)
    if numeric.any():
        values = pc.cast(pc.filter(text, pa.array(numeric)), pa.float64()).to_numpy()
        # milliseconds from 1973 on are above 1e11; seconds stay below it until the year 5138
        out[numeric] = np.floor(np.where(values > MILLISECONDS_FROM, values / 1000, values))
    others = np.flatnonzero(~numeric)
    if len(others):
        values = pc.take(text, pa.array(others)).to_pylist()
        out[others] = [iso_seconds(v) for v in values]
    return out


def _quantities(column: pa.ChunkedArray) -> np.ndarray:
    """Integer quantities, 1 where empty, 0 where invalid."""
    text = pc.utf8_trim_whitespace(column)
    empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
    valid = pc.match_substring_regex(text, r"^[0-9]+(\.0*)?$").to_numpy(zero_copy_only=False)
    out = np.zeros(len(text), dtype=np.int64)
    if valid.any():
        out[valid] = pc.cast(pc.filter(text, pa.array(valid)), pa.float64()).to_numpy().astype(np.int64)
    out[empty] = 1
    return out
