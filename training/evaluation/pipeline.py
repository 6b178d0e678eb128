"""The whole evaluation of a data set: read, split, tune, evaluate, report."""

import logging
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from training.config import TrainConfig
from training.evaluation import next_day, report, run, split, tuning
from training.evaluation.verdict import verdict
from training.inputs import dataset
from training.inputs.dataset import Inputs

log = logging.getLogger(__name__)


@dataclass
class SplitBy:
    """Where to cut: exactly one of an ISO date, the last N days, or the newest fraction of events."""

    date: str | None = None
    days: float | None = None
    fraction: float | None = None

    def cutoff(self, events) -> int:
        if self.date is None and self.days is None and self.fraction is None:
            return split.cutoff_of(events, fraction=0.2)
        return split.cutoff_of(events, date=self.date, days=self.days, fraction=self.fraction)


def evaluate_dataset(
    events: Path,
    *,
    preset: str | None = None,
    catalog: Path | None = None,
    categories: Path | None = None,
    split_by: SplitBy = SplitBy(),
    config: TrainConfig = TrainConfig(),
    budget_seconds: float = 0.0,
    out: Path | None = None,
    rules: object = None,
    variants: dict[str, tuple[TrainConfig, object]] | None = None,
) -> dict:
    """Evaluate the served model (defaults, and tuned when a budget is given) beside the baselines.

    ``rules`` are the merchandising rules the served model is asked under; ``variants`` (name ->
    (parameters, rules)) are measured on the same split beside it, each paired with it user by user."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    started = time.perf_counter()
    ds = dataset.read(Inputs(events=events, catalog=catalog, categories=categories, preset=preset))
    s = split.split(ds.events, split_by.cutoff(ds.events))
    # the served picks (the learned order), the fixed blend it falls back to, and ALS alone
    configs = {
        "als_served": config,
        "blend": replace(config, picks_ranker="blend"),
        "als_plain": replace(config, picks_ranker="als"),
    }
    tuned = None
    if budget_seconds > 0:
        # validation: the train half cut again, in the same proportion of events
        share = len(s.test) / (len(s.train) + len(s.test))
        validation = split.split(s.train, split.cutoff_of(s.train, fraction=share))
        tuned = tuning.tune(validation, ds, budget_seconds, report.MAIN_TASK, base=config)
        configs["als_served_tuned"] = tuned.best
    asked = {"als_served": rules}
    for name, (variant_config, variant_rules) in (variants or {}).items():
        if name in configs:
            raise ValueError(f"variant {name!r}: the name of a model measured anyway; choose another")
        configs[name], asked[name] = variant_config, variant_rules
    results = run.evaluate(s, ds, configs, rules=asked)
    result = {
        "dataset": str(events),
        "preset": preset,
        **results.to_dict(),
        "parameters": {name: tuning.changed(c) for name, c in configs.items()},
        "rules": {name: given for name, given in asked.items() if given},
        "tuning": tuned.to_dict() if tuned else None,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if out is not None:
        result["files"] = {k: str(v) for k, v in report.write(result, out).items()}
    return result


def offline_metrics(
    events: Path,
    *,
    preset: str | None = None,
    catalog: Path | None = None,
    categories: Path | None = None,
    config: TrainConfig = TrainConfig(),
    split_by: SplitBy = SplitBy(),
    k: int = 10,
) -> dict:
    """A model's metrics at k on a time split beside popularity and item-kNN, and the plain-language verdict
    on them (``verdict.verdict``, None where too little was measured): what a version's summary keeps."""
    from training.evaluation.baselines import ItemKNN, Popular

    ds = dataset.read(Inputs(events=events, catalog=catalog, categories=categories, preset=preset))
    s = split.split(ds.events, split_by.cutoff(ds.events))
    results = run.evaluate(s, ds, {"model": config}, scorers=[Popular(), ItemKNN("bm25")], view_variants=False)
    wanted = [f"{m}@{k}" for m in ("ndcg", "precision", "recall", "map", "hit_rate", "coverage")]
    decided = verdict({"tasks": results.tasks})
    return {
        "split": results.split,
        "verdict": decided["text"] if decided else None,
        **{
            task: {
                "users": info["users"],
                "models": {name: {w: values[w] for w in wanted} for name, values in info["models"].items()},
            }
            for task, info in results.tasks.items()
        },
    }


HEADLINE_TASKS = (*report.PURCHASE_TASKS, report.MAIN_TASK, *next_day.TASKS)


def headline(result: dict, tasks: tuple[str, ...] = HEADLINE_TASKS, k: int = 10) -> list[str]:
    """Lines for the terminal: the verdict, then each model's NDCG (± CI), recall, hit rate and coverage at k
    on each task, and its difference to the served picks."""
    decided = verdict(result)
    lines = [f"verdict: {decided['text']}"] if decided else []
    for task in tasks:
        if task not in result["tasks"]:
            continue
        info = result["tasks"][task]
        lines.append(f"{task}: {info['users']} users; split {result['split']}")
        models = info["models"]
        for name in sorted(models, key=lambda m: -models[m][f"ndcg@{k}"]):
            m = models[name]
            lines.append(
                f"  {name:20s} ndcg@{k} {report.value(info, name, f'ndcg@{k}'):16s} "
                f"recall@{k} {m[f'recall@{k}']:.4f}  hit_rate@{k} {m[f'hit_rate@{k}']:.4f}  "
                f"coverage@{k} {m[f'coverage@{k}']:.4f}  {report.versus(info, name)}".rstrip()
            )
    return lines
