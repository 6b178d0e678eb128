"""The version's summary (``keys.meta``): what the trainer writes with a version before it is served, what
``GET /v1/model`` shows and what the service reads of it (the lists' chosen orders, the data's clock).

Each part is a dataclass whose fields are the stored JSON's keys, in their stored order. Parsing is tolerant: a key
a version lacks (one written by an older release, or a partial summary) reads as None, and a key this release does
not know is kept in ``extra`` and written back after the known ones, so ``/v1/model`` shows an old version whole.
"""

import json
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, ClassVar, TypeVar

P = TypeVar("P", bound="Part")


@dataclass
class Part:
    """A stored JSON object (of the summary, of the retention figures): its known keys as fields, the others in
    ``extra``."""

    NESTED: ClassVar[dict[str, type["Part"]]] = {}
    """Fields that are parts themselves."""
    EACH: ClassVar[dict[str, type["Part"]]] = {}
    """Fields that hold parts: a list of them, or an object of them by name."""
    KEEP_NULLS: ClassVar[bool] = False
    """Known keys are written when None too (as null), except those the parsed object lacked: a document whose
    explicit nulls say something ("not measurable") reads and writes back the same."""
    extra: dict = field(default_factory=dict)  # keys this release does not know, as stored
    absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False)  # known keys the parsed JSON lacked

    @classmethod
    def from_json(cls: type[P], data: object) -> P:
        """The part of a parsed JSON object (anything else reads as an empty part)."""
        found = data if isinstance(data, Mapping) else {}
        known = _known(cls)
        values: dict[str, Any] = {f.name: _parsed(cls, f, found[f.name]) for f in known if f.name in found}
        return cls(
            **values,
            extra={k: v for k, v in found.items() if k not in values},
            absent=frozenset(f.name for f in known if f.name not in found),
        )

    def to_json(self) -> dict:
        """The JSON object: the known keys that are set (a part only when it holds any), then ``extra``.
        With ``KEEP_NULLS``, the known keys that are None too, unless the parsed object lacked them."""
        out: dict[str, Any] = {}
        for f in _known(type(self)):
            value = getattr(self, f.name)
            if self.KEEP_NULLS and f.name in self.absent and value == _default(f):
                continue
            if isinstance(value, Part):
                value = value.to_json() if self.KEEP_NULLS else value.to_json() or None
            elif isinstance(value, list):
                value = [v.to_json() if isinstance(v, Part) else v for v in value]
            elif isinstance(value, dict):
                value = {k: v.to_json() if isinstance(v, Part) else v for k, v in value.items()}
            if value is not None or self.KEEP_NULLS:
                out[f.name] = value
        return {**out, **self.extra}


def _known(cls: type[Part]) -> list[Field[Any]]:
    """The fields that are JSON keys, in their order."""
    return [f for f in fields(cls) if f.name not in ("extra", "absent")]


def _default(f: Field[Any]) -> object:
    """A field's default value."""
    return f.default_factory() if f.default_factory is not MISSING else f.default


def _parsed(cls: type[Part], f: Field[Any], value: object) -> object:
    """A known key's stored value as the field holds it (a null stays None where the field's default is None)."""
    nested, each = cls.NESTED.get(f.name), cls.EACH.get(f.name)
    if nested and not (value is None and f.default is None):
        return nested.from_json(value)
    if each and isinstance(value, list):
        return [each.from_json(v) for v in value]
    if each and isinstance(value, Mapping):
        return {k: each.from_json(v) for k, v in value.items()}
    return value


@dataclass
class DataSpan(Part):
    """When the training data starts and ends (ISO-8601, UTC)."""

    first_event: str | None = None
    last_event: str | None = None  # the data's "now": the newest event


@dataclass
class Counts(Part):
    """What the version was trained on: events (and of each type), users, items, categories, bad rows."""

    events: int | None = None
    view: int | None = None
    addtocart: int | None = None
    purchase: int | None = None
    wishlist: int | None = None
    users: int | None = None
    fitted_users: int | None = None
    items: int | None = None
    categories: int | None = None
    bad_rows: int | None = None
    # events read from the API's stream (``keys.EVENTS_STREAM``), bad ones included: the run trims exactly these
    # once the version is served, so what is trimmed is not known when the summary is written
    stream_events_consumed: int | None = None
    stream_events_skipped: int | None = None  # of them, bad rows left out of the training


