"""Records stored in Redis: the data contract between trainer and service.

Item and category references are indices into the version's tables (``keys.attrs`` and
``keys.categories``), 4 bytes each, so a user's record stays a few hundred bytes.
Numbers are little-endian; ``NO_ITEM`` marks a pick without an explaining item.
The customer profile is JSON, read by the service and by people inspecting Redis alike.
"""

import json
import struct
import sys
from array import array
from collections.abc import Collection, Sequence
from dataclasses import MISSING, dataclass, fields

from recsvc.contract import reasons

Numbers = Collection[int] | Collection[float]
"""What the encoders take: a list of numbers or a numpy array."""

FORMAT = 1
NO_ITEM = 0xFFFFFFFF
"""A pick's ``because`` when no item explains it; the values just below it name a general reason."""
LAST_ITEM_CAUSE = NO_ITEM - len(reasons.GENERAL)
"""The largest ``because`` value that is an item index; the values above it are general reasons."""


def general_reason(because: int) -> str | None:
    """The general reason a ``because`` value stands for, None when it is an item index."""
    n = NO_ITEM - because
    return reasons.GENERAL[n] if 0 <= n < len(reasons.GENERAL) else None


VIEWED_NOT_BOUGHT = 0
AFFINITY = 1

USER_HEADER = struct.Struct("<BHHHH")
ITEM_HEADER = struct.Struct("<BIHH")
_SCORED_HEADER = struct.Struct("<BH")

if sys.byteorder != "little":  # memoryview.cast reads native order
    raise ImportError("recsvc records need a little-endian machine")


def _pack(typecode: str, values: Numbers) -> bytes:
    """Pack numbers (a list or a numpy array) as a little-endian array."""
    if hasattr(values, "astype"):
        return values.astype({"I": "<u4", "f": "<f4", "B": "u1"}[typecode], copy=False).tobytes()
    return array(typecode, values).tobytes()


_SIZES = {code: struct.calcsize(code) for code in "IfB"}
"""Bytes per value of the array types records hold."""


class _Reader:
    """Reads consecutive typed arrays out of one buffer without copying."""

    def __init__(self, data: bytes, offset: int):
        self.view = memoryview(data)
        self.offset = offset

    def take(self, typecode: str, count: int) -> Sequence:
        """The next ``count`` values of type ``typecode``, as a view into the buffer."""
        size = _SIZES[typecode] * count
        part = self.view[self.offset : self.offset + size].cast(typecode)  # type: ignore[call-overload]
        self.offset += size
        return part


@dataclass
class UserRecord:
    """A user's precomputed picks and the history the service filters and explains with."""

    picks: Sequence[int]
    scores: Sequence[float]
    because: Sequence[int]
    bought: Sequence[int]
    recent: Sequence[int]
    offer_categories: Sequence[int]
    offer_scores: Sequence[float]
    offer_reasons: Sequence[int]


def encode_user(
    picks: Numbers = (),
    scores: Numbers = (),
    because: Numbers = (),
    bought: Numbers = (),
    recent: Numbers = (),
    offer_categories: Numbers = (),
    offer_scores: Numbers = (),
    offer_reasons: Numbers = (),
) -> bytes:
    """Encode a user record; ``because[i]`` is the history item that explains ``picks[i]``."""
    if not (len(picks) == len(scores) == len(because)):
        raise ValueError("picks, scores and because must have the same length")
    if not (len(offer_categories) == len(offer_scores) == len(offer_reasons)):
        raise ValueError("offer categories, scores and reasons must have the same length")
    header = USER_HEADER.pack(FORMAT, len(picks), len(bought), len(recent), len(offer_categories))
    return b"".join(
        (
            header,
            _pack("I", picks),
            _pack("f", scores),
            _pack("I", because),
            _pack("I", bought),
            _pack("I", recent),
            _pack("I", offer_categories),
            _pack("f", offer_scores),
            _pack("B", offer_reasons),
        )
    )


def decode_user(data: bytes) -> UserRecord:
    """Decode a user record written by ``encode_user``."""
    fmt, n_picks, n_bought, n_recent, n_offers = USER_HEADER.unpack_from(data)
    if fmt != FORMAT:
        raise ValueError(f"unknown user record format {fmt}")
    r = _Reader(data, USER_HEADER.size)
    return UserRecord(
        picks=r.take("I", n_picks),
        scores=r.take("f", n_picks),
        because=r.take("I", n_picks),
        bought=r.take("I", n_bought),
        recent=r.take("I", n_recent),
        offer_categories=r.take("I", n_offers),
        offer_scores=r.take("f", n_offers),
        offer_reasons=r.take("B", n_offers),
    )


@dataclass
class ItemRecord:
    """An item's index and its two neighbour lists.

    ``also_bought_scores`` carry where each entry comes from: positive, its buyers bought it together
    with the item (same order or soon after); negative, customers only viewed or carted the two
    together. The score is the magnitude."""

    index: int
    also_bought: Sequence[int]
    also_bought_scores: Sequence[float]
    similar: Sequence[int]
    similar_scores: Sequence[float]


def encode_item(
    index: int,
    also_bought: Numbers = (),
    also_bought_scores: Numbers = (),
    similar: Numbers = (),
    similar_scores: Numbers = (),
) -> bytes:
    """Encode an item record."""
    header = ITEM_HEADER.pack(FORMAT, index, len(also_bought), len(similar))
    return b"".join(
        (
            header,
            _pack("I", also_bought),
            _pack("f", also_bought_scores),
            _pack("I", similar),
            _pack("f", similar_scores),
        )
    )


