"""Offline evaluation: a time split, ranking metrics, baselines, tuning and a report."""
