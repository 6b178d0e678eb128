"""The shop's own newest window, held out: what the learned and validated orders are chosen on.

The newest ``ranker_label_days`` of events (at most ``ranker_label_share`` of the history's span)
are the labels; everything before them is the history the generators are refitted on. The picks'
ranker (``ranker.py``) and the also-bought order (``complements.py``) both learn on this one split.
"""

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from recsvc.contract.units import DAY
from training import interactions
from training.config import TrainConfig
from training.inputs.readers import Events
from training.interactions import Interactions
from training.lists import generators


@dataclass
class Holdout:
    """The history before the label window, and the window's events."""

    cut: int  # the window starts here (unix seconds)
    window_days: float
    events: Events  # every event, the window's included
    past: Events  # the events before ``cut``
    inter: Interactions  # of ``past``, over the dataset's user and item codes
    neighbours: sp.csr_matrix  # item-kNN (BM25) of ``past``, as the full run computes it

    @property
    def n_items(self) -> int:
        return self.inter.strength.shape[1]


def of(events: Events, n_items: int, config: TrainConfig) -> Holdout | None:
    """The split of the newest window, or None where no event comes before it."""
    now = interactions.clock(events.timestamp)
    first = int(np.quantile(events.timestamp, 0.01))  # strays aside
    window = min(config.ranker_label_days * DAY, config.ranker_label_share * (now - first))
    cut = now - int(window)
    before = events.timestamp < cut
    if not before.any():
        return None
    columns = ("timestamp", "user", "item", "event", "quantity")
    past = replace(events, **{f: getattr(events, f)[before] for f in columns})
    inter = interactions.build(past, config, n_items=n_items, latest=False)
    neighbours = generators.item_neighbours(inter.strength, config.neighbours_per_item)
    return Holdout(cut, window / DAY, events, past, inter, neighbours)