def decode_item(data: bytes) -> ItemRecord:
    """Decode an item record written by ``encode_item``."""
    fmt, index, n_also, n_similar = ITEM_HEADER.unpack_from(data)
    if fmt != FORMAT:
        raise ValueError(f"unknown item record format {fmt}")
    r = _Reader(data, ITEM_HEADER.size)
    return ItemRecord(
        index=index,
        also_bought=r.take("I", n_also),
        also_bought_scores=r.take("f", n_also),
        similar=r.take("I", n_similar),
        similar_scores=r.take("f", n_similar),
    )


def encode_scored(items: Numbers, scores: Numbers) -> bytes:
    """Encode a ranked list of item indices with scores (popular lists)."""
    return _SCORED_HEADER.pack(FORMAT, len(items)) + _pack("I", items) + _pack("f", scores)


def decode_scored(data: bytes) -> tuple[Sequence[int], Sequence[float]]:
    """Decode a list written by ``encode_scored``."""
    fmt, n = _SCORED_HEADER.unpack_from(data)
    if fmt != FORMAT:
        raise ValueError(f"unknown list format {fmt}")
    r = _Reader(data, _SCORED_HEADER.size)
    return r.take("I", n), r.take("f", n)


_BUY_AGAIN_HEADER = struct.Struct("<BH")


@dataclass
class BuyAgainRecord:
    """A user's repeatable purchases: item index, last purchase (unix s), times bought, interval (days)."""

    items: Sequence[int]
    last: Sequence[int]
    counts: Sequence[int]
    interval_days: Sequence[float]


def encode_buy_again(items: Numbers, last: Numbers, counts: Numbers, interval_days: Numbers) -> bytes:
    """Encode a buy-again record; the four sequences are aligned."""
    if not (len(items) == len(last) == len(counts) == len(interval_days)):
        raise ValueError("items, last, counts and interval_days must have the same length")
    return b"".join(
        (
            _BUY_AGAIN_HEADER.pack(FORMAT, len(items)),
            _pack("I", items),
            _pack("I", last),
            _pack("I", counts),
            _pack("f", interval_days),
        )
    )


def decode_buy_again(data: bytes) -> BuyAgainRecord:
    """Decode a record written by ``encode_buy_again``."""
    fmt, n = _BUY_AGAIN_HEADER.unpack_from(data)
    if fmt != FORMAT:
        raise ValueError(f"unknown buy-again record format {fmt}")
    r = _Reader(data, _BUY_AGAIN_HEADER.size)
    return BuyAgainRecord(
        items=r.take("I", n), last=r.take("I", n), counts=r.take("I", n), interval_days=r.take("f", n)
    )


WATCH_REASONS = ("wishlist", "addtocart", "viewed")
"""Why a user watches an item (``Profile.watched_reasons``): wished for it, carted it, viewed it on separate days."""


@dataclass(frozen=True)
class Profile:
    """A customer's profile as the trainer computes it (``keys.profile``); times are unix seconds.

    Written for every user with a purchase, an open cart, a category interest or a watched item.
    """

    segment: str
    at_risk: bool
    orders: int
    spend: float
    spend_unit: str  # "price" or "items"
    top_categories: tuple[str, ...]
    first_order: int | None = None
    last_order: int | None = None
    usual_interval_days: float | None = None
    at_risk_since: int | None = None
    cart: tuple[int, ...] = ()  # item indices
    cart_at: int | None = None
    interest: tuple[str, ...] = ()  # category ids viewed and not bought
    interest_at: int | None = None
    contact_hour: int | None = None  # 0..23 in the shop's time zone: when the user usually shops ...
    contact_weekday: int | None = None  # ... 0 (Monday) .. 6 (Sunday)
    contact_own: bool | None = None  # from the user's own events (False: the shop's peak)
    watched: tuple[int, ...] = ()  # item indices wished for, carted or viewed repeatedly, not bought since
    watched_reasons: tuple[int, ...] = ()  # aligned with watched: a position in WATCH_REASONS


_PROFILE_FIELDS = tuple(f.name for f in fields(Profile))
_PROFILE_LISTS = ("top_categories", "cart", "interest", "watched", "watched_reasons")
_PROFILE_OPTIONAL = frozenset(f.name for f in fields(Profile) if f.default is not MISSING)


def encode_profile(profile: Profile) -> bytes:
    """Encode a profile as compact JSON, leaving out optional fields that are unset (None or empty)."""
    out = {}
    for name in _PROFILE_FIELDS:
        value = getattr(profile, name)
        if name in _PROFILE_OPTIONAL and (value is None or (name in _PROFILE_LISTS and not len(value))):
            continue
        out[name] = list(value) if name in _PROFILE_LISTS else value
    return json.dumps(out, separators=(",", ":")).encode()


def decode_profile(data: bytes) -> Profile:
    """Decode a profile written by ``encode_profile`` (fields it does not know are ignored)."""
    raw = json.loads(data)
    known = {name: raw[name] for name in _PROFILE_FIELDS if name in raw}
    for name in _PROFILE_LISTS:
        if name in known:
            known[name] = tuple(known[name])
    return Profile(**known)


def decode_categories(data: bytes | None) -> dict[str, str | None]:
    """The category tree as ``keys.categories`` holds it: category id -> parent id (None for a root), in the
    order of the ids the records refer to by index."""
    table = json.loads(data) if data else {"ids": [], "parents": []}
    ids = table["ids"]
    return {c: (ids[p] if p >= 0 else None) for c, p in zip(ids, table["parents"])}
