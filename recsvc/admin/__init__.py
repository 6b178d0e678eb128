"""Operator work on a published version: catalog updates and exports."""
