"""The Redis key schema: the one place that names keys.

The trainer writes every key of a model version under ``recsvc:v:<version>:`` and
switches ``CURRENT`` last, so a reader that resolves the version first never
sees a half-written model. Each builder's docstring gives the Redis type, its
encoding (see ``recsvc.contract.records``), who writes it and who reads it.

On a Redis Cluster a key's slot comes from its hash tag (the part in braces) or else the whole
key, so the records of users and items spread over the nodes. Keys that one script or one
transaction must see together share a tag: the version protocol's keys (``{control}``, with each
version's meta and manifest, which the switch checks) and a version's catalog and the trigger lists that follow it
(``{<version>:catalog}``, which a catalog update changes in one transaction).
"""

PREFIX = "recsvc"
CONTROL = f"{PREFIX}:{{control}}"
"""The prefix of the version protocol's keys: one hash tag, so the publish scripts run on a cluster too."""

CURRENT = f"{CONTROL}:current"
"""string: the served version id. Written last by a publish or a rollback; read per request."""

VERSIONS = f"{CONTROL}:versions"
"""sorted set: published version ids scored by publish time (unix seconds). Kept to the newest few."""

STAGING = f"{CONTROL}:staging"
"""set: versions being written. A killed publish leaves its id here; once its ``staging_alive`` key has
expired, the next publish deletes its keys."""

PUBLISH_LOCK = f"{CONTROL}:publish:lock"
"""string with a TTL (ms): the token of the one run allowed to write and switch to a new version.

Set NX by ``training.version_writer.VersionWriter``, its TTL refreshed while the run writes; the pointer
switch checks the token in the same script, so a run whose lock expired never switches."""


def staging_alive(version: str) -> str:
    """string with a TTL (ms), refreshed with the publish lock: present while the run writing ``version`` lives.

    Written by the publisher; read by ``versions.clean_staging``, which deletes only staging versions
    whose key has expired."""
    return f"{CONTROL}:staging:{version}:alive"


def version_prefix(version: str) -> str:
    """The prefix of every key of one version (for deleting a version)."""
    return f"{PREFIX}:v:{version}:"


def meta(version: str) -> str:
    """string, JSON: the version's summary (trained_at, counts, parameters, metrics). Read by /v1/model."""
    return f"{version_prefix(version)}{{control}}:meta"


def manifest(version: str) -> str:
    """string, JSON: ``{"keys": [...], "counts": {key: n}, "families": {name: n}}``, what a whole version holds.

    Written by the publisher just before the switch (so it is the completeness marker), checked by
    ``versions.missing`` before the switch and by ``/readyz``: the listed keys exist, each counted
    hash, set or sorted set has its size, and ``families`` counts the user and item records."""
    return f"{version_prefix(version)}{{control}}:manifest"


def shards(version: str) -> str:
    """hash: shard number -> JSON of what the shard wrote (``{"keys", "sizes", "families", "sample", "seconds"}``).

    A sharded run's record of its finished shards: written by each shard (``versions.record_shard``, only while
    its run holds the publish lock), read by the finish, which merges the parts into the manifest once all N are
    there. In the ``{control}`` slot with the lock, so the check and the write are one script."""
    return f"{version_prefix(version)}{{control}}:shards"


def user(version: str, user_id: str) -> str:
    """string, ``records.UserRecord``: a user's picks, purchases, recent items and category offers."""
    return f"{version_prefix(version)}u:{user_id}"


def item(version: str, item_id: str) -> str:
    """string, ``records.ItemRecord``: an item's index, also-bought and similar lists."""
    return f"{version_prefix(version)}i:{item_id}"


def attrs(version: str) -> str:
    """hash: item index -> JSON of the catalog attributes (item_id, category_id, title, price, ...)."""
    return f"{_catalog(version)}attrs"


def unavailable(version: str) -> str:
    """set: indices of items hidden from every answer. Changed in place by catalog updates."""
    return f"{_catalog(version)}unavailable"


def catalog_rev(version: str) -> str:
    """string, int: bumped by every catalog update, so readers drop their cached attributes."""
    return f"{_catalog(version)}catalog_rev"


