"""The version's summary as the trainer builds it (``recsvc.contract.summary``): what a fit knows; the publisher
adds what it finds while writing (the version, the trigger list sizes, Redis memory, its timings), all before the
served pointer switches."""

from datetime import datetime, timezone

import numpy as np

from recsvc.contract.events import EVENTS
from recsvc.contract.summary import Counts, DataSpan, VersionSummary
from training import pipeline


def summary_of(
    fitted: pipeline.Fitted,
    offline_metrics: dict | None = None,
    timings_s: dict | None = None,
    learned_until: float | None = None,
) -> VersionSummary:
    """The version's summary: when, on what, with which parameters and choices (``GET /v1/model``).

    ``learned_until`` (unix seconds): when the run began to read its inputs; events that arrived since are not
    in the version (default: now)."""
    data, events = fitted.dataset, fitted.dataset.events
    by_event = np.bincount(events.event, minlength=len(EVENTS))
    now = datetime.now(timezone.utc)
    read_from = now if learned_until is None else datetime.fromtimestamp(learned_until, timezone.utc)
    return VersionSummary(
        trained_at=now.isoformat(timespec="seconds"),
        data=DataSpan(
            first_event=datetime.fromtimestamp(int(events.timestamp.min()), timezone.utc).isoformat(),
            last_event=datetime.fromtimestamp(fitted.inter.now, timezone.utc).isoformat(),
        ),
        counts=Counts.from_json(
            {
                "events": len(events),
                **{name: int(n) for name, n in zip(EVENTS, by_event)},
                "users": len(events.user_ids),
                "fitted_users": len(fitted.factors.users),
                "items": len(data.item_ids),
                "categories": len(data.category_ids),
                "bad_rows": sum(b.count for b in data.bad.values()),
            }
        ),
        parameters=fitted.config.to_dict(),
        picks_order=fitted.ranker.to_dict(),
        also_bought_order=fitted.also_bought_order.to_dict(),
        category_offers_choice=fitted.offers_order.to_dict(),  # why; the service reads ``category_offers_order``
        retention=fitted.retention.summary(),
        offline_metrics=offline_metrics,
        timings_s=timings_s,
        learned_until=read_from.isoformat(timespec="seconds"),  # whole seconds, as live entries arrive
    )


def count_stream(summary: VersionSummary, consumed: int, skipped: int) -> None:
    """Note the events a run read from the API's stream (bad ones included) and how many of them were bad."""
    summary.counts.stream_events_consumed = consumed
    summary.counts.stream_events_skipped = skipped
