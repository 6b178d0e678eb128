"""The evaluation report: JSON for machines, one self-contained HTML page with plots for people."""

import base64
import html
import io
import json
from pathlib import Path

from training.evaluation.metrics import METRICS
from training.evaluation.run import KS
from training.evaluation.verdict import verdict

MAIN_TASK = "purchase_or_cart"
"""The task tuning scores on."""
PURCHASE_TASKS = ("purchase", "purchase_new")
"""The main table: all next purchases, and next purchases of items new to the user."""


def write(result: dict, out: Path) -> dict[str, Path]:
    """Write report.json and report.html into the folder out."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "report.json"
    json_path.write_text(json.dumps(result, indent=2, sort_keys=False))
    html_path = out / "report.html"
    html_path.write_text(render_html(result))
    md_path = out / "report.md"
    md_path.write_text(markdown(result))
    return {"json": json_path, "html": html_path, "markdown": md_path}


def value(info: dict, name: str, metric: str) -> str:
    """A model's metric with half its bootstrap interval's width where known: "0.0945 ± 0.0123"."""
    text = f"{info['models'][name][metric]:.4f}"
    bounds = info.get("intervals", {}).get(name, {}).get(metric)
    return f"{text} ± {(bounds[1] - bounds[0]) / 2:.4f}" if bounds else text


def versus(info: dict, name: str) -> str:
    """The reference minus this model per user, and its interval: "+0.0012 [-0.0010, +0.0031] within noise"."""
    v = info.get("versus")
    if not v:
        return ""
    if name == v["reference"]:
        return "(reference)"
    d = v["models"][name]
    noise = " within noise" if d["within_noise"] else ""
    return f"{d['difference']:+.4f} [{d['ci'][0]:+.4f}, {d['ci'][1]:+.4f}]{noise}"


def main_table(result: dict, k: int = 10) -> list[list[str]]:
    """Rows of the main table: each model's NDCG@k ± CI, recall@k and difference to the served picks, both tasks."""
    tasks = [(t, result["tasks"][t]) for t in PURCHASE_TASKS if t in result.get("tasks", {})]
    if not tasks:
        return []
    names = list(dict.fromkeys(n for _, info in tasks for n in _ordered(info["models"])))
    columns = (f"ndcg@{k}", f"recall@{k}", "vs served")
    rows = [["model"] + [f"{t} ({info['users']} users) {c}" for t, info in tasks for c in columns]]
    for name in names:
        row = [name]
        for _, info in tasks:
            if name in info["models"]:
                row += [value(info, name, f"ndcg@{k}"), value(info, name, f"recall@{k}"), versus(info, name)]
            else:
                row += ["", "", ""]
        rows.append(row)
    return rows


def markdown(result: dict, k: int = 10) -> str:
    """The verdict, the main table and the results at k as Markdown tables, one per task, best NDCG first."""
    lines = []
    decided = verdict(result)
    if decided:
        lines += [f"**Verdict.** {decided['text']}", ""]
    rows = main_table(result, k)
    if rows:
        lines += [
            f"Purchase tasks at K = {k} (± half the 95% bootstrap interval over users; vs served: the served "
            "picks minus the model, per user, with its interval)",
            "",
            "| " + " | ".join(rows[0]) + " |",
            "|---|" + "---:|" * (len(rows[0]) - 1),
        ]
        lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
        lines.append("")
    wanted = [f"{m}@{k}" for m in (*METRICS, "coverage")]
    for task, info in result.get("tasks", {}).items():
        models = info["models"]
        extra = ["vs served"] if info.get("versus") else []
        lines += [
            f"{task} ({info['users']} users)",
            "",
            "| model | " + " | ".join(wanted + extra) + " |",
            "|---|" + "---:|" * len(wanted + extra),
        ]
        for name in _ordered(models):
            cells = [value(info, name, w) for w in wanted] + ([versus(info, name)] if extra else [])
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _plots():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    _plots().close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(data: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _ordered(models: dict) -> list[str]:
    return sorted(models, key=lambda m: -models[m].get("ndcg@10", 0.0))


def plot_by_model(task: str, models: dict) -> str:
    plt = _plots()
    names = _ordered(models)
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1))
    ax.barh(names[::-1], [models[n]["ndcg@10"] for n in names[::-1]], color="#3b7dd8")
    ax.set_xlabel("NDCG@10")
    ax.set_title(f"{task}: NDCG@10 by model")
    return _png(fig)


