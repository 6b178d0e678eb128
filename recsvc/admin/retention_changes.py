"""What changed in the retention figures between two versions, in plain sentences for a shop owner."""

from recsvc.contract.analytics import RepeatRate, RetentionAnalytics

WINDOWS = ("7", "30", "60", "90")


def _money(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.2f}" if unit == "price" else f"{value:,.2f} items"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _points(before: float, after: float) -> str:
    diff = 100 * (after - before)
    return f"{'up' if diff > 0 else 'down'} {abs(diff):.1f} points" if abs(diff) >= 0.05 else "unchanged"


def repeat_sentence(days: str, before: RepeatRate, after: RepeatRate) -> str | None:
    """How the repeat rate within ``days`` moved, and whether the move is inside the noise."""
    old, new = before.rate, after.rate
    if new is None:
        return None
    if old is None:
        return f"{_share(new)} of buyers ordered again within {days} days (not measurable before)."
    low, high = after.ci95 or (new, new)
    inside = low <= old <= high and abs(new - old) >= 0.0005
    noise = " (inside the 95% interval of the new figure: not a real change)" if inside else ""
    return f"Repeat purchase within {days} days: {_share(old)} → {_share(new)}, {_points(old, new)}{noise}."


def summary(current: RetentionAnalytics, previous: RetentionAnalytics | None) -> list[str]:
    """Sentences on the main figures of ``current`` beside ``previous`` (None: the first version with figures)."""
    now, unit = current.overall, current.unit
    if previous is None:
        return [
            f"First version with retention figures: {now.buyers or 0:,} buyers, {now.orders or 0:,} orders. "
            "The next training will say what changed."
        ]
    before = previous.overall
    buyers, buyers_before = now.buyers or 0, before.buyers or 0
    out = [f"Buyers: {buyers_before:,} → {buyers:,} ({buyers - buyers_before:+,})."]
    for days in WINDOWS:
        sentence = repeat_sentence(
            days, before.repeat_rate.get(days, RepeatRate()), now.repeat_rate.get(days, RepeatRate())
        )
        if sentence:
            out.append(sentence)
    old_aov, new_aov = before.average_order_value, now.average_order_value
    if old_aov and new_aov:
        out.append(
            f"Average order value: {_money(old_aov, unit)} → {_money(new_aov, unit)} "
            f"({100 * (new_aov / old_aov - 1):+.1f}%)."
        )
    for label, old, new in (
        ("at risk", before.at_risk_share, now.at_risk_share),
        ("lost", before.lost_share, now.lost_share),
    ):
        if old is not None and new is not None:
            out.append(f"Buyers {label}: {_share(old)} → {_share(new)}, {_points(old, new)}.")
    known = {c.cohort for c in previous.cohorts}
    for cohort in current.cohorts:
        if cohort.cohort not in known:
            n = cohort.customers or 0
            out.append(f"New cohort {cohort.cohort}: {n:,} first-time buyer{'s' if n != 1 else ''}.")
    return out
