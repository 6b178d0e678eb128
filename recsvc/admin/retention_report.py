"""The retention report: one self-contained HTML page (inline SVG, no script, nothing fetched) from the figures.

Four plots a shop owner reads at a glance (the cohort heat map, the repeat rate by acquisition month,
revenue per customer by cohort with its projection, segment sizes month by month), the main
figures, and what changed since the previous version.
"""

import math
from html import escape
from pathlib import Path

from recsvc.admin.retention_changes import summary
from recsvc.contract.analytics import Cohort, GroupFigures, RepeatRate, RetentionAnalytics, SegmentMonth

SEGMENT_COLOURS = {"new": "#8ecae6", "repeat": "#219ebc", "vip": "#023047", "at_risk": "#ffb703", "lost": "#d62828"}
LINE_COLOURS = ("#219ebc", "#fb8500", "#2a9d8f", "#8338ec", "#e63946", "#6a994e", "#3a86ff", "#b5838d")
WINDOW_COLOURS = {"7": "#8338ec", "30": "#219ebc", "60": "#fb8500", "90": "#2a9d8f"}
WIDTH, HEIGHT, PAD = 640, 260, 44


def _share(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _heat(share: float) -> str:
    """White to deep blue with the share."""
    r, g, b = (int(255 + (c - 255) * share) for c in (2, 48, 71))
    return f"rgb({r},{g},{b})"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above ``value``: round grid values."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)


def _axes(y_max: float, y_label: str, x_labels: list[str], percent: bool) -> list[str]:
    """The frame, four horizontal grid lines with values, and the x labels (thinned to fit)."""
    out = [f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - 10}" y2="{HEIGHT - PAD}" stroke="#333"/>']
    for k in range(5):
        y = HEIGHT - PAD - k * (HEIGHT - 2 * PAD) / 4
        value = y_max * k / 4
        text = f"{100 * value:.0f}%" if percent else _tick(value, y_max)
        out.append(f'<line x1="{PAD}" y1="{y:.1f}" x2="{WIDTH - 10}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{PAD - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{text}</text>')
    step = max(1, len(x_labels) // 12)
    for i, label in enumerate(x_labels):
        if i % step == 0:
            out.append(
                f'<text x="{_x(i, len(x_labels)):.1f}" y="{HEIGHT - PAD + 14}" text-anchor="middle" '
                f'font-size="10">{escape(label)}</text>'
            )
    out.append(f'<text x="12" y="{PAD - 14}" font-size="11" fill="#555">{escape(y_label)}</text>')
    return out


def _tick(value: float, y_max: float) -> str:
    """A grid value: whole numbers on a tall axis, up to two decimals on a short one."""
    return f"{value:,.0f}" if y_max >= 8 else f"{value:.2f}".rstrip("0").rstrip(".")


def _x(i: int, n: int) -> float:
    return PAD + 10 + (i + 0.5) * (WIDTH - PAD - 30) / max(n, 1)


def _y(value: float, y_max: float) -> float:
    return HEIGHT - PAD - (value / y_max if y_max else 0) * (HEIGHT - 2 * PAD)


def _svg(parts: list[str], label: str, height: int = HEIGHT) -> str:
    body = "".join(parts)
    return (
        f'<svg viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" font-family="sans-serif">{body}</svg>'
    )


def _legend(entries: list[tuple[str, str]], y: int, dashed: bool = False) -> list[str]:
    out, x = [], PAD
    for name, colour in entries:
        out.append(f'<rect x="{x}" y="{y - 9}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="{y + 1}" font-size="11">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return out


def cohort_heat_map(cohorts: list[Cohort]) -> str:
    """Rows: acquisition months; columns: months since the first order; cells: the share who ordered."""
    if not cohorts:
        return "<p>No buyers yet.</p>"
    width = max(len(c.retention) for c in cohorts)
    cell_w, cell_h, left, top = min(48, (WIDTH - 120) // max(width, 1)), 22, 110, 28
    parts = [f'<text x="{left}" y="14" font-size="11" fill="#555">months since the first order →</text>']
    for k in range(width):
        parts.append(
            f'<text x="{left + k * cell_w + cell_w / 2}" y="{top - 4}" text-anchor="middle" font-size="10">{k}</text>'
        )
    for row, cohort in enumerate(cohorts):
        y = top + row * cell_h
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" font-size="11">'
            f"{escape(cohort.cohort or '')} ({cohort.customers or 0:,})</text>"
        )
        for k, share in enumerate(cohort.retention):
            ink = "#fff" if share > 0.55 else "#111"
            parts.append(
                f'<rect x="{left + k * cell_w}" y="{y}" width="{cell_w - 1}" height="{cell_h - 1}" '
                f'fill="{_heat(share)}">'
                f"<title>{escape(cohort.cohort or '')}, month {k}: {_share(share)}</title></rect>"
                f'<text x="{left + k * cell_w + cell_w / 2}" y="{y + 15}" text-anchor="middle" font-size="10" '
                f'fill="{ink}">{100 * share:.0f}</text>'
            )
    return _svg(parts, "cohort retention heat map", top + len(cohorts) * cell_h + 10)


def repeat_rate_chart(by_cohort: dict[str, GroupFigures]) -> str:
    """The repeat rate within 30, 60 and 90 days of the buyers acquired each month."""
    months = list(by_cohort)
    parts = _axes(1.0, "share of buyers who ordered again", months, percent=True)
    for days, colour in WINDOW_COLOURS.items():
        rates = [f.repeat_rate.get(days, RepeatRate()).rate for f in by_cohort.values()]
        points = [(_x(i, len(months)), _y(rate, 1.0)) for i, rate in enumerate(rates) if rate is not None]
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points]
    parts += _legend([(f"within {d} days", c) for d, c in WINDOW_COLOURS.items()], HEIGHT - 8)
    return _svg(parts, "repeat rate by acquisition month")


def ltv_chart(cohorts: list[Cohort], unit: str) -> str:
    """Cumulative revenue per customer by months since the first order, per cohort; dashed: the projection."""
    shown = cohorts[-len(LINE_COLOURS) :]
    projected = [c.projected_ltv for c in shown if c.projected_ltv]
    horizon = max([len(c.ltv) for c in shown] + [p.months or 0 for p in projected] + [1])
    top = max([v for c in shown for v in c.ltv] + [p.value or 0 for p in projected] + [1])
    label = "revenue per customer" if unit == "price" else "items bought per customer"
    top = nice_ceiling(top)
    parts = _axes(top, label, [str(k) for k in range(horizon)], percent=False)
    for cohort, colour in zip(shown, LINE_COLOURS):
        points = [(_x(k, horizon), _y(v, top)) for k, v in enumerate(cohort.ltv)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points]
        p = cohort.projected_ltv
        if p and p.months is not None and p.observed_months and p.value is not None and p.months > p.observed_months:
            start = p.observed_months - 1
            x0, y0 = _x(start, horizon), _y(cohort.ltv[start], top)
            x1, y1 = _x(p.months - 1, horizon), _y(p.value, top)
            parts.append(
                f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="{colour}" '
                f'stroke-width="2" stroke-dasharray="5,4"/>'
            )
    parts += _legend([(c.cohort or "", colour) for c, colour in zip(shown, LINE_COLOURS)], HEIGHT - 8)
    return _svg(parts, "revenue per customer by cohort")


def segments_chart(rows: list[SegmentMonth]) -> str:
    """Stacked bars: the buyers in each segment at the end of each month."""
    months = [r.month or "" for r in rows]
    top = nice_ceiling(max([r.buyers or 0 for r in rows] + [1]))
    parts = _axes(top, "buyers by segment at the end of the month", months, percent=False)
    bar = max(4.0, (WIDTH - PAD - 30) / max(len(rows), 1) * 0.7)
    for i, row in enumerate(rows):
        base = 0
        for name, colour in SEGMENT_COLOURS.items():
            n = row.count(name)
            if n:
                y0, y1 = _y(base, top), _y(base + n, top)
                parts.append(
                    f'<rect x="{_x(i, len(rows)) - bar / 2:.1f}" y="{y1:.1f}" width="{bar:.1f}" '
                    f'height="{y0 - y1:.1f}" fill="{colour}"><title>{escape(row.month or "")} {name}: {n:,}</title>'
                    "</rect>"
                )
            base += n
    parts += _legend([(name.replace("_", " "), c) for name, c in SEGMENT_COLOURS.items()], HEIGHT - 8)
    return _svg(parts, "segment sizes over time")


def _figures_table(figures: RetentionAnalytics) -> str:
    unit = figures.unit
    head = (
        "<tr><th></th><th>buyers</th><th>repeat ≤7 d</th><th>≤30 d</th><th>≤60 d</th><th>≤90 d</th>"
        "<th>orders / buyer</th>"
        f"<th>avg order {'value' if unit == 'price' else '(items)'}</th><th>revenue / buyer</th>"
        "<th>at risk</th><th>lost</th></tr>"
    )
    rows: list[tuple[str, GroupFigures]] = [("all buyers", figures.overall)]
    rows += [(name.replace("_", " "), f) for name, f in figures.by_segment.items()]
    body = "".join(
        f"<tr><th>{escape(name)}</th><td>{f.buyers or 0:,}</td>"
        + "".join(f"<td>{_share(f.repeat_rate.get(d, RepeatRate()).rate)}</td>" for d in WINDOW_COLOURS)
        + f"<td>{_number(f.orders_per_buyer)}</td><td>{_number(f.average_order_value)}</td>"
        f"<td>{_number(f.revenue_per_buyer)}</td><td>{_share(f.at_risk_share)}</td>"
        f"<td>{_share(f.lost_share)}</td></tr>"
        for name, f in rows
    )
    return f"<table>{head}{body}</table>"


STYLE = """
body { font-family: sans-serif; margin: 24px auto; max-width: 980px; color: #111; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
.grid { display: grid; grid-template-columns: 1fr; gap: 8px; }
table { border-collapse: collapse; font-size: 13px; } th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; }
td { text-align: right; } th { text-align: left; } .note { color: #555; font-size: 12px; }
ul.changes li { margin: 3px 0; }
"""


def render(
    version: str, figures: RetentionAnalytics, previous: RetentionAnalytics | None, previous_version: str | None
) -> str:
    """The whole page."""
    overall = figures.overall
    changes = "".join(f"<li>{escape(s)}</li>" for s in summary(figures, previous))
    since = f" (since {escape(previous_version)})" if previous_version else ""
    headline = _headline(overall.repeat_rate)
    unit = figures.unit
    projection = figures.ltv_projection
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Retention report {escape(version)}</title>
<style>{STYLE}</style></head><body>
<h1>Retention report</h1>
<p class="note">Model version {escape(version)}, months in {escape(figures.timezone or "UTC")}.
Orders are purchases more than 12 hours apart; values at catalog prices where known.</p>
<p><b>{overall.buyers or 0:,}</b> buyers placed <b>{overall.orders or 0:,}</b> orders.
{headline}</p>
<h2>What changed{since}</h2><ul class="changes">{changes}</ul>
<h2>Main figures, by segment</h2>{_figures_table(figures)}
<h2>Cohort retention: the share of each month's new buyers who ordered in each later month</h2>
{cohort_heat_map(figures.cohorts)}
<h2>Repeat rate by acquisition month</h2>{repeat_rate_chart(figures.by_cohort)}
<h2>{"Revenue" if unit == "price" else "Items bought"} per customer by cohort</h2>
{ltv_chart(figures.cohorts, unit)}
<p class="note">Dashed: projected to {projection.horizon_months} months by {escape(projection.method or "")}.</p>
<h2>Segments over time</h2>{segments_chart(figures.segments_over_time)}
</body></html>
"""


def _headline(rates: dict[str, RepeatRate]) -> str:
    """The repeat rate of the longest window that can be measured yet."""
    for days in ("90", "60", "30", "7"):
        rate = rates.get(days, RepeatRate())
        if rate.eligible:
            low, high = rate.ci95 or (None, None)
            return (
                f"<b>{_share(rate.rate)}</b> ordered again within {days} days (95% interval {_share(low)}–"
                f"{_share(high)}, over the {rate.eligible:,} buyers whose first order is at least {days} days old)."
            )
    return "No buyer's first order is a week old yet: repeat rates are not measurable."


def write(
    out: Path,
    version: str,
    figures: RetentionAnalytics,
    previous: RetentionAnalytics | None,
    previous_version: str | None,
) -> Path:
    """Write ``retention.html`` into the folder ``out``; returns its path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "retention.html"
    path.write_text(render(version, figures, previous, previous_version), encoding="utf-8")
    return path
