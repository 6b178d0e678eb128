"""The published versions as the operator sees them from the service: the list, a rollback, Redis memory."""

import logging

import redis

from recsvc.contract import versions
from recsvc.store.commands import used_memory
from recsvc.store.wire import Wire, guarded

log = logging.getLogger(__name__)


class VersionRecords:
    """Lists the published versions, serves one again, and tells how much memory Redis uses."""

    def __init__(self, wire: Wire):
        self._wire = wire

    @guarded
    def published(self) -> list[versions.VersionInfo]:
        """The published versions, newest first."""
        return versions.list_versions(self._wire.client)

    @guarded
    def rollback(self, version: str) -> None:
        """Serve a published version again, through the served pointer's one writer (``versions.rollback``)."""
        versions.rollback(self._wire.client, version)

    @guarded
    def memory(self) -> dict:
        """Redis's ``INFO memory`` (on a cluster: only ``used_memory``, summed over the primaries)."""
        if self._wire.cluster:
            return {"used_memory": used_memory(self._wire.client)}
        return self._wire.client.info("memory")

    def upgrade_layout(self) -> None:
        """Rename keys an older release wrote (``versions.upgrade_layout``); Redis down is for /readyz to tell, so
        this neither raises nor opens the breaker."""
        try:
            versions.upgrade_layout(self._wire.client)
        except redis.RedisError as e:
            log.warning("could not check the Redis key layout: %s", e)
