"""The one compute path: a dataset in, every list a model version publishes out.

``recsvc train`` publishes what ``build`` returns; the evaluation publishes what ``build``
returns on the train half of a split and reads it back through the service. Nothing else
computes a served list.

A run has two phases. ``fit`` computes everything that is not per user: the model, the item
lists, the retention data and the order of the picks (``ranker.learn``). ``Scorer.picks`` and
``user_lists`` then compute the picks, their reasons and the category offers of any set of users,
each user from their own history alone: ``build`` asks for every user at once, a sharded run
(``training.shards``) for one shard's users per process, and both publish the same records.
"""

import logging
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from recsvc.contract.content import BY_CONTENT
from training import interactions, memory, model, window
from training.catalogue import CodedCatalog
from training.config import TrainConfig
from training.inputs.dataset import Dataset
from training.inputs.readers import Events
from training.interactions import Interactions
from training.lists import (
    also_ranker,
    candidates,
    complements,
    content,
    content_order,
    generators,
    offers_order,
    pick_features,
    ranker,
    reasons,
    retention,
)
from training.lists.also_bought_order import AlsoBoughtReport
from training.model import Factors
from training.ragged import Ragged, grouped

log = logging.getLogger(__name__)


@dataclass
class Fitted:
    """What a run computes before any user's picks, over the dataset's user, item and category codes."""

    dataset: Dataset
    config: TrainConfig
    inter: Interactions
    factors: Factors
    pool: np.ndarray  # item codes the ALS lists and the fold-in may recommend
    neighbours: sp.csr_matrix  # item-kNN (BM25): a generator of the picks and a part of also-bought
    order: object  # what orders the picks: a LightGBM booster, or the name of a fixed order
    similar: Ragged  # per item: substitutes (content mixed in for items with few events)
    item_events: np.ndarray  # float32 per item: its events, which lift it among content neighbours
    new_items: content_order.NewItemsReport  # how an item added by a catalog update is placed
    also_bought: Ragged  # per item: complements, what its buyers bought next
    popular: Ragged  # one row: the most popular available items
    popular_in: Ragged  # per category (children included)
    retention: retention.RetentionData
    facts: pick_features.EventFacts  # what the picks' features read of the events
    strong: sp.csc_matrix  # the similarities a named reason needs (``reasons.strong_similarity``)
    ranker: ranker.RankerReport
    also_bought_order: AlsoBoughtReport
    offers_order: offers_order.OffersReport
    timings_s: dict[str, float]


@dataclass
class UserLists:
    """The per-user lists of a set of users; rows of users outside the set are empty."""

    picks: Ragged  # per user: ordered picks
    because: np.ndarray  # per pick: the history item that explains it, the item itself (re-offered), or a reason
    offers: Ragged  # per user: offer categories
    offer_reasons: np.ndarray  # per offer: records.VIEWED_NOT_BOUGHT or records.AFFINITY


@dataclass
class Lists(Fitted, UserLists):
    """Everything one run publishes: the fitted model and lists, and every user's lists."""


