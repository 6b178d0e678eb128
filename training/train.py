"""The training run: read, build every list, publish; the served model changes only at the end.

In one process (``train``), or sharded (``training.shards``): ``stage`` fits and stages everything but
the user records and saves the state, each ``score_shard`` writes one shard's users, and ``finish``
checks the whole version and serves it. ``abandon`` gives a sharded run up.
"""

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from recsvc.contract import versions
from recsvc.contract.summary import VersionSummary
from training import pipeline, publish, shards
from training.config import TrainConfig
from training.inputs import dataset
from training.inputs.dataset import Inputs
from training.inputs.readers import BadRows
from training.inputs.stream import read_stream, trim_consumed
from training.summary import count_stream, summary_of

__all__ = ["Inputs", "TrainResult", "train", "stage", "score_shard", "finish", "abandon"]

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a run published."""

    version: str
    summary: VersionSummary  # as stored with the version
    bad_rows: dict[str, BadRows] = field(default_factory=dict)


def train(
    r: redis.Redis, inputs: Inputs, config: TrainConfig = TrainConfig(), offline_metrics: dict | None = None
) -> TrainResult:
    """Train on the inputs and publish a new version; bad input raises InputError before any write.

    ``offline_metrics`` (from an evaluation of the same inputs) are stored in the version's summary.
    """
    timer = pipeline.Timer()
    read_from = time.time()  # events that arrive from now on are not learned: they stay live
    streamed, last_streamed = read_stream(r) if inputs.stream else (None, None)
    data = dataset.read(inputs, stream=streamed)
    timer.step("read")
    lists = pipeline.build(data, config)
    timer.steps.update(lists.timings_s)
    summary = summary_of(lists, offline_metrics, dict(timer.steps), learned_until=read_from)
    if streamed is not None and last_streamed is not None:
        count_stream(summary, len(streamed), data.bad["event stream"].rows)
    version, summary = publish.publish(r, lists, summary, keep=config.versions_kept, run_started=timer.start)
    if last_streamed is not None:  # served: what this run read from the stream is learned (or skipped as bad)
        trim_consumed(r, last_streamed)
    return TrainResult(version=version, summary=summary, bad_rows=data.bad)


def stage(
    r: redis.Redis,
    inputs: Inputs,
    state: Path,
    n_shards: int,
    config: TrainConfig = TrainConfig(),
    offline_metrics: dict | None = None,
) -> TrainResult:
    """Fit, stage a new version with everything but the user records and save the state its ``n_shards`` shards
    read into the folder ``state``; the version's publish lock stays held (``publish.SHARDED_LOCK_TTL_S``).

    Nothing is served until ``finish``. Bad input raises InputError before any write."""
    started, timer = time.time(), pipeline.Timer()  # events that arrive from ``started`` on stay live
    streamed, last_streamed = read_stream(r) if inputs.stream else (None, None)
    data = dataset.read(inputs, stream=streamed)
    timer.step("read")
    fitted = pipeline.fit(data, config)
    timer.steps.update(fitted.timings_s)
    timer.mark()
    scorer = pipeline.scorer_of(fitted)
    timer.step("scorer")
    summary = summary_of(fitted, offline_metrics, dict(timer.steps), learned_until=started)
    if streamed is not None and last_streamed is not None:
        count_stream(summary, len(streamed), data.bad["event stream"].rows)
    staged = publish.stage(r, fitted, summary)  # times itself: "publish"
    timer.mark()
    try:
        run = shards.Run(
            version=staged.version,
            token=staged.token,
            shards=n_shards,
            config=config.to_dict(),
            order=fitted.order if isinstance(fitted.order, str) else "learned",
            fingerprint=shards.fingerprint(data),
            summary=staged.summary,
            part=staged.part,
            memory_before=staged.memory_before,
            started_at=started,
            chunk=scorer.chunk,
            last_streamed=last_streamed,
        )
        shards.save_arrays(state, run, fitted, scorer)
        timer.step("state")
        run.summary.timings_s = {**(run.summary.timings_s or {}), "state": timer.steps["state"]}
        run.summary.timings_s["coordinator"] = timer.total()
        shards.save_run(state, run)
    except BaseException:
        publish.abandon(r, staged.version, staged.token)
        raise
    return TrainResult(version=staged.version, summary=run.summary, bad_rows=data.bad)


USER_BLOCK = 250_000
"""Users with picks a shard scores and writes at a time: its memory is the model's and a block's, whatever its
share of the users."""


def score_shard(r: redis.Redis, state: Path, number: int, n_shards: int) -> dict:
    """Score shard ``number`` of ``n_shards`` of the run saved in ``state`` and write its users' records into the
    staged version; returns its part of the manifest with its timings. Running a shard again rewrites the same keys.

    Raises shards.StateError for a state that does not fit, versions.LockLost or StagingGone when the run is over."""
    timer = pipeline.Timer()
    run = shards.load_run(state)
    if n_shards != run.shards or not 0 <= number < n_shards:
        raise shards.StateError(
            f"shard {number}/{n_shards} is not one of this run's: it has shards 0/{run.shards} to "
            f"{run.shards - 1}/{run.shards}"
        )
    publish.hold(r, run.version, run.token)  # before the work: the run may be over
    shard = shards.load_shard(state, run, number)
    timer.step("load")
    scorer = shard.scorer
    blocks = pipeline.user_lists_in_blocks(scorer, pipeline.active_users(scorer.gens.inter, scorer.config), USER_BLOCK)
    part = publish.publish_users(r, run.version, run.token, shard.user_ids, blocks)  # computed as written
    timer.step("picks and publish")
    part["seconds"] = {**timer.steps, "total": timer.total()}
    publish.hold(r, run.version, run.token, done=(number, part))
    return part


def finish(r: redis.Redis, state: Path) -> TrainResult:
    """Serve the version of the sharded run saved in ``state`` once all its shards are done: merge their parts into
    the manifest, write the summary, check the version whole, switch, trim and free the lock.

    Raises shards.StateError (nothing changed) while a shard is not done; a failure after that deletes the staged
    version and frees the lock, and the served version stays as it was."""
    run = shards.load_run(state)
    publish.hold(r, run.version, run.token)
    parts = versions.shard_parts(r, run.version)
    pending = [str(k) for k in range(run.shards) if k not in parts]
    if pending:
        raise shards.StateError(
            f"{'shards' if len(pending) > 1 else 'shard'} {', '.join(pending)} of {run.shards} not done yet: run "
            f"recsvc train --state DIR --shard K/{run.shards} for each, then --finish"
        )
    summary = run.summary
    seconds = [parts[k].pop("seconds") for k in range(run.shards)]
    summary.sharding = {"shards": run.shards, "fingerprint": run.fingerprint, "shard_s": seconds}
    timings = summary.timings_s = summary.timings_s or {}
    timings["shards"] = max(s["total"] for s in seconds)
    timings["total"] = round(time.time() - run.started_at, 3)
    summary = publish.finish(
        r,
        publish.Staged(run.version, run.token, summary, run.part, run.memory_before),
        [parts[k] for k in range(run.shards)],
        keep=run.train_config().versions_kept,
    )
    if run.last_streamed is not None:  # served: what the run read from the stream is learned
        trim_consumed(r, run.last_streamed)
    return TrainResult(version=run.version, summary=summary)


def abandon(r: redis.Redis, state: Path) -> str:
    """Give up the sharded run saved in ``state``: delete its staged version and free the lock; returns the version."""
    run = shards.load_run(state)
    publish.abandon(r, run.version, run.token)
    return run.version
