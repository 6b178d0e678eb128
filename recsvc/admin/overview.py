"""What the operator's dashboard shows, read from Redis in a few round trips: the served model, the kept
versions, the last offline evaluation, the CTR per list, segments, trigger lists, the retention figures,
the merchandising rules, the A/B tests and Redis memory."""

import time
from datetime import datetime

from recsvc.admin.steering import steering
from recsvc.contract.analytics import RetentionAnalytics
from recsvc.contract.summary import VersionSummary
from recsvc.read import arm_report
from recsvc.store.model import ModelStore

CTR_HOURS = 24
"""Hours of browser reports the CTR per list is computed over."""
EXPERIMENTS_SHOWN = 3
"""The running A/B test and the newest stopped ones."""
COHORTS_SHOWN, MONTHS_SHOWN = 12, 7
"""The newest cohorts and their first months the dashboard's retention table shows (the report has all)."""


def overview(store: ModelStore, now: float | None = None) -> dict:
    """Every figure of the dashboard as one JSON-ready dict; ``served`` is None before the first publish."""
    moment = time.time() if now is None else now
    kept = store.versions.published()
    memory = store.versions.memory()
    served = next((v for v in kept if v.current), None)
    analytics = store.analytics(served.version) if served else None
    steered = steering(store.steering_records)
    newest = sorted(steered.experiments, key=lambda e: (not e.running, -e.started_at))[:EXPERIMENTS_SHOWN]
    experiments = [arm_report.report(store.arms, e) for e in newest]
    summary = served.summary if served else VersionSummary()
    retention = summary.retention
    return {
        "served": _served(served.version, summary, moment) if served else None,
        "versions": [
            {"version": v.version, "current": v.current, "trained_at": v.summary.trained_at, "users": users(v.summary)}
            for v in kept
        ],
        "offline": _offline(summary.offline_metrics),
        "ctr": ctr_per_list(store.reports.counts(CTR_HOURS, moment)),
        "ctr_hours": CTR_HOURS,
        "segments": retention.buyers_by_segment or {},
        "triggers": retention.triggers or {},
        "retention": _retention(analytics),
        "rules": [
            {"name": rule.name, "type": rule.kind, "variant": rule.variant, "lists": sorted(rule.lists)}
            for rule in steered.rules.rules
        ],
        "experiments": experiments,
        "redis": {
            "used_memory": memory.get("used_memory"),
            "used_memory_human": memory.get("used_memory_human"),
            "maxmemory": memory.get("maxmemory"),
            "maxmemory_policy": memory.get("maxmemory_policy"),
            "model": summary.redis_memory.to_json(),
        },
    }


def _served(version: str, summary: VersionSummary, now: float) -> dict:
    trained_at = summary.trained_at
    age_s = now - datetime.fromisoformat(trained_at).timestamp() if trained_at else None
    return {"version": version, "trained_at": trained_at, "age_s": age_s, "counts": summary.counts.to_json()}


def users(summary: VersionSummary) -> int | None:
    """The number of users a version was trained on."""
    return summary.counts.users


def _offline(metrics: dict | None) -> dict | None:
    """The offline metrics ``recsvc train --evaluate`` kept with the version: each task's NDCG@10 and
    recall@10 of the model beside its baselines, and the plain-language verdict the trainer drew from the
    paired intervals (None where too few users were measured)."""
    if not metrics:
        return None
    tasks = {}
    for task, info in metrics.items():
        if isinstance(info, dict) and "models" in info:
            tasks[task] = {
                "users": info.get("users"),
                "models": {
                    name: {m: values.get(m) for m in ("ndcg@10", "recall@10", "hit_rate@10")}
                    for name, values in info["models"].items()
                },
            }
    return {"split": metrics.get("split"), "tasks": tasks, "verdict": metrics.get("verdict")}


def _retention(figures: RetentionAnalytics | None) -> dict | None:
    """The headline retention figures (``GET /v1/analytics/retention`` has them all) and the newest cohorts."""
    if figures is None:
        return None
    overall = figures.overall
    rates = {days: overall.repeat_rate.get(days) for days in ("30", "60", "90")}
    return {
        "overall": {
            "buyers": overall.buyers,
            "orders_per_buyer": overall.orders_per_buyer,
            "average_order_value": overall.average_order_value,
            "revenue_per_buyer": overall.revenue_per_buyer,
            "at_risk_share": overall.at_risk_share,
            "lost_share": overall.lost_share,
        },
        "repeat_rate": {days: rate.to_json() if rate else None for days, rate in rates.items()},
        "spend_unit": figures.spend_unit,
        "cohorts": [
            {"cohort": c.cohort, "customers": c.customers, "retention": c.retention[:MONTHS_SHOWN]}
            for c in figures.cohorts[-COHORTS_SHOWN:]
        ],
        "months_shown": MONTHS_SHOWN,
    }


def ctr_per_list(counts: dict[str, dict[str, int]]) -> list[dict]:
    """[{"list", "impressions", "clicks", "ctr"}] from the browser's counts, most impressions first."""
    rows = [
        {
            "list": endpoint,
            "impressions": c["impression"],
            "clicks": c["click"],
            "ctr": c["click"] / c["impression"] if c["impression"] else None,
        }
        for endpoint, c in counts.items()
    ]
    return sorted(rows, key=lambda row: (-row["impressions"], row["list"]))
