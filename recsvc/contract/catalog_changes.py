"""Which catalog changes set off the back-in-stock and price-drop triggers: one rule for the trainer and the service.

The trainer compares the new catalog with the version served before it (``training/catalog_triggers.py``);
``recsvc catalog update`` applies a change file to the served version (``recsvc/admin/catalog.py``). Both ask
``triggered`` of each watched item they see change.
"""

from recsvc.contract.units import price_dropped


def triggered(
    was_hidden: bool, available: bool, old_price: float | None, new_price: float | None, share: float, at: float
) -> dict[str, dict]:
    """The trigger kinds an item's change sets off at ``at``, each with the change recorded for it.

    An item that is not available after the change sets off nothing. One that was hidden is back in stock;
    one whose price fell by ``share`` or more (both prices known) has dropped its price."""
    if not available:
        return {}
    found: dict[str, dict] = {}
    if was_hidden:
        found["back-in-stock"] = {"at": int(at)}
    if old_price is not None and new_price is not None and price_dropped(float(old_price), float(new_price), share):
        found["price-drop"] = {"at": int(at), "old_price": old_price, "new_price": new_price}
    return found
