"""A plain-language verdict from the paired differences: publish the served picks or not.

The served picks are published when they beat popularity beyond noise (the bootstrap interval
of the per-user difference on NDCG@10 lies above 0) and no baseline beats them beyond noise.
"""

TASKS = ("purchase", "purchase_or_cart", "any")
"""The tasks a verdict may rest on, first choice first: the first with enough users is taken."""
MIN_USERS = 50
"""Fewer users than this measure too little to decide on; the next task is taken."""
LABELS = {"popular": "popularity", "itemknn_bm25": "item-kNN BM25", "itemknn_cosine": "item-kNN cosine"}


def task_of(result: dict) -> str | None:
    """The task the verdict rests on: the first of TASKS with MIN_USERS users, else the one with most users."""
    tasks = {name: info for name, info in result.get("tasks", {}).items() if name in TASKS and info.get("versus")}
    if not tasks:
        return None
    enough = [name for name in TASKS if name in tasks and tasks[name]["users"] >= MIN_USERS]
    return enough[0] if enough else max(tasks, key=lambda name: tasks[name]["users"])


def baselines(result: dict, task: str) -> list[str]:
    """The models of a task to beat: not the served picks or their serving variants (``<served>_all_views``),
    not the other orders of the served model (the fixed blend); plain ALS is one of the baselines."""
    reference = result["tasks"][task]["versus"]["reference"]
    ours = (set(result.get("parameters") or {}) | {reference}) - {"als_plain"}
    models = result["tasks"][task]["models"]
    return [name for name in models if name not in ours and not name.startswith(f"{reference}_")]


def verdict(result: dict) -> dict | None:
    """{"task", "publish", "text", "against": {baseline: paired difference}} for the verdict's task."""
    task = task_of(result)
    if task is None:
        return None
    info = result["tasks"][task]
    versus, models = info["versus"], info["models"]
    metric = versus["metric"]
    others = baselines(result, task)
    if not others:
        return None
    best = max(others, key=lambda name: models[name][metric])
    named = [name for name in ("popular", "itemknn_bm25") if name in others]
    against = {name: versus["models"][name] for name in dict.fromkeys([*named, best])}
    beaten_by = [name for name in others if versus["models"][name]["ci"][1] < 0]
    beats_popular = "popular" in against and against["popular"]["ci"][0] > 0
    publish = beats_popular and not beaten_by
    parts = []
    for name, d in against.items():
        label = LABELS.get(name, name)
        if name == best and name not in named:
            label = f"the best baseline ({label})"
        elif name == best:
            label += " (the best baseline)"
        parts.append(f"{_phrase(d)} {label} by {abs(d['difference']):.4f} ({_ci(d)})")
    reference = versus["reference"]
    text = (
        f"{'Publish' if publish else 'Do not publish'}: on {task} ({info['users']} users, {metric}), "
        f"the served picks ({reference}, {models[reference][metric]:.4f}) " + "; ".join(parts) + "."
    )
    if not publish:
        if beaten_by:
            text += f" Beaten beyond noise by {', '.join(LABELS.get(n, n) for n in beaten_by)}."
        else:
            text += " They do not beat popularity beyond noise."
    return {"task": task, "publish": publish, "text": text, "against": against}


def _phrase(d: dict) -> str:
    return "beat" if d["difference"] >= 0 else "trail"


def _ci(d: dict) -> str:
    lo, hi = d["ci"]
    noise = "; within noise" if d["within_noise"] else ""
    return f"95% CI {lo:+.4f} to {hi:+.4f}{noise}"
