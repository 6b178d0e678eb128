"""The training input as one table of codes: events, the item universe, categories and attributes."""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from recsvc.contract.units import ITEM_ATTRIBUTES
from training.catalogue import CodedCatalog
from training.inputs.catalog_files import read_catalog, read_categories
from training.inputs.presets import get_preset
from training.inputs.readers import BadRows, Catalog, Events, InputError, read_events


@dataclass
class Inputs:
    """Where the training data is and how to read it."""

    events: Path | None = None
    catalog: Path | None = None
    categories: Path | None = None
    preset: str | None = None
    strict: bool = False
    stream: bool = False  # also learn from the events posted to the API, and trim them once published
    max_bad_rows: float = 0.05  # below 1 a share of each input's rows, from 1 on a count (see ``check_bad_rows``)


@dataclass
class Dataset:
    """Events and catalog over one code space: item code i is ``item_ids[i]`` everywhere."""

    events: Events
    item_ids: np.ndarray  # the events' items, then catalog items no event touched
    category_ids: list[str]
    catalogue: CodedCatalog
    attrs: list[str]  # per item code, the JSON of its attributes: those answers show, then the extra ones
    prices: np.ndarray  # float64 per item code, NaN where unknown
    bad: dict[str, BadRows] = field(default_factory=dict)
    attribute_types: dict[str, str] = field(default_factory=dict)  # extra attribute -> number, boolean or string


def read(inputs: Inputs, stream: pa.Table | None = None) -> Dataset:
    """Read and validate every input file (and the streamed events); bad input raises InputError."""
    preset = get_preset(inputs.preset)
    stream_bad = BadRows()
    events, bad_events = read_events(inputs.events, preset, strict=inputs.strict, stream=stream, stream_bad=stream_bad)
    bad = {"events": bad_events}
    catalog = Catalog({})
    if inputs.catalog:
        catalog, bad["catalog"] = read_catalog(inputs.catalog, preset, strict=inputs.strict)
    parents: dict[str, str | None] = {}
    if inputs.categories:
        parents, bad["categories"] = read_categories(inputs.categories, preset, strict=inputs.strict)
    check_bad_rows(bad, inputs.max_bad_rows)
    if stream is not None:  # what an older server let in: skipped and reported, consumed with the rest
        bad["event stream"] = stream_bad
    dataset = assemble(events, catalog, parents)
    dataset.bad = bad
    return dataset


def check_bad_rows(bad: dict[str, BadRows], limit: float) -> None:
    """Raise InputError when an input has more bad rows than ``limit``: a share below 1, else a count.

    Skipped columns are reported, but lose no row, so they do not count."""
    for name, found in bad.items():
        if found.rows == 0 or (found.rows <= limit if limit >= 1 else found.share <= limit):
            continue
        allowed = f"{limit:g} rows" if limit >= 1 else f"{limit:.1%} of rows" if limit else "none"
        raise InputError(
            f"{name}: {found.rows:,} bad rows of {found.rows + found.kept:,} ({found.share:.1%}), more than "
            f"--max-bad-rows allows ({allowed}); first: {found.examples[0] if found.examples else '?'}"
        )


def assemble(events: Events, catalog: Catalog, parents: dict[str, str | None]) -> Dataset:
    """Give catalog-only items codes after the events' items; code categories, availability and attributes."""
    seen = set(events.item_ids.tolist())
    extra = [i for i in catalog.items if i not in seen]
    item_ids = np.concatenate((events.item_ids, np.array(extra, dtype=object))) if extra else events.item_ids
    events.item_ids = item_ids
    known = [catalog.items.get(i, {}) for i in item_ids]
    item_category = [k.get("category_id") or events.item_categories.get(i) for i, k in zip(item_ids, known)]
    category_ids = sorted(set(parents) | {p for p in parents.values() if p} | {c for c in item_category if c})
    code = {c: n for n, c in enumerate(category_ids)}
    catalogue = CodedCatalog(
        category=np.array([code.get(c, -1) if c else -1 for c in item_category], dtype=np.int32),
        available=np.array([k.get("available", True) for k in known], dtype=bool),
        category_parent=np.array([code.get(parents.get(c) or "", -1) for c in category_ids], dtype=np.int32),
    )
    names = (*ITEM_ATTRIBUTES, *catalog.types)
    attrs = []
    for item_id, category, k in zip(item_ids, item_category, known):
        entry = {"item_id": item_id, "category_id": category, **{a: k[a] for a in names if a in k}}
        attrs.append(json.dumps(entry, separators=(",", ":")))
    prices = np.array([k.get("price", np.nan) for k in known], dtype=np.float64)
    return Dataset(events, item_ids, category_ids, catalogue, attrs, prices, attribute_types=dict(catalog.types))
