"""The Redis key schema: the one place that names keys.

The trainer writes every key of a model version under ``recsvc:v:<version>:`` and
switches ``recsvc:current`` last, so a reader that resolves the version first never
sees a half-written model. Each builder's docstring gives the Redis type, its
encoding (see ``recsvc.records``), who writes it and who reads it.
"""

PREFIX = "recsvc"

CURRENT = f"{PREFIX}:current"
"""string: the served version id. Written last by a publish or a rollback; read per request."""

VERSIONS = f"{PREFIX}:versions"
"""sorted set: published version ids scored by publish time (unix seconds). Kept to the newest few."""

STAGING = f"{PREFIX}:staging"
"""set: versions being written. A killed publish leaves its id here; the next publish deletes its keys."""


def version_prefix(version: str) -> str:
    """The prefix of every key of one version (for deleting a version)."""
    return f"{PREFIX}:v:{version}:"


def meta(version: str) -> str:
    """string, JSON: the version's summary (trained_at, counts, parameters, metrics). Read by /v1/model."""
    return f"{version_prefix(version)}meta"


def user(version: str, user_id: str) -> str:
    """string, ``records.UserRecord``: a user's picks, purchases, recent items and category offers."""
    return f"{version_prefix(version)}u:{user_id}"


def item(version: str, item_id: str) -> str:
    """string, ``records.ItemRecord``: an item's index, also-bought and similar lists."""
    return f"{version_prefix(version)}i:{item_id}"


def attrs(version: str) -> str:
    """hash: item index -> JSON of the catalog attributes (item_id, category_id, title, price, ...)."""
    return f"{version_prefix(version)}attrs"


def unavailable(version: str) -> str:
    """set: indices of items hidden from every answer. Changed in place by catalog updates."""
    return f"{version_prefix(version)}unavailable"


def catalog_rev(version: str) -> str:
    """string, int: bumped by every catalog update, so readers drop their cached attributes."""
    return f"{version_prefix(version)}catalog_rev"


def categories(version: str) -> str:
    """string, JSON: ``{"ids": [...], "parents": [...]}``, a category's index is its position."""
    return f"{version_prefix(version)}categories"


def popular(version: str, category_id: str | None = None) -> str:
    """string, ``records.ScoredItems``: popular items, overall or within a category (and its children)."""
    if category_id is None:
        return f"{version_prefix(version)}popular"
    return f"{version_prefix(version)}popular:{category_id}"