def attribute_types(version: str) -> str:
    """hash: attribute name -> ``number``, ``boolean`` or ``string``: the type of each catalog attribute
    beyond the fixed ones (their values are in ``attrs``, never shown in answers).

    Written by the publisher with the catalog; extended by ``recsvc catalog update`` in its transaction
    when a change file brings a new column; read by ``recsvc catalog update`` (and merchandising rules)."""
    return f"{_catalog(version)}attribute_types"


def _catalog(version: str) -> str:
    """The prefix of a version's catalog keys, which a catalog update changes in one transaction."""
    return f"{version_prefix(version)}{{{version}:catalog}}:"


def item_events(version: str) -> str:
    """string, float32 little-endian by item index: each item's events at training, which lift it among the content
    neighbours of an item added by ``recsvc catalog update`` (``recsvc.contract.content``). 4 bytes per item.

    Written by the trainer; read by ``recsvc catalog update`` when it adds items."""
    return f"{version_prefix(version)}item_events"


def added_items(version: str) -> str:
    """string, int: how many items ``recsvc catalog update`` added to the version; an added item's index is the
    version's trained item count plus its rank among them (INCRBY reserves them, so two updates never share one).

    Written and read by ``recsvc catalog update``; the service reads the trained count from the meta."""
    return f"{_catalog(version)}added_items"


def arrivals_lock(version: str) -> str:
    """string with a TTL: the token of the one ``recsvc catalog update`` adding items to the version now. Adding
    reads and rewrites neighbours' records and the attributes: two at once would lose one's insertions.

    Set NX and deleted by its holder (``recsvc.admin.arrivals``); expires if the holder dies."""
    return f"{_catalog(version)}arrivals_lock"


def categories(version: str) -> str:
    """string, JSON: ``{"ids": [...], "parents": [...]}``, a category's index is its position."""
    return f"{version_prefix(version)}categories"


def popular(version: str, category_id: str | None = None) -> str:
    """string, ``records.ScoredItems``: popular items, overall or within a category (and its children)."""
    if category_id is None:
        return f"{version_prefix(version)}popular"
    return f"{version_prefix(version)}popular:{category_id}"


# -- fold-in: what the service needs to compute picks at request time (see ``recsvc.read.foldin``) --


def item_factors(version: str, part: int = 0) -> str:
    """string, float32 little-endian, items x factors row-major: ALS item factors by item index, in parts of at
    most ``FACTORS_PART_BYTES`` (``foldin``'s ``factor_parts`` says how many; part 0 keeps the name a version
    written in one part has).

    Written by the trainer; read once per version per process by the service for session picks, a part a time."""
    return f"{version_prefix(version)}item_factors" + (f":{part}" if part else "")


FACTORS_PART_BYTES = 64 * 2**20
"""Bytes of one part of the item factors: far under what Redis takes in one value (512 MiB by default) and read
within the service's timeout (at 10x RetailRocket the factors are 600 MB)."""


def item_ids(version: str) -> str:
    """string, UTF-8, item ids joined by newlines in index order. Read with ``item_factors``."""
    return f"{version_prefix(version)}item_ids"


def pool(version: str) -> str:
    """string, uint32 little-endian: item indices a fold-in may recommend (the trainer's candidate pool)."""
    return f"{version_prefix(version)}pool"


def foldin(version: str) -> str:
    """string, JSON: ``{"factors", "regularization", "alpha", "event_weights", "yty"}`` for the fold-in solve."""
    return f"{version_prefix(version)}foldin"


# -- real time: not versioned, written by ``POST /v1/events`` --

EVENTS_STREAM = f"{PREFIX}:events"
"""stream: events posted to the API (user_id, item_id, event, timestamp, quantity, rec_id).

Written by ``ModelStore.append_events`` for ``POST /v1/events`` (XADD, MAXLEN ~ a cap); read and trimmed
(XTRIM MINID) by ``recsvc train --stream``."""


def live(user_id: str) -> str:
    """list, newest first, of ``<event code><item_id>`` strings: a user's events since they were posted.

    Bounded (LTRIM) and expiring; written by ``ModelStore.append_events``; read by ``ModelStore`` in the same round
    trip as the user's record, so a purchase leaves the next answer and views drive session picks."""
    return f"{PREFIX}:live:{user_id}"


