"""The data contract between trainer and service: Redis keys, stored records, the version protocol, event
names, ids and units. It imports neither flask nor the trainer's libraries."""
