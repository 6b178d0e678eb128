"""Read an evaluation's input through the trainer's own readers and catalogue."""

from dataclasses import dataclass
from pathlib import Path

from training.lists.candidates import Catalogue
from training.inputs.presets import get_preset
from training.inputs.readers import Catalog, Events, read_catalog, read_categories, read_events
from training.train import _catalogue, _item_universe


@dataclass
class Dataset:
    """Events with the catalogue over the same item codes."""

    events: Events
    catalogue: Catalogue


def load(events: Path, preset: str | None = None, catalog: Path | None = None,
         categories: Path | None = None) -> Dataset:
    """Read events (and a catalog and category tree) as ``recsvc train`` does."""
    p = get_preset(preset)
    ev, _ = read_events(events, p)
    cat = read_catalog(catalog, p)[0] if catalog else Catalog({})
    parents = read_categories(categories, p)[0] if categories else {}
    item_ids = _item_universe(ev, cat)
    _, catalogue, _ = _catalogue(item_ids, ev, cat, parents)
    if len(item_ids) > len(ev.item_ids):  # catalog-only items get codes after the events' items
        ev.item_ids = item_ids
    return Dataset(ev, catalogue)