class Timer:
    """Seconds per named step, logged as they end with the process's peak memory so far; each step's freed
    memory is given back to the system as it ends."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.steps: dict[str, float] = {}

    def step(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = round(now - self.last, 3)
        self.last = now
        memory.give_back()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
        log.info("%s: %.2f s (peak memory %.2f GiB)", name, self.steps[name], peak)

    def mark(self) -> None:
        """Start the next step now: the time since the last one was counted elsewhere."""
        self.last = time.perf_counter()

    def total(self) -> float:
        return round(time.perf_counter() - self.start, 3)


def build(data: Dataset, config: TrainConfig) -> Lists:
    """Fit the model on the dataset and precompute every published list."""
    fitted = fit(data, config)
    timer = Timer()
    scorer = scorer_of(fitted)
    users = user_lists(scorer, active_users(fitted.inter, config))
    timer.step("picks")
    timings = {**fitted.timings_s, **timer.steps}
    return Lists(**{**vars(fitted), **vars(users), "timings_s": timings})


def fit(data: Dataset, config: TrainConfig) -> Fitted:
    """The model, the item lists, the retention data and the order of the picks: all but the per-user lists.

    The choices made on the newest window (``window.choose``) run in a thread beside the similarities behind the
    reasons, item-kNN and the model's fit, which do not read them: timed as ``picks_order``, a span beside
    ``evidence`` and ``fit``, and ``window_wait`` is how long the run then waited for them. The similar lists come
    after, with every core, and not beside the window's copy of the history. Steps whose work is large and whose
    result is small run before the lists, while little else is held."""
    timer = Timer()
    catalogue = data.catalogue
    inter = interactions.build(data.events, config, n_items=len(data.item_ids))
    timer.step("interactions")

    def evidence_and_model() -> tuple[pick_features.EventFacts, sp.csc_matrix, sp.csr_matrix, Factors]:
        facts, strong = evidence(data, inter, config)
        neighbours = generators.item_neighbours(inter.strength, config.neighbours_per_item)  # item-kNN (BM25), once
        timer.step("evidence")
        factors = model.fit(inter.strength, config)
        timer.step("fit")
        return facts, strong, neighbours, factors

    (facts, strong, neighbours, factors), (chosen, unit) = window.beside(evidence_and_model, data, config)
    timer.step("window_wait")  # how long the choices outlasted the model
    pool = candidates.candidate_pool(inter, factors, catalogue, config.candidate_pool)
    similar = complements.substitutes(
        candidates.similar_items(factors, pool, config.neighbours_per_item),
        complements.co_viewed_alternatives(inter.strength, catalogue, config.recent_per_user),
        catalogue,
        config.substitute_boost,
        config.neighbours_per_item,
    )
    item_events = np.bincount(data.events.item, minlength=len(data.item_ids)).astype(np.float32)
    similar = content_tail(unit, catalogue, similar, item_events, config, chosen.new_items)
    del unit
    timer.step("similar")
    also = also_bought(data.events, neighbours, catalogue, config, chosen.also_bought_order)
    overall, per_category = candidates.popular(inter, catalogue, config.popular_items)
    timer.step("lists")
    retained = retention.build(
        data.events,
        inter.strength,
        catalogue.category,
        catalogue.n_categories,
        data.prices,
        inter.now,
        config,
        chosen.buy_again_order.to_dict(),
    )
    timer.step("retention")
    return Fitted(
        dataset=data,
        config=config,
        inter=inter,
        factors=factors,
        pool=pool,
        neighbours=neighbours,
        order=chosen.order,
        similar=similar,
        item_events=item_events,
        new_items=chosen.new_items,
        also_bought=also,
        popular=overall,
        popular_in=per_category,
        retention=retained,
        ranker=chosen.ranker,
        also_bought_order=chosen.also_bought_order,
        offers_order=chosen.offers_order,
        facts=facts,
        strong=strong,
        timings_s={"interactions": timer.steps["interactions"], "picks_order": chosen.seconds, **timer.steps},
    )


def also_bought(
    events: Events, neighbours: sp.csr_matrix, catalogue: CodedCatalog, config: TrainConfig, order: AlsoBoughtReport
) -> Ragged:
    """Each item's also-bought list, in the order the window chose: learned, or a blend of bought-next and item-kNN."""
    k = config.neighbours_per_item
    if order.kind == "learned":
        together = complements.Together.of(events, len(catalogue.category), config)
        evidence = also_ranker.PairEvidence.of(together, neighbours, catalogue, together.evidenced(config))
        return also_ranker.also_bought_learned(order.model, evidence, k)
    after = complements.also_bought_next(events, catalogue, config, k, order.order)
    return complements.also_bought_blend(after, neighbours, catalogue, config, k, order.order)


def content_tail(
    unit: sp.csr_matrix,
    catalogue: CodedCatalog,
    similar: Ragged,
    item_events: np.ndarray,
    config: TrainConfig,
    order: content_order.NewItemsReport,
) -> Ragged:
    """The similar lists with each item's content neighbours mixed in by its ``content.tail_weights``, lifted by
    the popularity weight chosen for new items; none where the shop's new items are placed by their category."""
    weights = content.tail_weights(item_events, config.content_shrink)
    tail = np.flatnonzero(weights > 0)
    if not len(tail) or order.order != BY_CONTENT:
        return similar
    near = content.neighbours(
        unit, tail, catalogue.available, item_events, config.neighbours_per_item, order.popularity_weight
    )
    return content.blended(similar, near, weights, config.neighbours_per_item)


def evidence(data: Dataset, inter: Interactions, config: TrainConfig) -> tuple[pick_features.EventFacts, sp.csc_matrix]:
    """What scoring reads of the whole history beyond the generators: the facts of the events (the picks'
    features) and the similarities a named reason needs."""
    facts = pick_features.EventFacts.of(data.events, inter.now, *inter.strength.shape)
    similar = reasons.similarity(inter.strength, config.knn_neighbours)
    return facts, reasons.strong_similarity(similar, inter.strength, config.reason_min_similarity)


PICKS_CHUNK = 5_000
"""Users whose candidates are gathered, ranked and explained at a time: memory stays bounded. The chunks are also
the unit of a sharded run (``training.shards``): the rounding of a matrix product depends on the rows computed
together, so a shard scores whole chunks of the single process's, and its picks are the same to the last bit.
5,000 scores as fast as 20,000 (17.0-17.3 s against 18.0-18.8 s for the picks of the RetailRocket-shaped shop,
identical picks) and deals 26 chunks to the shards at that scale instead of 7."""


