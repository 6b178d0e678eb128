"""What every command shares: the one way to fail, and the store's gateways on a command's Redis."""

import sys


def fail(message: str, prefix: bool = True) -> int:
    """Print a one-line reason to stderr; the exit code of a failed command (2)."""
    print(f"recsvc: error: {message}" if prefix else message, file=sys.stderr)
    return 2


def model_store(r):
    """The service's model store over the client ``r`` (the command line's timeout, no request budget)."""
    from recsvc.read import steering
    from recsvc.store.model import ModelStore
    from recsvc.store.wire import Wire

    return ModelStore(Wire(r), steering.decode)


def steering_records(url: str | None):
    """The stored rules and experiments of the Redis at ``url`` (default ``REDIS_URL``)."""
    from recsvc.store.connect import connect
    from recsvc.store.steering import SteeringRecords
    from recsvc.store.wire import Wire

    return SteeringRecords(Wire(connect(url)))
