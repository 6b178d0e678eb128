"""What the store raises: the service maps these to HTTP answers (``recsvc.http.errors``)."""


class StoreError(Exception):
    """Redis refused a command (its message says why)."""


class StoreUnavailable(StoreError):
    """Redis cannot be reached."""


class RedisStalled(StoreUnavailable):
    """The breaker is open: a recent call to Redis timed out or could not connect, and no probe answered since."""


class StoreFull(StoreUnavailable):
    """Redis refuses writes: it reached its maxmemory and evicts nothing (``noeviction``)."""


class NoModel(Exception):
    """No model has been published yet."""
