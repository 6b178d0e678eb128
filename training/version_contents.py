"""What a version holds, written key by key: the model, catalog, fold-in and retention keys, the user records.

Each ``write_*`` queues its keys on a ``VersionWriter``; the memory figures of the summary sample what was written.
"""

import json
import random
import time

import numpy as np
import redis

from recsvc.contract import keys
from recsvc.contract.records import encode_scored
from recsvc.contract.summary import VersionSummary
from training import catalog_triggers, retention_records, serialize
from training.interactions import Interactions
from training.pipeline import Fitted, UserLists
from training.version_writer import VersionWriter

MEMORY_SAMPLE = 500
"""Keys sampled with MEMORY USAGE for the per-user and per-item figures."""


def write_model(writer: VersionWriter, fitted: Fitted, summary: VersionSummary) -> None:
    """Every key of a version but the user records; adds to ``summary`` the version, the lists' chosen fill and
    order, the trigger list sizes and the memory of an item record."""
    write_catalog(writer, fitted)
    item_ids = fitted.dataset.item_ids
    n_items = writer.set_many(
        (
            (keys.item(writer.version, item_ids[i]), record)
            for i, record in serialize.item_records(len(item_ids), fitted.also_bought, fitted.similar)
        ),
        family="items",
    )
    write_foldin(writer, fitted)
    triggers = write_retention(writer, fitted)
    writer.flush()
    summary.version = writer.version
    summary.also_bought_fill = fitted.also_bought_order.order.fill
    summary.category_offers_order = fitted.offers_order.order
    summary.new_items_order = fitted.new_items.to_dict()
    summary.live_share = fitted.config.live_share
    summary.retention.triggers = triggers
    sample = [keys.item(writer.version, i) for i in sampled(item_ids)]
    summary.redis_memory.bytes_per_item_key = round(memory_per_key(writer.r, sample) or 0)
    summary.redis_memory.item_keys = n_items


def write_users(writer: VersionWriter, user_ids: np.ndarray, inter: Interactions, users: UserLists) -> int:
    """The records of every user with any history (``user_ids`` by code); returns how many."""
    return writer.set_many(
        (
            (keys.user(writer.version, user_ids[u]), record)
            for u, record in serialize.user_records(
                users.picks, users.because, inter.bought, inter.recent, users.offers, users.offer_reasons
            )
        ),
        family="users",
    )


def write_catalog(writer: VersionWriter, lists: Fitted) -> None:
    """Item attributes and the types of the extra ones, hidden items, the category tree and the popular lists."""
    version, data = writer.version, lists.dataset
    writer.hash(keys.attrs(version), ((str(i), a) for i, a in enumerate(data.attrs)))
    writer.hash(keys.attribute_types(version), data.attribute_types.items())
    hidden = np.flatnonzero(~data.catalogue.available).tolist()
    if hidden:
        writer.set_members(keys.unavailable(version), hidden)
    writer.set(
        keys.categories(version),
        json.dumps({"ids": data.category_ids, "parents": data.catalogue.category_parent.tolist()}),
    )
    writer.set(keys.item_events(version), np.asarray(lists.item_events, dtype="<f4").tobytes())
    writer.set(keys.popular(version), encode_scored(*lists.popular.row(0)))
    per_category = lists.popular_in
    writer.set_many(
        (keys.popular(version, data.category_ids[c]), encode_scored(*per_category.row(c)))
        for c in range(per_category.rows)
        if per_category.indptr[c + 1] > per_category.indptr[c]
    )


YTY_ROWS = 262_144
"""Item factors summed into the fold-in's Gram matrix at a time."""


def write_foldin(writer: VersionWriter, lists: Fitted) -> None:
    """What the service needs to fold a new visitor's items into the model at request time."""
    version, config = writer.version, lists.config
    y = np.ascontiguousarray(lists.factors.item_factors, dtype="<f4")
    yty = np.zeros((y.shape[1], y.shape[1]))
    for start in range(0, len(y), YTY_ROWS):  # in float64 a block at a time: no float64 copy of every factor
        block = y[start : start + YTY_ROWS].astype(np.float64)
        yty += block.T @ block
    rows = max(1, keys.FACTORS_PART_BYTES // max(1, y.shape[1] * 4))  # items a part holds
    starts = range(0, max(len(y), 1), rows)
    for part, start in enumerate(starts):
        writer.set(keys.item_factors(version, part), y[start : start + rows].tobytes())
    writer.set(keys.item_ids(version), "\n".join(lists.dataset.item_ids.tolist()))
    writer.set(keys.pool(version), np.asarray(lists.pool, dtype="<u4").tobytes())
    writer.set(
        keys.foldin(version),
        json.dumps(
            {
                "factors": int(y.shape[1]),
                "factor_parts": len(starts),
                "regularization": config.regularization,
                "alpha": config.alpha,
                "event_weights": config.event_weights,
                "yty": yty.tolist(),
            }
        ),
    )


def write_retention(writer: VersionWriter, lists: Fitted) -> dict[str, int]:
    """Buy-again records, profiles and trigger lists; returns each trigger list's size."""
    version, data, retained = writer.version, lists.dataset, lists.retention
    user_ids = data.events.user_ids
    writer.set_many(retention_records.buy_again_records(version, user_ids, retained.buy_again))
    writer.set_many(retention_records.profile_records(version, user_ids, retained.profiles, data.category_ids))
    writer.set_many(retention_records.watcher_records(version, user_ids, data.item_ids, retained.profiles), "watched")
    writer.set(keys.analytics(version), retained.analytics.encode())
    sizes = {}
    for kind, (users, scores) in retention_records.trigger_scores(retained.buy_again, retained.profiles).items():
        if len(users):
            writer.sorted_set(keys.trigger(version, kind), user_ids[users].tolist(), scores.tolist())
        sizes[kind] = len(users)
    config, watched = lists.config, retained.profiles.watched
    for kind, found in catalog_triggers.detect(
        writer.r, data, watched, config.price_drop_share, config.watch_days, time.time()
    ).items():
        if found.changes:
            writer.hash(
                keys.catalog_changes(version, kind), ((str(i), json.dumps(c)) for i, c in found.changes.items())
            )
        if len(found.users):
            writer.sorted_set(keys.trigger(version, kind), user_ids[found.users].tolist(), found.scores.tolist())
        sizes[kind] = len(found.users)
    return sizes


def memory_per_key(r: redis.Redis, keys_sample: list[str]) -> float | None:
    """Average bytes Redis uses for the sampled keys (MEMORY USAGE), None if none given."""
    if not keys_sample:
        return None
    pipe = r.pipeline(transaction=False)
    for key in keys_sample[:MEMORY_SAMPLE]:
        pipe.memory_usage(key, samples=0)
    sizes = [s for s in pipe.execute() if s]
    return sum(sizes) / len(sizes) if sizes else None


def memory_per_user(r: redis.Redis, sample: list[str], n_users: int) -> tuple[int, int]:
    """The memory of a user record (``MEMORY USAGE`` of the sampled keys) and how many were written."""
    return round(memory_per_key(r, sample) or 0), n_users


def sampled(ids: np.ndarray) -> list:
    """Up to MEMORY_SAMPLE of the ids, drawn the same way every run."""
    rng = random.Random(0)
    return [ids[i] for i in rng.sample(range(len(ids)), min(MEMORY_SAMPLE, len(ids)))]