def buy_again(version: str, user_id: str) -> str:
    """string, ``records.BuyAgainRecord``: the repeatable items a user bought, with last purchase and interval.

    Written by the trainer (``training.retention``); read by ``/v1/users/<id>/buy-again`` and the
    replenishment trigger.
    """
    return f"{version_prefix(version)}ba:{user_id}"


def profile(version: str, user_id: str) -> str:
    """string, ``records.Profile`` as JSON: a buyer's segment, RFM figures, top categories, open cart and interest.

    Written by the trainer for users with a purchase, an open cart, a category interest or a watched item; read by
    ``/v1/users/<id>/profile`` and the trigger lists.
    """
    return f"{version_prefix(version)}p:{user_id}"


CATALOG_KINDS = ("back-in-stock", "price-drop")
"""Trigger kinds that follow catalog changes: written by the trainer and by ``recsvc catalog update``."""
TRIGGER_KINDS = ("replenishment", "category-interest", "abandoned-cart", "win-back", *CATALOG_KINDS)


def trigger(version: str, kind: str) -> str:
    """sorted set: user ids of one trigger list scored by a unix time.

    ``replenishment``: when the user's first item is due; ``category-interest``: the last view of the
    category; ``abandoned-cart``: the last cart addition; ``win-back``: when the user became at risk;
    ``back-in-stock`` and ``price-drop``: the (wall-clock) time of the latest change to an item they watch.
    Written by the trainer (the catalog kinds also by ``recsvc catalog update``); read by
    ``/v1/triggers/<kind>`` and ``recsvc export triggers``.
    """
    if kind not in TRIGGER_KINDS:
        raise ValueError(f"unknown trigger kind {kind!r}")
    if kind in CATALOG_KINDS:  # changed in the catalog update's transaction
        return f"{_catalog(version)}t:{kind}"
    return f"{version_prefix(version)}t:{kind}"


def analytics(version: str) -> str:
    """string, JSON: the retention figures of the version (``contract.analytics.RetentionAnalytics``, built by
    ``training.analytics``). Read by ``/v1/analytics/retention``, ``recsvc report retention`` and the dashboard."""
    return f"{version_prefix(version)}analytics"


def watchers(version: str, item_id: str) -> str:
    """string, user ids joined by newlines: who watches the item (``records.Profile.watched``).

    Written by the trainer; read by ``recsvc catalog update`` to find whom a change concerns."""
    return f"{version_prefix(version)}w:{item_id}"


def catalog_changes(version: str, kind: str) -> str:
    """hash: item index -> JSON of a change, ``{"at", "old_price", "new_price"}`` (price-drop) or
    ``{"at"}`` (back-in-stock), ``at`` in unix seconds.

    Written by the trainer (against the version served before it) and by ``recsvc catalog update``;
    read by the ``back-in-stock`` and ``price-drop`` trigger lists."""
    if kind not in CATALOG_KINDS:
        raise ValueError(f"not a catalog trigger kind: {kind!r}")
    return f"{_catalog(version)}cc:{kind}"


def sent(kind: str) -> str:
    """sorted set: user ids scored by when a message of a trigger kind was last sent to them (unix s).

    Not versioned: sends outlive a retraining. Written by ``POST /v1/triggers/<kind>/sent``; read by the
    trigger lists, which leave out users contacted within the suppression window."""
    if kind not in TRIGGER_KINDS:
        raise ValueError(f"unknown trigger kind {kind!r}")
    return f"{PREFIX}:sent:{kind}"


# -- the browser's impressions and clicks: not versioned, written by ``POST /v1/track`` --

TRACKING_SECRET = f"{PREFIX}:tracking:secret"
"""string: the random key rec_ids are signed with when ``RECSVC_TRACKING_SECRET`` is not set.

Written once (SET NX) by the first process that signs a rec_id; read by every process (``recsvc.http.attribution``)."""


