"""Units shared by the trainer and the service."""

DAY = 86_400
"""Seconds in a day."""

ITEM_ATTRIBUTES = ("title", "price", "url", "image_url")
"""The catalog attributes an item in an answer carries, where known."""
