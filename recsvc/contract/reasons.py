"""Every reason an answer may give: the one list the service, the trainer and the OpenAPI document read."""

GENERAL = ("personalized", "popular", "trending", "similar_shoppers")
"""Reasons of a pick without an explaining item: the n-th is stored in a user record as ``records.NO_ITEM - n``."""
STORED_OFFERS = ("viewed_not_bought", "affinity")
"""Reasons of a category offer as a user record stores them (by position)."""
OFFERS = (*STORED_OFFERS, "popular")
"""Every ``reason.type`` of a category offer (``popular``: the shop's best-sellers' categories)."""
ITEMS = (
    "because_you_bought",
    "because_you_viewed",
    "recently_viewed",
    "similar_shoppers",
    "trending",
    "popular",
    "personalized",
    "bought_together",
    "viewed_together",
    "similar",
    "due_again",
    "in_cart",
    "viewed_not_bought",
    "back_in_stock",
    "price_drop",
    "promoted",
    "new_arrival",
)
"""Every ``reason.type`` an item of a list may carry (``promoted``: put there by a merchandising rule, a pin;
``new_arrival``: an item added since training, shown by exploration)."""
