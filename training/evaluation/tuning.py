"""Random search over ALS and data-weighting parameters within a time budget.

Trials are scored on a validation split cut from the train half alone, so the test half
never influences the chosen parameters; the first trial is the current defaults.
"""

import logging
import random
import time
from dataclasses import dataclass, field, replace

import numpy as np
import redis

from training.config import TrainConfig
from training.evaluation import metrics
from training.evaluation.run import pick_tasks
from training.evaluation.served import ServedModel
from training.evaluation.split import Split
from training.inputs.dataset import Dataset
from training.private_redis import private_redis

log = logging.getLogger(__name__)

SPACE: dict[str, list] = {
    "factors": [16, 32, 64, 128],
    "regularization": [0.01, 0.05, 0.1, 0.5, 1.0],
    "alpha": [0.5, 1.0, 2.0, 5.0, 10.0, 20.0],
    "iterations": [10, 15, 25],
    "half_life_days": [7.0, 30.0, 60.0, 365.0],
    "view": [0.5, 1.0, 2.0],
    "addtocart": [2.0, 4.0, 8.0],
    "purchase": [4.0, 8.0, 16.0],
    "blend_knn": [0.0, 0.5, 1.0, 2.0],
    "blend_history": [0.0, 1.0, 3.0],
    "blend_popularity": [0.0, 0.3, 1.0, 2.0],
}
"""The values each parameter is drawn from; view/addtocart/purchase are event weights."""


@dataclass
class Tuning:
    """The trials run and the best one."""

    metric: str
    best: TrainConfig
    best_score: float
    trials: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "best": changed(self.best),
            "best_score": self.best_score,
            "trials": len(self.trials),
            "seconds": round(self.seconds, 1),
            "history": self.trials,
        }


def changed(config: TrainConfig) -> dict:
    """The parameters where config differs from the defaults."""
    default = TrainConfig().to_dict()
    return {k: v for k, v in config.to_dict().items() if v != default[k]}


def sample(rng: random.Random, base: TrainConfig) -> TrainConfig:
    """A random configuration from SPACE."""
    pick = {name: rng.choice(values) for name, values in SPACE.items()}
    weights = {
        **base.event_weights,
        "view": pick.pop("view"),
        "addtocart": pick.pop("addtocart"),
        "purchase": pick.pop("purchase"),
    }
    return replace(base, event_weights=weights, **pick)


def score(r: redis.Redis, s: Split, data: Dataset, config: TrainConfig, task: str, k: int = 10) -> float:
    """Mean NDCG@k of the served picks for one task on a split (the model published into ``r``)."""
    t = pick_tasks(s, len(data.item_ids))[task]
    if not len(t.users):
        return 0.0
    ranked = ServedModel(r, replace(data, events=s.train), config).picks(t.users, k)
    return float(metrics.per_user(ranked, t.relevant, k)["ndcg"].mean())


def tune(
    validation: Split, data: Dataset, budget_seconds: float, task: str, base: TrainConfig = TrainConfig(), seed: int = 0
) -> Tuning:
    """Try configurations until the budget is spent; the defaults always run first."""
    with private_redis() as r:
        return _tune(r, validation, data, budget_seconds, task, base, seed)


def _tune(r, validation, data, budget_seconds, task, base, seed) -> Tuning:
    rng = random.Random(seed)
    started = time.perf_counter()
    result = Tuning(metric=f"{task} ndcg@10 (validation)", best=base, best_score=-np.inf)
    config = base
    while True:
        value = score(r, validation, data, config, task)
        result.trials.append({"params": changed(config), "ndcg@10": round(value, 5)})
        log.info("trial %d: %.4f %s", len(result.trials), value, changed(config))
        if value > result.best_score:
            result.best, result.best_score = config, round(value, 5)
        elapsed = time.perf_counter() - started
        # stop when another trial of the average length would overrun the budget
        if elapsed * (len(result.trials) + 1) / len(result.trials) > budget_seconds:
            break
        config = sample(rng, base)
    result.seconds = time.perf_counter() - started
    return result
