"""The one gateway to Redis: the service reads and writes Redis only through this package.

- ``connect``: a client for ``REDIS_URL`` (single Redis, Sentinel, Cluster) or the embedded server;
- ``wire``: talking over it: the breaker, the packed round trip, the one mapping of Redis errors (``errors``);
- ``commands``: the commands over many keys that differ on a cluster;
- ``model``: ``ModelStore``, the served version and its records, read consistently in one round trip, with
  ``cache`` (what a process keeps per version), ``catalog`` (item attributes, lists, categories) and
  ``retention`` (buy-again, profiles, trigger lists, sends);
- ``steering``, ``versions``, ``catalog_updates``: the rules and A/B tests, the published versions and the catalog
  changes as the operator's actions write them;
- ``counters`` (what each arm of an A/B test earned), ``reports`` (the browser's reports), ``sessions`` (the
  dashboard's logins and the tracking secret): the service's own small state.
"""
