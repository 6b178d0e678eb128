"""Tasks, ranking and the whole run on splits whose answers are worked out by hand."""

import math

import numpy as np
import pytest

from tests.test_candidates import DAY, NOW, dataset_for, make_events
from training.config import TrainConfig
from training.evaluation import baselines, metrics, run, split


def tiny():
    rows = [(9, u, "p", "purchase") for u in ("u1", "u2", "u3")]
    rows += [(9, u, "q", "view") for u in ("u1", "u2", "u3", "u4")]
    rows += [(8, "u4", "r", "view")]
    rows += [
        (1, "u4", "p", "purchase"),
        (1, "u1", "r", "purchase"),
        (1, "u5", "q", "purchase"),
        (1, "u2", "p", "purchase"),
    ]  # u2 buys p again: not a new item
    events = make_events(rows)
    return events, split.split(events, NOW - 5 * DAY)


def test_tasks_keep_users_with_history_and_their_new_items_only():
    events, s = tiny()
    task = run.pick_tasks(s, len(events.item_ids))["purchase"]
    users = [events.user_ids[u] for u in task.users]
    assert users == ["u1", "u4"]  # u5 has no history; u2 only bought again
    assert [[events.item_ids[i] for i in r] for r in task.relevant] == [["r"], ["p"]]


def test_purchase_new_leaves_out_items_the_user_had_any_event_with():
    events, _ = tiny()
    rows = [(9, u, "p", "purchase") for u in ("u1", "u2", "u3")]
    rows += [(9, u, "q", "view") for u in ("u1", "u2", "u3", "u4")]
    rows += [(8, "u4", "r", "view"), (8, "u3", "s", "addtocart")]
    rows += [(1, "u4", "p", "purchase"), (1, "u4", "r", "purchase"), (1, "u1", "r", "purchase")]
    rows += [(1, "u3", "q", "purchase"), (1, "u3", "s", "purchase")]  # u3 viewed q and carted s: nothing new
    events = make_events(rows)
    s = split.split(events, NOW - 5 * DAY)
    tasks = run.pick_tasks(s, len(events.item_ids))
    named = {
        name: {events.user_ids[u]: sorted(events.item_ids[i] for i in r) for u, r in zip(t.users, t.relevant)}
        for name, t in tasks.items()
    }
    assert named["purchase"] == {"u1": ["r"], "u3": ["q", "s"], "u4": ["p", "r"]}
    assert named["purchase_new"] == {"u1": ["r"], "u4": ["p"]}  # u4 viewed r before the cutoff
    assert list(tasks) == ["purchase", "purchase_new", "purchase_or_cart", "any"]


def test_the_category_task_keeps_purchases_in_categories_new_to_the_user():
    rows = [(9, "u1", "p", "purchase"), (9, "u1", "q", "view"), (9, "u2", "q", "view")]
    rows += [(1, "u1", "p2", "purchase"), (1, "u1", "q", "purchase"), (1, "u1", "r", "purchase")]
    rows += [(1, "u2", "q", "purchase"), (1, "u3", "r", "purchase")]  # u3: no history before the cutoff
    events = make_events(rows)
    category = {"p": "pots", "p2": "pots", "q": "quilts", "r": "rugs"}
    names = sorted(set(category.values()))
    codes = np.array([names.index(category[i]) for i in events.item_ids], np.int32)
    task = run.category_task(split.split(events, NOW - 5 * DAY), codes)
    named = {events.user_ids[u]: sorted(names[c] for c in r) for u, r in zip(task.users, task.relevant)}
    assert named == {"u1": ["quilts", "rugs"], "u2": ["quilts"]}  # u1 had bought pots; viewing quilts is not buying


def test_category_baselines_put_the_users_own_categories_first_then_the_most_bought_from():
    events, s = tiny()
    data = dataset_for(events, {"p": "pots", "q": "quilts", "r": "rugs"})
    catalogue, names = data.catalogue, data.category_ids
    inter = run.build_interactions(s.train, TrainConfig(), n_items=len(events.item_ids))
    u4 = list(events.user_ids).index("u4")
    task = run.Task(users=np.array([u4]), relevant=[np.array([0])])
    ranked = run._category_baselines(inter, task, catalogue, 3)
    assert [names[c] for c in ranked["popular_categories"][0]][:1] == ["pots"]  # bought by three users
    own = [names[c] for c in ranked["own_categories"][0]]
    assert set(own[:2]) == {"quilts", "rugs"} and own[2] == "pots"  # u4 viewed q and r, then the most bought from
    assert [names[c] for c in ranked["bought_categories"][0]][:1] == ["pots"]  # u4 bought nothing: popular order


