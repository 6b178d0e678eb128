"""Operator commands on published versions: listing and rollback, catalog updates, exports."""