@dataclass
class RetentionSummary(Part):
    """The retention side of the version: the data's clock, repeat purchases, segments, the trigger list sizes."""

    now: float | None = None  # unix seconds of the newest event: the model's notion of now (``ModelStore.data_time``)
    repeatable_items: int | None = None
    items_with_own_interval: int | None = None
    buyers_by_segment: dict[str, int] | None = None
    spend_unit: str | None = None
    timezone: str | None = None
    shop_peak: dict | None = None
    # how buy-again is ordered: ``recency_days``, the time scale of the recency factor ``exp(-days since the last
    # purchase / recency_days)`` the due-ness score is multiplied by (0 or none: the fixed due-ness order), chosen on
    # the shop's newest window (``training/lists/buy_again_order.py``), with ``why``
    buy_again_order: dict | None = None
    triggers: dict[str, int] | None = None  # users on each trigger list

    @property
    def recency_days(self) -> float:
        """The recency scale buy-again is ordered with (0: due-ness alone)."""
        return float((self.buy_again_order or {}).get("recency_days", 0.0))


@dataclass
class RedisMemory(Part):
    """What the version costs in Redis."""

    used_bytes: int | None = None
    bytes_per_user_key: int | None = None
    user_keys: int | None = None
    bytes_per_item_key: int | None = None
    item_keys: int | None = None


@dataclass
class VersionSummary(Part):
    """A version's summary: when, on what, with which parameters and choices, and at what cost."""

    NESTED: ClassVar[dict[str, type[Part]]] = {
        "data": DataSpan,
        "counts": Counts,
        "retention": RetentionSummary,
        "redis_memory": RedisMemory,
    }

    trained_at: str | None = None  # ISO-8601, UTC
    data: DataSpan = field(default_factory=DataSpan)
    counts: Counts = field(default_factory=Counts)
    parameters: dict | None = None  # the training configuration (``training.config.TrainConfig``)
    picks_order: dict | None = None  # how picks are ordered (``kind``) and why
    also_bought_order: dict | None = None  # how also-bought is ordered (``kind``) and why
    category_offers_choice: dict | None = None  # why category offers open as ``category_offers_order`` says
    retention: RetentionSummary = field(default_factory=RetentionSummary)
    offline_metrics: dict | None = None  # ``recsvc train --evaluate``: each task's metrics beside the baselines
    timings_s: dict[str, float] | None = None  # seconds per step of the run, ``total`` the whole run
    version: str | None = None
    # what fills an also-bought list after its entries (``units.ALSO_BOUGHT_FILLS``: similar items, the default,
    # or the shop's best-sellers), chosen on the shop's newest window
    also_bought_fill: str | None = None
    # what opens a user's category offers (``units.OFFERS_ORDERS``: their own categories, the default, or the
    # best-sellers' categories they never bought from), chosen on the shop's newest window
    category_offers_order: str | None = None
    # how an item a catalog update adds is placed (``content.NewItemsOrder``: its content neighbours at a popularity
    # weight, or its category's best-sellers), chosen at training on items hidden from the shop's newest window
    new_items_order: dict | None = None
    # the share of a known user's places their events since training take (``units.LIVE_SHARE_DEFAULT`` when unset)
    live_share: float | None = None
    # events that arrived from then on (ISO-8601, UTC) are not in the version: the service counts them as live
    # (a version without it: its ``trained_at``)
    learned_until: str | None = None
    redis_memory: RedisMemory = field(default_factory=RedisMemory)
    sharding: dict | None = None  # a sharded run: its shards, the data's fingerprint, each shard's seconds

    @classmethod
    def decode(cls, raw: bytes | str | None) -> "VersionSummary":
        """The summary as stored (an empty one for a version without)."""
        return cls.from_json(json.loads(raw) if raw else {})

    def encode(self) -> str:
        """The JSON stored in ``keys.meta``."""
        return json.dumps(self.to_json())