def tracking_rate(window: int, client: str) -> str:
    """string, integer: reports from one client address in one rate window (``window``: its start, unix seconds).

    Written (INCR, expiring) and read by ``recsvc.store.reports``."""
    return f"{PREFIX}:tracking:rate:{window}:{client}"


def tracking_reports(rec_id: str, viewer: str, kind: str) -> str:
    """string, integer: reports of one kind (``impression``, ``click``) on one rec_id by one viewer (a user or
    visitor id, or empty), expiring with the rec_id.

    Written (INCR) and read by ``recsvc.store.reports``."""
    return f"{PREFIX}:tracking:rec:{kind}:{rec_id}:{viewer}"


def tracking_counts(hour: int) -> str:
    """hash, ``<endpoint>:<kind>`` -> count: the browser's impressions and clicks counted in one hour
    (``hour``: unix seconds // 3600), expiring after two days.

    Written (HINCRBY) by ``recsvc.store.reports``; read by the dashboard for the CTR per list."""
    return f"{PREFIX}:tracking:counts:{hour}"


# -- merchandising rules and A/B tests: not versioned, so a rollback or a new training keeps them --

RULES = f"{CONTROL}:rules"
"""hash: ``<variant>/<name>`` -> a merchandising rule as JSON (``recsvc.read.rule_format``).

Written by ``recsvc rules`` and ``/v1/rules`` (``recsvc.admin.steering``) with a bump of ``STEERING_REV``; read by
every service process when that revision changes."""

EXPERIMENTS = f"{CONTROL}:experiments"
"""hash: experiment name -> JSON of ``recsvc.read.experiments.Experiment``, running or stopped.

Written by ``recsvc experiment`` and ``/v1/experiments`` with a bump of ``STEERING_REV``; read like ``RULES``."""

STEERING_REV = f"{CONTROL}:steering_rev"
"""string, int: bumped in the transaction of every change of ``RULES`` or ``EXPERIMENTS``. Read per request in the
same MGET as ``CURRENT``, so a change is seen by the next request and costs no round trip otherwise."""

PINNED = f"{CONTROL}:pinned"
"""set: the versions a running experiment serves, which trimming never deletes. Written with ``EXPERIMENTS``."""


def experiment_counts(name: str, arm: str) -> str:
    """hash: counts of one arm of an experiment: ``answers``, ``impressions``, ``clicks``, ``purchases``,
    ``revenue``, ``all_purchases``, ``all_revenue`` (HINCRBY / HINCRBYFLOAT).

    Written by the service as it answers (``recsvc.store.counters``) and as events and browser reports come;
    read by ``/v1/experiments/<name>``. One hash tag per experiment: its report reads one slot."""
    return f"{PREFIX}:x:{{{name}}}:{arm}:counts"


def experiment_users(name: str, arm: str) -> str:
    """set: the users (or ``visitor:<id>``) shown an answer of one arm. Dropped when the experiment stops,
    after its figures are kept."""
    return f"{PREFIX}:x:{{{name}}}:{arm}:users"


def experiment_buyers(name: str, arm: str, kind: str) -> str:
    """hash: user -> revenue of the purchases counted for one arm, ``attributed`` (bought from one of the
    arm's answers, by rec_id) or ``all`` (any purchase of a user after the arm showed them an answer).
    Dropped when the experiment stops."""
    if kind not in ("attributed", "all"):
        raise ValueError(f"unknown kind of purchases {kind!r}")
    return f"{PREFIX}:x:{{{name}}}:{arm}:buyers:{kind}"


def dashboard_session(session_id: str) -> str:
    """string: the SHA-256 (hex) of the API key an operator logged in to the dashboard with, under the session's
    random id, expiring with the session; a key removed from ``RECSVC_API_KEYS`` no longer matches.

    Written (SET EX) at login, deleted at logout and read by ``recsvc.store.sessions``."""
    return f"{PREFIX}:dashboard:session:{session_id}"


def dashboard_logins(window: int, client: str) -> str:
    """string, integer: dashboard login attempts from one client address in one rate window (``window``: its start,
    unix seconds).

    Written (INCR, expiring) and read by ``recsvc.store.sessions``."""
    return f"{PREFIX}:dashboard:logins:{window}:{client}"