def test_every_metric_has_an_interval_and_every_model_a_paired_difference_to_the_reference():
    events, s = tiny()
    fixed = {"a": np.array([[2, 0], [0, 1]]), "b": np.array([[2, 0], [0, 1]]), "c": np.array([[0, 1], [1, 0]])}
    task = run.Task(users=np.array([0, 1]), relevant=[np.array([2]), np.array([0])])
    out = run.measure(fixed, task, n_items=3, reference="a")
    assert set(out["intervals"]["a"]) == {f"{m}@{k}" for m in metrics.METRICS for k in run.KS}
    lo, hi = out["intervals"]["a"]["ndcg@10"]
    assert lo <= out["models"]["a"]["ndcg@10"] <= hi == 1.0
    assert out["versus"]["reference"] == "a" and set(out["versus"]["models"]) == {"b", "c"}
    assert out["versus"]["models"]["b"] == {"difference": 0.0, "ci": [0.0, 0.0], "within_noise": True}
    c = out["versus"]["models"]["c"]  # c never hits at rank 1: a - c per user is 1 - 1/log2(3) and 1
    assert c["difference"] == pytest.approx((1 - 1 / math.log2(3) + 1) / 2, abs=1e-4)
    assert not c["within_noise"]
    assert "versus" not in run.measure(fixed, task, n_items=3, reference=None)


def test_popularity_scores_as_worked_out_by_hand():
    events, s = tiny()
    result = run.evaluate(s, dataset_for(events), {}, scorers=[baselines.Popular()])
    popular = result.tasks["purchase"]["models"]["popular"]
    # popular order q (4 users), p (3), r (1); u1 bought p: q, r -> hit at 2; u4: q, p, r -> hit at 2
    assert popular["ndcg@5"] == pytest.approx(1 / math.log2(3), abs=1e-4)
    assert popular["hit_rate@5"] == 1.0
    assert popular["precision@5"] == pytest.approx(1 / 5)
    assert popular["coverage@5"] == pytest.approx(1.0)
    assert result.tasks["purchase"]["users"] == 2


def test_rank_leaves_out_blocked_and_hidden_items():
    class Fixed(baselines.Scorer):
        def scores(self, users):
            return np.tile(np.array([4.0, 3.0, 2.0, 1.0], np.float32), (len(users), 1))

    import scipy.sparse as sp

    blocked = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0]], np.float32))
    ranked = run.rank(Fixed(), np.array([0, 1]), blocked, hidden=np.array([2]), k=3)
    assert ranked.tolist() == [[1, 3, -1], [0, 1, 3]]


def test_served_picks_beat_popularity_where_tastes_differ():
    rows = []
    for u in range(40):  # two groups of users, each buys its own items; later each buys one it missed
        group = "a" if u < 20 else "b"
        for i in range(6):
            if i != u % 6:
                rows.append((10, f"u{u:02d}", f"{group}{i}", "purchase"))
        rows.append((1, f"u{u:02d}", f"{group}{u % 6}", "purchase"))
    rows += [(10, f"x{n}", "pop", "purchase") for n in range(60)]  # a best seller nobody in the groups wants
    events = make_events(rows)
    data = dataset_for(events)
    s = split.split(data.events, NOW - 5 * DAY)
    config = TrainConfig(factors=4, iterations=10, blend_history=0.0)
    result = run.evaluate(s, data, {"served": config}, scorers=[baselines.Popular()])
    models = result.tasks["purchase"]["models"]
    assert models["served"]["hit_rate@5"] > 0.9
    assert models["served"]["ndcg@5"] > models["popular"]["ndcg@5"]
    assert set(result.activity["purchase"]["served"]) == {"1", "2-4", "5-19", "20+"}
