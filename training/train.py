"""The training run: read, fit, precompute, publish; the served model changes only at the end."""

import json
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import redis

from recsvc.contract import keys
from recsvc.contract.records import encode_scored

from training.lists import blend, candidates, complements, retention

from training import interactions, model, retention_records, serialize
from training.lists.candidates import Catalogue
from training.config import TrainConfig
from training.inputs.presets import get_preset
from training.publish import VersionWriter, memory_per_key, new_version
from training.inputs.readers import EVENTS, BadRows, Catalog, Events, read_catalog, read_categories, read_events
from training.inputs.stream import read_stream, trim_consumed

log = logging.getLogger(__name__)


@dataclass
class Inputs:
    """Where the training data is and how to read it."""

    events: Path | None = None
    catalog: Path | None = None
    categories: Path | None = None
    preset: str | None = None
    strict: bool = False
    stream: bool = False  # also learn from the events posted to the API, and trim them once published


@dataclass
class TrainResult:
    """What a run published."""

    version: str
    summary: dict
    bad_rows: dict[str, BadRows] = field(default_factory=dict)


class _Timer:
    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.steps: dict[str, float] = {}

    def step(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = round(now - self.last, 3)
        self.last = now
        log.info("%s: %.2f s", name, self.steps[name])

    def total(self) -> float:
        return round(time.perf_counter() - self.start, 3)


def train(r: redis.Redis, inputs: Inputs, config: TrainConfig = TrainConfig(),
          offline_metrics: dict | None = None) -> TrainResult:
    """Train on the inputs and publish a new version; bad input raises InputError before any write.

    ``offline_metrics`` (from an evaluation of the same inputs) are stored in the version's summary.
    """
    timer = _Timer()
    preset = get_preset(inputs.preset)
    streamed, last_streamed = read_stream(r) if inputs.stream else (None, None)
    events, bad_events = read_events(inputs.events, preset, strict=inputs.strict, stream=streamed)
    bad = {"events": bad_events}
    catalog = Catalog({})
    if inputs.catalog:
        catalog, bad["catalog"] = read_catalog(inputs.catalog, preset, strict=inputs.strict)
    parents: dict[str, str | None] = {}
    if inputs.categories:
        parents, bad["categories"] = read_categories(inputs.categories, preset, strict=inputs.strict)
    item_ids = _item_universe(events, catalog)
    category_ids, catalogue, attrs = _catalogue(item_ids, events, catalog, parents)
    timer.step("read")

    inter = interactions.build(events, config, n_items=len(item_ids))
    timer.step("interactions")
    factors = model.fit(inter.strength, config)
    timer.step("fit")
    pool = candidates.candidate_pool(inter, factors, catalogue, config.candidate_pool)
    similar = candidates.similar_items(factors, pool, config.neighbours_per_item)
    alternatives = complements.co_viewed_alternatives(inter.strength, catalogue, config.recent_per_user)
    similar = complements.substitutes(similar, alternatives, catalogue, config.substitute_boost,
                                      config.neighbours_per_item)
    timer.step("similar")
    picks, because = blend.blended_picks(inter, factors, pool, catalogue, config)
    timer.step("picks")
    also = complements.also_bought_next(events, catalogue, config, config.neighbours_per_item)
    overall, per_category = candidates.popular(inter, catalogue, config.popular_items)
    offers, offer_reasons = candidates.category_offers(inter, picks, catalogue, config.offers_per_user)
    timer.step("lists")
    prices = np.array([catalog.items.get(i, {}).get("price", np.nan) for i in item_ids], dtype=np.float64)
    retained = retention.build(events, inter.strength, catalogue.category, catalogue.n_categories, prices,
                               inter.now, config)
    timer.step("retention")

    version = new_version()
    writer = VersionWriter(r, version)
    try:
        memory_before = r.info("memory")["used_memory"]
        writer.hash(keys.attrs(version), ((str(i), a) for i, a in enumerate(attrs)))
        hidden = np.flatnonzero(~catalogue.available).tolist()
        if hidden:
            writer.set_members(keys.unavailable(version), hidden)
        r.set(keys.categories(version), json.dumps({
            "ids": category_ids, "parents": catalogue.category_parent.tolist()}))
        r.set(keys.popular(version), encode_scored(*overall.row(0)))
        writer.set_many(
            (keys.popular(version, category_ids[c]), encode_scored(*per_category.row(c)))
            for c in range(per_category.rows) if per_category.indptr[c + 1] > per_category.indptr[c])
        n_items = writer.set_many(
            (keys.item(version, item_ids[i]), record)
            for i, record in serialize.item_records(len(item_ids), also, similar))
        timer.step("publish items")
        user_ids = events.user_ids
        n_users = writer.set_many(
            (keys.user(version, user_ids[u]), record)
            for u, record in serialize.user_records(picks, because, inter.bought, inter.recent, offers, offer_reasons))
        timer.step("publish users")
        _publish_foldin(r, version, factors, pool, item_ids, config)
        timer.step("publish factors")
        triggers = retention_records.write(writer, version, user_ids, category_ids, retained)
        timer.step("publish retention")
        memory = _memory_report(r, version, memory_before, user_ids, item_ids, n_users, n_items)
        summary = _summary(version, events, inter, factors, item_ids, category_ids, bad, config, memory, timer)
        summary["retention"] = {**retained.summary(), "triggers": triggers}
        if offline_metrics is not None:
            summary["offline_metrics"] = offline_metrics
        writer.commit(summary, keep=config.versions_kept)
    except BaseException:
        writer.abort()
        raise
    timer.step("commit")
    if last_streamed is not None:  # published: what this run read from the stream is learned
        summary["counts"]["stream_events_trimmed"] = trim_consumed(r, last_streamed)
    summary["timings_s"] = {**timer.steps, "total": timer.total()}
    return TrainResult(version=version, summary=summary, bad_rows=bad)


def _publish_foldin(r: redis.Redis, version: str, factors, pool: np.ndarray, item_ids, config: TrainConfig) -> None:
    """What the service needs to fold a new visitor's items into the model at request time."""
    y = np.ascontiguousarray(factors.item_factors, dtype="<f4")
    yty = y.T.astype(np.float64) @ y.astype(np.float64)
    pipe = r.pipeline(transaction=False)
    pipe.set(keys.item_factors(version), y.tobytes())
    pipe.set(keys.item_ids(version), "\n".join(item_ids.tolist()))
    pipe.set(keys.pool(version), np.asarray(pool, dtype="<u4").tobytes())
    pipe.set(keys.foldin(version), json.dumps({
        "factors": int(y.shape[1]), "regularization": config.regularization, "alpha": config.alpha,
        "event_weights": config.event_weights, "yty": yty.tolist()}))
    pipe.execute()


def _item_universe(events: Events, catalog: Catalog) -> np.ndarray:
    """Every item of the events, then catalog items no event touched."""
    seen = set(events.item_ids.tolist())
    extra = [i for i in catalog.items if i not in seen]
    return np.concatenate((events.item_ids, np.array(extra, dtype=object))) if extra else events.item_ids


def _catalogue(item_ids: np.ndarray, events: Events, catalog: Catalog, parents: dict[str, str | None]):
    """Category codes, per-item category and availability, and each item's attributes as JSON."""
    item_category = [catalog.items.get(i, {}).get("category_id") or events.item_categories.get(i)
                     for i in item_ids]
    names = set(parents) | {p for p in parents.values() if p} | {c for c in item_category if c}
    category_ids = sorted(names)
    code = {c: n for n, c in enumerate(category_ids)}
    parent = np.array([code.get(parents.get(c) or "", -1) for c in category_ids], dtype=np.int32)
    categories = np.array([code.get(c, -1) if c else -1 for c in item_category], dtype=np.int32)
    available = np.array([catalog.items.get(i, {}).get("available", True) for i in item_ids], dtype=bool)
    attrs = []
    for item_id, category in zip(item_ids, item_category):
        known = catalog.items.get(item_id, {})
        entry = {"item_id": item_id, "category_id": category}
        entry.update({k: v for k, v in known.items() if k in ("title", "price", "url", "image_url")})
        attrs.append(json.dumps(entry, separators=(",", ":")))
    return category_ids, Catalogue(category=categories, available=available, category_parent=parent), attrs


def _memory_report(r, version, before, user_ids, item_ids, n_users, n_items) -> dict:
    """Redis memory of the new version, in all and per user and item."""
    rng = random.Random(0)
    users = [keys.user(version, user_ids[i]) for i in rng.sample(range(len(user_ids)), min(500, len(user_ids)))]
    items = [keys.item(version, item_ids[i]) for i in rng.sample(range(len(item_ids)), min(500, len(item_ids)))]
    return {
        "used_bytes": r.info("memory")["used_memory"] - before,
        "bytes_per_user_key": round(memory_per_key(r, users) or 0),
        "bytes_per_item_key": round(memory_per_key(r, items) or 0),
        "user_keys": n_users,
        "item_keys": n_items,
    }


def _summary(version, events, inter, factors, item_ids, category_ids, bad, config, memory, timer) -> dict:
    counts = np.bincount(events.event, minlength=len(EVENTS))
    return {
        "version": version,
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": {
            "first_event": datetime.fromtimestamp(int(events.timestamp.min()), timezone.utc).isoformat(),
            "last_event": datetime.fromtimestamp(inter.now, timezone.utc).isoformat(),
        },
        "counts": {
            "events": len(events),
            **{name: int(n) for name, n in zip(EVENTS, counts)},
            "users": len(events.user_ids),
            "fitted_users": len(factors.users),
            "items": len(item_ids),
            "categories": len(category_ids),
            "bad_rows": sum(b.count for b in bad.values()),
        },
        "parameters": config.to_dict(),
        "redis_memory": memory,
        "timings_s": dict(timer.steps),
    }
