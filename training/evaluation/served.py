"""The served answers to a model trained on a split: published, then read through the service.

Each configuration's model is built by ``training.pipeline`` on the train half and published
by ``training.publish`` into a private Redis; the answers come from ``recsvc.read.answers``,
the code behind the HTTP endpoints. What is evaluated is what the service would answer.
"""

import numpy as np
import redis

from recsvc.admin.steering import set_rules
from recsvc.contract.summary import VersionSummary
from recsvc.read import steering
from recsvc.read.answers import Answers, Filters
from recsvc.read.retention import RetentionAnswers
from recsvc.store.model import ModelStore
from recsvc.store.wire import Wire
from training import pipeline
from training.config import TrainConfig
from training.inputs.dataset import Dataset
from training.publish import publish

BATCH = 1_000
"""Users per batch answer (the batch endpoint's own limit)."""


class ServedModel:
    """One model published into ``r`` (a private Redis) and the service's answers from it, as item codes,
    under the merchandising ``rules`` given (a list of rule objects, as ``recsvc rules set`` takes them)."""

    def __init__(self, r: redis.Redis, data: Dataset, config: TrainConfig, rules: object = None):
        self.data = data
        lists = pipeline.build(data, config)
        self.inter = lists.inter  # the weighted history the model learned from, for the baselines
        self.orders = {
            "picks": lists.ranker.to_dict(),
            "also_bought": lists.also_bought_order.to_dict(),
            "category_offers": lists.offers_order.to_dict(),
            "buy_again": lists.retention.order or {},
        }
        # as ``recsvc train`` publishes it: the retention summary holds the data's "now" and the buy-again order
        publish(r, lists, VersionSummary(parameters=config.to_dict(), retention=lists.retention.summary()), keep=1)
        store = ModelStore(Wire(r), steering.decode)
        set_rules(store.steering_records, rules or [])
        self.answers = Answers(store)
        self.retention = RetentionAnswers(self.answers)
        self.code = {item_id: n for n, item_id in enumerate(data.item_ids.tolist())}
        self.category_code = {category_id: n for n, category_id in enumerate(data.category_ids)}
        self.user_ids = data.events.user_ids

    def _codes(self, items: list[dict], k: int) -> list[int]:
        return [self.code[item["item_id"]] for item in items[:k]]

    def picks(
        self, users: np.ndarray, k: int, include_viewed: bool | None = None, live_share: float | None = None
    ) -> np.ndarray:
        """Each user's personalized recommendations (``GET /v1/users/<id>/recommendations``), users x k; with
        ``live_share``, their events since training take that share instead of the version's."""
        answers = self.answers if live_share is None else Answers(self.answers.store, live_share=live_share)
        rows = []
        for start in range(0, len(users), BATCH):
            ids = [self.user_ids[u] for u in users[start : start + BATCH].tolist()]
            answer = answers.batch(ids, Filters(limit=k, include_viewed=include_viewed), "recommendations")
            rows += [self._codes(result["items"], k) for result in answer["results"]]
        return _padded(rows, k)

    def category_offers(self, users: np.ndarray, k: int) -> np.ndarray:
        """Each user's offer categories (``GET /v1/users/<id>/category-offers?limit=k``), users x k, as codes."""
        rows = []
        for user in users.tolist():
            answer = self.answers.category_offers(self.user_ids[user], k, 1)
            rows.append([self.category_code[offer["category_id"]] for offer in answer["offers"][:k]])
        return _padded(rows, k)

    def buy_again(self, users: np.ndarray, k: int) -> np.ndarray:
        """Each user's buy-again list (``GET /v1/users/<id>/buy-again?limit=k``), users x k, as codes."""
        rows = [self._codes(self.retention.buy_again(self.user_ids[u], Filters(limit=k))["items"], k) for u in users]
        return _padded(rows, k)

    def also_bought(self, subjects: np.ndarray, users: np.ndarray | None, k: int) -> np.ndarray:
        """The also-bought list of each subject, asked with the user's id (``?user_id=``) where users are given,
        subjects x k."""
        rows = []
        for n, item in enumerate(subjects.tolist()):
            user_id = None if users is None else self.user_ids[users[n]]
            answer = self.answers.also_bought(self.data.item_ids[item], Filters(limit=k), user_id=user_id)
            rows.append(self._codes(answer["items"], k))
        return _padded(rows, k)


def _padded(rows: list[list[int]], k: int) -> np.ndarray:
    out = np.full((len(rows), k), -1, dtype=np.int64)
    for n, row in enumerate(rows):
        out[n, : len(row)] = row
    return out