def plot_by_k(task: str, models: dict, metric: str = "ndcg") -> str:
    plt = _plots()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in _ordered(models):
        ax.plot(KS, [models[name][f"{metric}@{k}"] for k in KS], marker="o", label=name)
    ax.set_xticks(KS)
    ax.set_xlabel("K")
    ax.set_ylabel(f"{metric}@K")
    ax.set_title(f"{task}: {metric} by K")
    ax.legend(fontsize=8)
    return _png(fig)


def plot_by_activity(task: str, activity: dict) -> str:
    plt = _plots()
    names = list(activity)
    buckets = list(next(iter(activity.values()))) if activity else []
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(names), 1)
    for n, name in enumerate(names):
        values = [activity[name][b] or 0.0 for b in buckets]
        ax.bar([x + n * width for x in range(len(buckets))], values, width, label=name)
    ax.set_xticks(
        [x + 0.4 - width / 2 for x in range(len(buckets))], [f"{b} item{'s' if b != '1' else ''}" for b in buckets]
    )
    ax.set_ylabel("NDCG@10")
    ax.set_title(f"{task}: NDCG@10 by user activity (distinct items before the cutoff)")
    ax.legend(fontsize=7, ncol=2)
    return _png(fig)


def _table(info: dict) -> str:
    models = info["models"]
    columns = [f"{m}@{k}" for k in KS for m in (*METRICS, "coverage")]
    extra = ["vs served (ndcg@10)"] if info.get("versus") else []
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns + extra)
    best = {c: max(models[m][c] for m in models) for c in columns} if models else {}
    rows = []
    for name in _ordered(models):
        cells = "".join(
            f"<td{' class=best' if models[name][c] == best[c] and best[c] > 0 else ''}>"
            f"{html.escape(value(info, name, c))}</td>"
            for c in columns
        )
        if extra:
            cells += f"<td>{html.escape(versus(info, name))}</td>"
        rows.append(f"<tr><th>{html.escape(name)}</th>{cells}</tr>")
    return f"<table><tr><th>model</th>{head}</tr>{''.join(rows)}</table>"


def _main_table(result: dict) -> str:
    rows = main_table(result)
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join(
        f"<tr><th>{html.escape(row[0])}</th>" + "".join(f"<td>{html.escape(c)}</td>" for c in row[1:]) + "</tr>"
        for row in rows[1:]
    )
    return (
        "<h2>Purchase tasks at K = 10</h2><p>± half the 95% bootstrap interval over users; vs served: the served "
        f"picks minus the model, per user, with its interval.</p><table><tr>{head}</tr>{body}</table>"
    )


def render_html(result: dict) -> str:
    """One page, plots embedded as PNG, no outside resources."""
    parts = [
        f"<h1>Offline evaluation: {html.escape(str(result.get('dataset', '')))}</h1>",
        f"<p>Split: {html.escape(json.dumps(result.get('split', {})))}</p>",
    ]
    decided = verdict(result)
    if decided:
        parts.insert(1, f"<p class=verdict><b>Verdict.</b> {html.escape(decided['text'])}</p>")
    parts.append(_main_table(result))
    if result.get("tuning"):
        t = result["tuning"]
        parts.append(
            f"<p>Tuning: {t['trials']} trials in {t['seconds']:.0f} s; best {html.escape(t['metric'])} "
            f"{t['best_score']:.4f} with {html.escape(json.dumps(t['best']))}</p>"
        )
    try:
        _plots()
        plots = True
    except ImportError:
        plots = False
        parts.append("<p>No plots: matplotlib is not installed (<code>pip install 'recsvc[eval]'</code>).</p>")
    for task, info in result.get("tasks", {}).items():
        models = info["models"]
        parts.append(f"<h2>{html.escape(task)} ({info['users']} users)</h2>")
        if not models or not info["users"]:
            parts.append("<p>No users to measure this on in the test period.</p>")
            continue
        if plots:
            parts.append(_img(plot_by_model(task, models), f"{task} NDCG@10 by model"))
            parts.append(_img(plot_by_k(task, models), f"{task} NDCG by K"))
        activity = result.get("activity", {}).get(task)
        if activity and plots:
            parts.append(_img(plot_by_activity(task, activity), f"{task} NDCG@10 by user activity"))
        parts.append(_table(info))
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td.best{background:#d8f0d0;font-weight:bold}"
        "img{display:block;margin:1em 0}p.verdict{font-size:16px;background:#f4f4f4;padding:.6em}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>recsvc offline evaluation</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )
