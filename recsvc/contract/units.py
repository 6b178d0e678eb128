"""Units shared by the trainer and the service."""

DAY = 86_400
"""Seconds in a day."""

ITEM_ATTRIBUTES = ("title", "price", "url", "image_url")
"""The catalog attributes an item in an answer carries, where known."""

PRICE_DROP_SHARE = 0.1
"""A price drop is a trigger when the price falls by at least this share (the trainer's ``price_drop_share``)."""


def price_dropped(old: float, new: float, share: float = PRICE_DROP_SHARE) -> bool:
    """Whether a price change from ``old`` to ``new`` is a drop of at least ``share`` (0.1: 10%)."""
    return old > 0 and new >= 0 and new <= old * (1 - share)