@dataclass
class Scorer:
    """What scoring a user needs beyond their own history: the generators, the facts of the events,
    the similarities behind the reasons and the order. Built once per history (or loaded by a shard)."""

    data: Dataset  # its catalog codes and prices
    gens: generators.Generators
    facts: pick_features.EventFacts
    strong: sp.csc_matrix  # the similarities a named reason needs (``reasons.strong_similarity``)
    order: object
    config: TrainConfig
    chunk: int = field(default_factory=lambda: PICKS_CHUNK)  # read at creation: a test may change the constant

    @classmethod
    def of(
        cls,
        data: Dataset,
        inter: Interactions,
        factors: Factors,
        pool: np.ndarray,
        neighbours: sp.csr_matrix,
        order: object,
        config: TrainConfig,
        facts: pick_features.EventFacts | None = None,
        strong: sp.csc_matrix | None = None,
    ) -> "Scorer":
        """The scorer of one history, over every user; the facts and similarities (``evidence``) computed unless
        both are given."""
        gens = ranker.generators_for(inter, factors, pool, data.catalogue, config, neighbours)
        if facts is None or strong is None:
            facts, strong = evidence(data, inter, config)
        return cls(data, gens, facts, strong, order, config)

    def picks(self, users: np.ndarray) -> tuple[Ragged, np.ndarray]:
        """The picks of the users (ascending codes; other rows stay empty), in the scorer's order, with reasons."""
        n_users = self.gens.inter.strength.shape[0]
        rows, items, scores, because = [], [], [], []
        for start in range(0, len(users), self.chunk):
            chunk = users[start : start + self.chunk]
            found = pick_features.gather(self.gens, self.data, self.facts, chunk, self.config)
            chosen, score = ranker.top_picks(found, self.order, self.config.picks_per_user)
            rows.append(found.users[chosen])
            items.append(found.items[chosen])
            scores.append(score)
            because.append(reasons.explain(found, chosen, self.gens.history(chunk), self.strong))
        if not rows:
            return Ragged.empty(n_users), np.zeros(0, np.int64)
        picks = grouped(np.concatenate(rows), np.concatenate(items), np.concatenate(scores), n_users)
        return picks, np.concatenate(because)


def scorer_of(fitted: Fitted) -> Scorer:
    """The scorer of a fitted run, over every user."""
    f = fitted
    return Scorer.of(f.dataset, f.inter, f.factors, f.pool, f.neighbours, f.order, f.config, f.facts, f.strong)


def active_users(inter: Interactions, config: TrainConfig) -> np.ndarray:
    """The users who get precomputed picks: at least ``picks_min_items`` distinct items."""
    return np.flatnonzero(np.diff(inter.strength.indptr) >= config.picks_min_items)


def user_lists(scorer: Scorer, users: np.ndarray) -> UserLists:
    """The picks of ``users`` and the category offers of every user of the scorer (cheap: history and picks)."""
    picks, because = scorer.picks(users)
    inter, config = scorer.gens.inter, scorer.config
    offers, offer_reasons = candidates.category_offers(
        inter.strength, inter.purchases, picks, scorer.data.catalogue, config.offers_per_user
    )
    return UserLists(picks, because, offers, offer_reasons)


UserBlock = tuple[int, Interactions, UserLists]
"""A block of user rows: its first row, the rows' interactions and their lists."""


def user_lists_in_blocks(scorer: Scorer, users: np.ndarray, block: int) -> Iterator[UserBlock]:
    """``user_lists`` a block of rows at a time, so memory stays that of a block however many users there are:
    (first row, the block's interactions, its lists) for consecutive blocks covering every row. A block holds
    ``block`` of ``users`` (whole chunks of the scorer: the picks are the same to the last bit) and the rows up
    to the next block's first user."""
    inter = scorer.gens.inter
    n_users = inter.strength.shape[0]
    per_block = max(1, block // scorer.chunk) * scorer.chunk
    firsts = [0, *users[per_block::per_block].tolist(), n_users]
    for k, (lo, hi) in enumerate(zip(firsts[:-1], firsts[1:])):
        picks, because = scorer.picks(users[k * per_block : (k + 1) * per_block])
        rows = replace(
            inter,
            strength=inter.strength[lo:hi],
            purchases=inter.purchases[lo:hi],
            recent=inter.recent.rows_between(lo, hi),
            bought=inter.bought.rows_between(lo, hi),
        )
        picks = picks.rows_between(lo, hi)
        offers, reasons = candidates.category_offers(
            rows.strength, rows.purchases, picks, scorer.data.catalogue, scorer.config.offers_per_user
        )
        yield lo, rows, UserLists(picks, because, offers, reasons)
