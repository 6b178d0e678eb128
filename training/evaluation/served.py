"""What the service would answer, rebuilt from the trainer's precomputed lists.

The trainer's own functions build the lists; these functions then apply the rules of
``recsvc/answers.py``: users with picks get them; the others get what they viewed again,
then the similar items of what they viewed and the also-bought of what they bought, one
from each in turn; popular items fill the rest; nothing the user bought comes back.
"""

from dataclasses import dataclass
from itertools import chain, zip_longest

import numpy as np

from training.lists import blend, candidates, complements

from training import interactions, model
from training.lists.candidates import Catalogue
from training.config import TrainConfig
from training.ragged import Ragged
from training.inputs.readers import Events

LIGHT_HISTORY = 5  # as in recsvc.read.answers: history items whose lists serve a user the model did not fit


@dataclass
class ServedLists:
    """The lists one training run would publish."""

    inter: interactions.Interactions
    picks: Ragged
    similar: Ragged
    also: Ragged
    popular: np.ndarray  # item codes, most popular first
    available: np.ndarray


def build(events: Events, catalogue: Catalogue, config: TrainConfig) -> ServedLists:
    """Run the trainer's steps on the events, without publishing (as ``training/train.py`` builds them)."""
    n_items = len(catalogue.category)
    inter = interactions.build(events, config, n_items=n_items)
    factors = model.fit(inter.strength, config)
    pool = candidates.candidate_pool(inter, factors, catalogue, config.candidate_pool)
    similar = candidates.similar_items(factors, pool, config.neighbours_per_item)
    alternatives = complements.co_viewed_alternatives(inter.strength, catalogue, config.recent_per_user)
    similar = complements.substitutes(similar, alternatives, catalogue, config.substitute_boost,
                                      config.neighbours_per_item)
    picks, _ = blend.blended_picks(inter, factors, pool, catalogue, config)
    also = complements.also_bought_next(events, catalogue, config, config.neighbours_per_item)
    overall, _ = candidates.popular(inter, catalogue, config.popular_items)
    return ServedLists(inter, picks, similar, also, overall.row(0)[0], catalogue.available)


def _fill(k: int, blocked: set[int], *sources) -> list[int]:
    """The first k distinct candidates of the sources that are not blocked."""
    out = []
    for item in chain(*sources):
        item = int(item)
        if item in blocked:
            continue
        blocked.add(item)
        out.append(item)
        if len(out) >= k:
            break
    return out


def _padded(rows: list[list[int]], k: int) -> np.ndarray:
    out = np.full((len(rows), k), -1, dtype=np.int64)
    for n, row in enumerate(rows):
        out[n, :len(row)] = row
    return out


def _blocked(lists: ServedLists, user: int) -> set[int]:
    hidden = set(np.flatnonzero(~lists.available).tolist()) if not lists.available.all() else set()
    return hidden | set(lists.inter.bought.row(user)[0].tolist())


def user_picks(lists: ServedLists, users: np.ndarray, k: int) -> np.ndarray:
    """The personalized picks the service would answer for each user, users x k."""
    rows = []
    for user in users:
        picks = lists.picks.row(user)[0]
        if len(picks):
            first = picks
        else:
            viewed = lists.inter.recent.row(user)[0][:LIGHT_HISTORY]
            bought = lists.inter.bought.row(user)[0][:LIGHT_HISTORY]
            sources = [lists.similar.row(i)[0] for i in viewed] + [lists.also.row(i)[0] for i in bought]
            first = list(viewed) + [c for round_ in zip_longest(*sources) for c in round_ if c is not None]
        rows.append(_fill(k, _blocked(lists, user), first, lists.popular))
    return _padded(rows, k)


def also_bought(lists: ServedLists, subjects: np.ndarray, users: np.ndarray, k: int) -> np.ndarray:
    """The also-bought answer for each subject item, asked with the user's id (their purchases dropped)."""
    rows = []
    for item, user in zip(subjects, users):
        blocked = _blocked(lists, user) | {int(item)}
        rows.append(_fill(k, blocked, lists.also.row(item)[0], lists.similar.row(item)[0], lists.popular))
    return _padded(rows, k)
