"""Column maps for public data formats, so their files are read as they are."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    """How one format names the contract's columns (source name -> contract name)."""

    events_columns: dict[str, str] = field(default_factory=dict)
    events_header: tuple[str, ...] | None = None  # names for a headerless file
    categories_columns: dict[str, str] = field(default_factory=dict)
    catalog_columns: dict[str, str] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    # RetailRocket: events.csv (timestamp ms, visitorid, event, itemid, transactionid), category_tree.csv
    "retailrocket": Preset(
        events_columns={"visitorid": "user_id", "itemid": "item_id"},
        categories_columns={"categoryid": "category_id", "parentid": "parent_id"},
        catalog_columns={"itemid": "item_id", "categoryid": "category_id"},
    ),
    # Taobao UserBehavior.csv: headerless user, item, category, behavior, timestamp (s)
    "taobao": Preset(
        events_header=("user_id", "item_id", "category_id", "event", "timestamp"),
    ),
}


def get_preset(name: str | None) -> Preset:
    """The preset called name, or the contract's own column names for None."""
    if name is None:
        return Preset()
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}") from None
