"""Event names shared by the trainer and the service: the contract's four events and their aliases."""

EVENTS = ("view", "addtocart", "purchase", "wishlist")
"""Event types; an event's code is its position here."""
VIEW, ADDTOCART, PURCHASE, WISHLIST = range(4)
EVENT_ALIASES = {
    "view": VIEW,
    "pv": VIEW,
    "addtocart": ADDTOCART,
    "cart": ADDTOCART,
    "purchase": PURCHASE,
    "transaction": PURCHASE,
    "buy": PURCHASE,
    "wishlist": WISHLIST,
    "fav": WISHLIST,
}


def event_code(name: str) -> int | None:
    """The code of an event name or alias (case and surrounding spaces ignored), None if unknown."""
    return EVENT_ALIASES.get(name.strip().lower())
