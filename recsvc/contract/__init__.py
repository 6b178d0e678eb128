"""The data contract between trainer and service: Redis keys, stored records, event names, ids and units."""
