"""The training run: read, build every list, publish; the served model changes only at the end."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import redis

from recsvc.contract.events import EVENTS
from training import pipeline
from training.config import TrainConfig
from training.inputs import dataset
from training.inputs.dataset import Inputs
from training.inputs.readers import BadRows
from training.inputs.stream import read_stream, trim_consumed
from training.publish import publish

__all__ = ["Inputs", "TrainResult", "train"]

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a run published."""

    version: str
    summary: dict
    bad_rows: dict[str, BadRows] = field(default_factory=dict)


def train(
    r: redis.Redis, inputs: Inputs, config: TrainConfig = TrainConfig(), offline_metrics: dict | None = None
) -> TrainResult:
    """Train on the inputs and publish a new version; bad input raises InputError before any write.

    ``offline_metrics`` (from an evaluation of the same inputs) are stored in the version's summary.
    """
    timer = pipeline.Timer()
    streamed, last_streamed = read_stream(r) if inputs.stream else (None, None)
    data = dataset.read(inputs, stream=streamed)
    timer.step("read")
    lists = pipeline.build(data, config)
    timer.steps.update(lists.timings_s)
    summary = summary_of(lists)
    if offline_metrics is not None:
        summary["offline_metrics"] = offline_metrics
    summary["timings_s"] = dict(timer.steps)
    version, summary = publish(r, lists, summary, keep=config.versions_kept)
    if last_streamed is not None:  # published: what this run read from the stream is learned
        summary["counts"]["stream_events_trimmed"] = trim_consumed(r, last_streamed)
    summary["timings_s"]["total"] = timer.total()
    return TrainResult(version=version, summary=summary, bad_rows=data.bad)


def summary_of(lists: pipeline.Lists) -> dict:
    """The version's summary: when, on what, with which parameters (``GET /v1/model``)."""
    data, events = lists.dataset, lists.dataset.events
    counts = np.bincount(events.event, minlength=len(EVENTS))
    return {
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": {
            "first_event": datetime.fromtimestamp(int(events.timestamp.min()), timezone.utc).isoformat(),
            "last_event": datetime.fromtimestamp(lists.inter.now, timezone.utc).isoformat(),
        },
        "counts": {
            "events": len(events),
            **{name: int(n) for name, n in zip(EVENTS, counts)},
            "users": len(events.user_ids),
            "fitted_users": len(lists.factors.users),
            "items": len(data.item_ids),
            "categories": len(data.category_ids),
            "bad_rows": sum(b.count for b in data.bad.values()),
        },
        "parameters": lists.config.to_dict(),
        "picks_order": lists.ranker.to_dict(),
        "also_bought_order": lists.also_bought_order.to_dict(),
        "retention": lists.retention.summary(),
    }
