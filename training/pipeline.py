"""The one compute path: a dataset in, every list a model version publishes out.

``recsvc train`` publishes what ``build`` returns; the evaluation publishes what ``build``
returns on the train half of a split and reads it back through the service. Nothing else
computes a served list.
"""

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from training import interactions, model
from training.config import TrainConfig
from training.inputs.dataset import Dataset
from training.interactions import Interactions
from training.lists import candidates, complements, generators, holdout, ranker, reasons, retention
from training.model import Factors
from training.ragged import Ragged, grouped

log = logging.getLogger(__name__)


@dataclass
class Lists:
    """Everything one run publishes, over the dataset's user, item and category codes."""

    dataset: Dataset
    config: TrainConfig
    inter: Interactions
    factors: Factors
    pool: np.ndarray  # item codes the ALS lists and the fold-in may recommend
    picks: Ragged  # per user: blended picks
    because: np.ndarray  # per pick: the history item that explains it, the item itself (re-offered), or -1
    similar: Ragged  # per item: substitutes
    also_bought: Ragged  # per item: complements, what its buyers bought next
    popular: Ragged  # one row: the most popular available items
    popular_in: Ragged  # per category (children included)
    offers: Ragged  # per user: offer categories
    offer_reasons: np.ndarray  # per offer: records.VIEWED_NOT_BOUGHT or records.AFFINITY
    retention: retention.RetentionData
    ranker: ranker.RankerReport
    also_bought_order: complements.AlsoBoughtReport
    timings_s: dict[str, float] = field(default_factory=dict)


class Timer:
    """Seconds per named step, logged as they end."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.steps: dict[str, float] = {}

    def step(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = round(now - self.last, 3)
        self.last = now
        log.info("%s: %.2f s", name, self.steps[name])

    def total(self) -> float:
        return round(time.perf_counter() - self.start, 3)


def build(data: Dataset, config: TrainConfig) -> Lists:
    """Fit the model on the dataset and precompute every published list."""
    timer = Timer()
    catalogue = data.catalogue
    inter = interactions.build(data.events, config, n_items=len(data.item_ids))
    timer.step("interactions")
    factors = model.fit(inter.strength, config)
    timer.step("fit")
    pool = candidates.candidate_pool(inter, factors, catalogue, config.candidate_pool)
    similar = candidates.similar_items(factors, pool, config.neighbours_per_item)
    alternatives = complements.co_viewed_alternatives(inter.strength, catalogue, config.recent_per_user)
    similar = complements.substitutes(
        similar, alternatives, catalogue, config.substitute_boost, config.neighbours_per_item
    )
    timer.step("similar")
    neighbours = generators.item_neighbours(inter.strength, config.neighbours_per_item)  # item-kNN (BM25), once
    hold = holdout.of(data.events, len(data.item_ids), config)  # the newest window, for the learned orders
    picks, because, report = personalized_picks(data, inter, factors, pool, neighbours, config, hold)
    timer.step("picks")
    also_order = (
        complements.choose_order(hold, catalogue, config)
        if config.also_bought_validated
        else complements.AlsoBoughtReport(
            "fixed", "set by also_bought_validated", complements.AlsoBoughtOrder.of(config)
        )
    )
    also = complements.also_bought_next(data.events, catalogue, config, config.neighbours_per_item, also_order.order)
    also = complements.also_bought_blend(
        also, neighbours, catalogue, config, config.neighbours_per_item, also_order.order
    )
    overall, per_category = candidates.popular(inter, catalogue, config.popular_items)
    offers, offer_reasons = candidates.category_offers(inter, picks, catalogue, config.offers_per_user)
    timer.step("lists")
    retained = retention.build(
        data.events, inter.strength, catalogue.category, catalogue.n_categories, data.prices, inter.now, config
    )
    timer.step("retention")
    return Lists(
        data,
        config,
        inter,
        factors,
        pool,
        picks,
        because,
        similar,
        also,
        overall,
        per_category,
        offers,
        offer_reasons,
        retained,
        report,
        also_order,
        timings_s=timer.steps,
    )


PICKS_CHUNK = 20_000
"""Users whose candidates are gathered, ranked and explained at a time: memory stays bounded."""


def personalized_picks(
    data: Dataset,
    inter: Interactions,
    factors: Factors,
    pool: np.ndarray,
    neighbours: sp.csr_matrix,
    config: TrainConfig,
    hold: holdout.Holdout | None = None,
) -> tuple[Ragged, np.ndarray, ranker.RankerReport]:
    """The picks of every active user in the order ``config.picks_ranker`` asks for, each with its reason."""
    if config.picks_ranker == "learned":
        learned, report = ranker.learn(data, hold, config.candidate_pool, config)
        order_by = learned if learned is not None else report.kind
    else:
        order_by, report = config.picks_ranker, ranker.RankerReport(config.picks_ranker, "set by picks_ranker")
    gens = ranker.generators_for(inter, factors, pool, data.catalogue, config, neighbours)
    n_users, n_items = inter.strength.shape
    facts = ranker.EventFacts.of(data.events, inter.now, n_users, n_items)
    similar = reasons.similarity(inter.strength, config.knn_neighbours)
    strong = reasons.strong_similarity(similar, inter.strength, config.reason_min_similarity)
    active = np.flatnonzero(np.diff(inter.strength.indptr) >= config.picks_min_items)
    rows, items, scores, because = [], [], [], []
    for start in range(0, len(active), PICKS_CHUNK):
        users = active[start : start + PICKS_CHUNK]
        found = ranker.gather(gens, data, facts, users, config)
        chosen, score = ranker.top_picks(found, order_by, config.picks_per_user)
        rows.append(found.users[chosen])
        items.append(found.items[chosen])
        scores.append(score)
        because.append(reasons.explain(found, chosen, gens.history(users), strong))
    if not rows:
        return Ragged.empty(n_users), np.zeros(0, np.int64), report
    picks = grouped(np.concatenate(rows), np.concatenate(items), np.concatenate(scores), n_users)
    return picks, np.concatenate(because), report
