"""The choices a run makes on the shop's newest window: the order of the picks, of also-bought, of the category
offers and of buy-again, and how new items are placed (with every item's content vectors, which that placement
and the similar lists' tail read).

They need only the dataset, not the model: ``pipeline.fit`` computes them in a thread beside the model's fit
(``beside``), so the second core works while the first fits, and the run waits for them before the lists, which
read them.
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import scipy.sparse as sp

from training.config import TrainConfig
from training.inputs.dataset import Dataset
from training.lists import also_ranker, buy_again_order, complements, content, content_order, holdout, offers_order
from training.lists import ranker as ranker_
from training.lists.also_bought_order import AlsoBoughtReport
from training.lists.buy_again_order import BuyAgainReport

T = TypeVar("T")
BESIDE_MAX_EVENTS = 10_000_000
"""Events up to which the choices run beside the fit. Beyond, the window's copy of the history beside the fit's
work sets the coordinator's peak: at 10x RetailRocket (28M events) 8.32 GiB, against 7.80 one after the other."""


@dataclass
class WindowChoices:
    """What the window chose."""

    order: object  # what orders the picks: a LightGBM booster, or the name of a fixed order
    ranker: ranker_.RankerReport
    also_bought_order: AlsoBoughtReport
    offers_order: offers_order.OffersReport
    buy_again_order: BuyAgainReport
    new_items: content_order.NewItemsReport
    seconds: float  # how long the choices took


def choose(data: Dataset, config: TrainConfig) -> tuple[WindowChoices, sp.csr_matrix]:
    """Every choice made on the newest window (``holdout``), as the configuration asks for each, and every item's
    content vectors (``content.vectors``), which the new items' choice reads and the similar lists' tail too."""
    started = time.perf_counter()
    catalogue = data.catalogue
    hold = holdout.of(data.events, len(data.item_ids), config)  # a copy of the history: freed on return
    order, report = picks_order(data, config, hold)
    also_order = (
        also_ranker.choose(hold, catalogue, config)
        if config.also_bought_validated
        else AlsoBoughtReport("fixed", "set by also_bought_validated", complements.AlsoBoughtOrder.of(config))
    )
    offers = offers_order.choose(hold, catalogue, config)
    again_order = buy_again_order.choose(hold, catalogue, config)
    unit = content.vectors(data.attrs, data.category_ids, catalogue)  # every item's content
    new_items = new_items_order(hold, data, unit, config)
    seconds = round(time.perf_counter() - started, 3)
    return WindowChoices(order, report, also_order, offers, again_order, new_items, seconds), unit


def beside(work: Callable[[], T], data: Dataset, config: TrainConfig) -> tuple[T, tuple[WindowChoices, sp.csr_matrix]]:
    """``work()`` in this thread while ``choose`` runs in another; both results. The heavy parts of each (ALS and
    LightGBM fits, sparse products, sorts) release the GIL, so on two cores they take about the time of the longer.
    An error in either is raised once both are done. Past ``BESIDE_MAX_EVENTS`` events, one after the other."""
    if len(data.events.user) > BESIDE_MAX_EVENTS:
        first = choose(data, config)
        return work(), first
    with ThreadPoolExecutor(1, thread_name_prefix="window") as lane:
        chosen = lane.submit(choose, data, config)
        result = work()
        return result, chosen.result()


def picks_order(
    data: Dataset, config: TrainConfig, hold: holdout.Holdout | None
) -> tuple[object, ranker_.RankerReport]:
    """What orders the picks, as ``config.picks_ranker`` asks: a learned booster or a fixed order's name."""
    if config.picks_ranker != "learned":
        return config.picks_ranker, ranker_.RankerReport(config.picks_ranker, "set by picks_ranker")
    learned, report = ranker_.learn(data, hold, config.candidate_pool, config)
    return (learned if learned is not None else report.kind), report


def new_items_order(
    hold: holdout.Holdout | None, data: Dataset, unit: sp.csr_matrix, config: TrainConfig
) -> content_order.NewItemsReport:
    """How items added by a catalog update are placed: chosen on the window, or as ``new_items_order`` sets."""
    if config.new_items_order == "chosen":
        return content_order.choose(hold, data, unit)
    return content_order.fixed(config.new_items_order, "set by new_items_order")
