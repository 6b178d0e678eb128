"""A/B tests end to end on the known shop: two published versions, stable assignment close to the split,
answers tagged with their arm and served from its version, clicks and purchases counted per arm, and
the statistics against scipy on known cases."""

import json

import pytest
import redis
from scipy import stats

from cli.main import main
from recsvc import create_app
from recsvc.admin import steering
from recsvc.contract import keys, versions
from recsvc.read import arm_report, significance
from recsvc.read.experiments import Arm, Experiment, ExperimentError, parse_arm, parse_split
from tests.gateways import steering_records
from tests.shop import write_shop
from training.config import TrainConfig
from training.train import Inputs, train

KEY = {"X-API-Key": "k"}
USERS = [f"runner-{n}" for n in range(60)] + [f"viewer-{n}" for n in range(40)] + ["alice", "bob"]


def test_assignment_is_stable_and_close_to_the_split():
    experiment = Experiment("ranker", (Arm("a", share=0.7), Arm("b", share=0.3)), 0.0)
    subjects = [f"user-{n}" for n in range(20_000)]
    arms = [experiment.arm_for(s).name for s in subjects]
    assert abs(arms.count("a") / len(arms) - 0.7) < 0.015  # 5 standard deviations of a binomial share
    again = Experiment("ranker", experiment.arms, 123.0)  # stored and read back, or in another process
    assert [again.arm_for(s).name for s in subjects[:500]] == arms[:500]
    other = Experiment("colours", (Arm("a", share=0.5), Arm("b", share=0.5)), 0.0)
    same = sum(other.arm_for(s).name == "a" for s, arm in zip(subjects, arms) if arm == "a")
    assert 0.45 < same / arms.count("a") < 0.55  # another experiment's split is independent of this one's


def test_arms_and_splits_are_parsed_and_checked():
    assert parse_arm("b=v1,rules:summer", 0.5) == Arm("b", "v1", "summer", 0.5)
    assert parse_arm("a=current", 0.5) == Arm("a")
    assert parse_split("90,10", 2) == [0.9, 0.1]
    for bad in ("a", "a.b=v1", "=v1"):
        with pytest.raises(ExperimentError):
            parse_arm(bad, 0.5)
    for split, arms in (("50", 2), ("50,x", 2), ("50,0", 2), (None, 1), ("1,1,1,1,1,1", 6)):
        with pytest.raises(ExperimentError):
            parse_split(split, arms)


def test_proportions_against_a_contingency_table():
    """200 of 1,000 against 250 of 1,000: the pooled z-test is the chi-square test without correction."""
    found = significance.two_proportions(200, 1000, 250, 1000)
    _, p, _, _ = stats.chi2_contingency([[200, 800], [250, 750]], correction=False)
    assert found.difference == pytest.approx(0.05) and found.p_value == pytest.approx(p, rel=1e-9)
    assert found.significant and found.low < 0.05 < found.high and found.low > 0
    assert not significance.two_proportions(20, 100, 25, 100).significant  # the same rates on 10x fewer users
    low, high = stats.binomtest(5, 20).proportion_ci(method="wilson")
    assert (significance.rate(5, 20).low, significance.rate(5, 20).high) == (pytest.approx(low), pytest.approx(high))


def test_means_against_welchs_t_test():
    found = significance.welch(10.0, 9.0, 50, 12.0, 16.0, 40)
    expected = stats.ttest_ind_from_stats(12.0, 4.0, 40, 10.0, 3.0, 50, equal_var=False)
    assert found.p_value == pytest.approx(expected.pvalue, rel=1e-9) and found.significant
    values = [0.0] * 95 + [20.0, 35.0, 10.0, 50.0, 5.0]  # revenue per user: most spend nothing
    estimate, variance = significance.mean(sum(values), sum(v * v for v in values), len(values))
    interval = stats.t.interval(0.95, len(values) - 1, loc=estimate.value, scale=stats.sem(values))
    assert (estimate.low, estimate.high) == (pytest.approx(interval[0]), pytest.approx(interval[1]))
    assert variance == pytest.approx(stats.tvar(values))


@pytest.fixture(scope="module")
def two_versions(redis_url, tmp_path_factory):
    """The shop trained twice: (older, newer), the newer served."""
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    paths = write_shop(tmp_path_factory.mktemp("shop"))
    shop = Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"])
    older = train(r, shop).version
    newer = train(r, shop, TrainConfig(factors=8)).version
    yield older, newer
    r.flushdb()


@pytest.fixture
def lab(two_versions, redis_url):
    """A client of the service, and the Redis with no rules or experiments left by the test."""
    r = redis.Redis.from_url(redis_url)
    yield create_app({"REDIS_URL": redis_url, "API_KEYS": "k", "TESTING": True}).test_client(), r
    r.delete(keys.RULES, keys.EXPERIMENTS, keys.PINNED, *r.scan_iter(match="recsvc:x:*"))
    r.set(keys.CURRENT, two_versions[1])
    r.incr(keys.STEERING_REV)


def test_answers_come_from_their_arms_version_and_say_their_arm(lab, two_versions):
    client, r = lab
    older, newer = two_versions
    started = client.post("/v1/experiments", json={"name": "new-model", "arms": {"a": older, "b": newer}}, headers=KEY)
    assert started.status_code == 201 and started.json["running"]
    seen = {}
    for user in USERS:
        answer = client.get(f"/v1/users/{user}/recommendations", headers=KEY).json
        arm = answer["experiment"]["arm"]
        assert answer["experiment"]["name"] == "new-model"
        assert answer["model_version"] == {"a": older, "b": newer}[arm]
        assert answer["rec_id"].split(".")[3:5] == ["new-model", arm]
        seen[user] = arm
        again = client.get(f"/v1/users/{user}/category-offers").json
        assert again["experiment"]["arm"] == arm and again["model_version"] == answer["model_version"]
    assert 30 < list(seen.values()).count("a") < 72  # 102 users split 50/50
    answers = lambda: sum(arm["answers"] for arm in client.get("/v1/experiments/new-model", headers=KEY).json["arms"])  # noqa: E731
    before = answers()
    batch = client.post("/v1/recommendations/batch", json={"user_ids": USERS[:20]}, headers=KEY).json
    assert answers() == before + 20  # each of the batch's answers counted once
    assert batch["model_version"] == newer  # the served one; each result names its arm's
    for result in batch["results"]:
        assert result["experiment"]["arm"] == seen[result["user_id"]]
        assert result["model_version"] == {"a": older, "b": newer}[seen[result["user_id"]]]
    everyone = client.post("/v1/recommendations/batch", json={"user_ids": USERS}, headers=KEY).json["results"]
    for result in everyone:  # the lists of each version's item records, though an index names one in both
        alone = client.get(f"/v1/users/{result['user_id']}/recommendations", headers=KEY).json
        assert result["items"] == alone["items"]
    also = client.get("/v1/items/shoe-1/also-bought?user_id=alice", headers=KEY).json
    assert also["experiment"]["arm"] == seen["alice"] and also["model_version"] in (older, newer)
    assert "experiment" not in client.get("/v1/items/shoe-1/also-bought").json  # no user: no arm
    visitor = client.post("/v1/sessions/recommendations", json={"items": ["tv-1"], "visitor_id": "visitor-0001"}).json
    assert visitor["experiment"]["name"] == "new-model"
    report = client.get("/v1/experiments/new-model", headers=KEY).json
    users = {arm["name"]: arm["users"] for arm in report["arms"]}
    assert users["a"] + users["b"] == len(USERS) + 1  # every user once, and the visitor


def test_versions_in_a_running_experiment_are_never_trimmed(lab, two_versions):
    client, r = lab
    older, newer = two_versions
    steering.start_experiment(steering_records(r), "keep", [Arm("a", older), Arm("b", newer)])
    assert versions.trim(r, keep=1) == [] and r.exists(keys.meta(older))
    with pytest.raises(ExperimentError, match="is running"):
        steering.start_experiment(steering_records(r), "second", [Arm("a", older), Arm("b", newer)])
    steering.stop_experiment(steering_records(r), "keep")
    with pytest.raises(ExperimentError, match="exists already"):
        steering.start_experiment(steering_records(r), "keep", [Arm("a", older), Arm("b", newer)])
    with pytest.raises(ExperimentError, match="not published"):
        steering.start_experiment(steering_records(r), "third", [Arm("a", "v-none"), Arm("b", newer)])
    assert not r.smembers(keys.PINNED)  # stopped (so trimming may take it), and a refused start leaves nothing


def test_clicks_and_purchases_are_counted_per_arm(lab, two_versions):
    client, r = lab
    older, newer = two_versions
    steering.start_experiment(steering_records(r), "counting", [Arm("a", older, share=0.5), Arm("b", newer, share=0.5)])
    experiment = steering.steering(steering_records(r)).experiment("counting")
    in_a = next(u for u in USERS if experiment.arm_for(u).name == "a")
    in_b = next(u for u in USERS if experiment.arm_for(u).name == "b")
    answer_a = client.get(f"/v1/users/{in_a}/recommendations", headers=KEY).json  # given to the user: clicks are theirs
    answer_b = client.get(f"/v1/users/{in_b}/recommendations", headers=KEY).json
    for answer, user in ((answer_a, in_a), (answer_b, in_b)):
        shown = answer["items"][0]["item_id"]
        assert client.post("/v1/track", json={"rec_id": answer["rec_id"], "type": "impression", "user_id": user}).json
        click = {
            "rec_id": answer["rec_id"],
            "type": "click",
            "user_id": user,
            "item_id": shown,
            "shown": [i["item_id"] for i in answer["items"]],
        }
        assert client.post("/v1/track", json=click).json == {"counted": True}
    bought = answer_b["items"][0]
    events = [
        {
            "user_id": in_b,
            "item_id": bought["item_id"],
            "event": "purchase",
            "quantity": 2,
            "rec_id": answer_b["rec_id"],
        },
        {"user_id": in_a, "item_id": "coffee-1", "event": "purchase"},  # not from a list: counted for all purchases
        {"user_id": "someone-new", "item_id": "coffee-1", "event": "purchase"},  # never answered: not counted
    ]
    assert client.post("/v1/events", json=events, headers=KEY).json["accepted"] == 3
    report = client.get("/v1/experiments/counting", headers=KEY).json
    a, b = report["arms"]
    assert (a["users"], a["impressions"], a["clicks"], a["purchases"], a["all_purchases"]) == (1, 1, 1, 0, 1)
    assert (b["users"], b["impressions"], b["clicks"], b["purchases"], b["all_purchases"]) == (1, 1, 1, 1, 1)
    assert b["revenue"] == pytest.approx(2 * bought["price"]) and a["all_revenue"] == pytest.approx(18.0)
    assert a["ctr"]["value"] == 1.0 and a["ctr_basis"] == "impressions"
    assert b["conversion"]["value"] == 1.0 and a["conversion"]["value"] == 0.0
    comparison = report["comparisons"][0]
    assert comparison["arm"] == "b" and comparison["against"] == "a"
    assert comparison["conversion"]["test"] == significance.PROPORTIONS_TEST
    assert comparison["revenue_per_user"]["difference"] is None  # one user an arm: nothing to tell


def test_stopping_keeps_the_figures_and_promotes_an_arm(lab, two_versions):
    client, r = lab
    older, newer = two_versions
    steering.set_rules(
        steering_records(r),
        [{"name": "shoes-up", "type": "boost", "when": {"category": "sports"}, "variant": "summer"}],
    )
    steering.start_experiment(steering_records(r), "promo", [Arm("a", newer), Arm("b", older, "summer")])
    for user in USERS[:30]:
        client.get(f"/v1/users/{user}/recommendations")
    before = arm_report.report(steering_records(r).counts, steering.steering(steering_records(r)).experiment("promo"))
    stop = client.post("/v1/experiments/promo/stop", json={"promote": "b"}, headers=KEY)
    assert stop.status_code == 200 and stop.json["promoted"] == "b" and not stop.json["running"]
    assert [a["users"] for a in stop.json["arms"]] == [a["users"] for a in before["arms"]]
    assert versions.current(r) == older
    assert [(x["name"], x.get("variant", "default")) for x in client.get("/v1/rules", headers=KEY).json["rules"]] == [
        ("shoes-up", "default")
    ]
    assert not r.exists(keys.experiment_users("promo", "a")) and not r.smembers(keys.PINNED)
    answer = client.get("/v1/users/runner-1/recommendations").json
    assert "experiment" not in answer and answer["model_version"] == older
    assert client.get("/v1/experiments/promo", headers=KEY).json["arms"][0]["users"] == before["arms"][0]["users"]
    assert client.post("/v1/experiments/promo/stop", headers=KEY).status_code == 400  # stopped already
    assert client.post("/v1/experiments/nothing/stop", headers=KEY).status_code == 404


def test_the_commands_run_a_campaign_and_an_experiment(lab, two_versions, redis_url, tmp_path, capsys):
    client, r = lab
    older, newer = two_versions
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "- name: coffee-week\n  type: pin\n  item_id: coffee-2\n  position: 1\n  lists: [recommendations]\n"
        "- name: cheaper\n  type: bury\n  when: {price: {min: 400}}\n  factor: 0.5\n  variant: thrifty\n"
    )
    assert main(["--redis-url", redis_url, "rules", "set", str(rules)]) == 0
    assert client.get("/v1/users/alice/recommendations").json["items"][0]["item_id"] == "coffee-2"
    assert main(["--redis-url", redis_url, "rules", "list"]) == 0
    assert "coffee-week  pin" in capsys.readouterr().out
    start = ["--redis-url", redis_url, "experiment", "start", "thrift", "--arm", f"a={older}"]
    assert main([*start, "--arm", "b=current,rules:thrifty", "--split", "80,20"]) == 0
    assert "b  20%  current,rules:thrifty" in capsys.readouterr().out
    assert main([*start, "--arm", "b=rules:nothing"]) == 2
    assert "no rules of variant 'nothing'" in capsys.readouterr().err
    for user in USERS:
        client.get(f"/v1/users/{user}/recommendations")
    assert main(["--redis-url", redis_url, "experiment", "show", "thrift"]) == 0
    shown = capsys.readouterr().out
    assert "b vs a, conversion:" in shown and "two-proportion z-test" in shown
    assert main(["--redis-url", redis_url, "experiment", "stop", "thrift"]) == 0
    assert main(["--redis-url", redis_url, "experiment", "list"]) == 0
    assert "thrift  started" in capsys.readouterr().out
    assert main(["--redis-url", redis_url, "rules", "remove", "coffee-week"]) == 0
    assert client.get("/v1/users/alice/recommendations").json["items"][0]["item_id"] != "coffee-2"
    bad = tmp_path / "bad.json"
    bad.write_text('[{"name": "x", "type": "boost", "when": {"price": {"max": 5}}, "factor": 0.5}]')
    assert main(["--redis-url", redis_url, "rules", "set", str(bad)]) == 2
    assert "a boost's factor must be above 1" in capsys.readouterr().err


def test_an_email_export_gives_each_user_their_arm(lab, two_versions, redis_url, tmp_path, capsys):
    client, r = lab
    older, newer = two_versions
    steering.start_experiment(steering_records(r), "mail", [Arm("a", older), Arm("b", newer)])
    out = tmp_path / "picks.jsonl"
    assert main(["--redis-url", redis_url, "export", "picks", "--out", str(out), "--no-progress"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    experiment = steering.steering(steering_records(r)).experiment("mail")
    assert len(rows) > 100
    for row in rows:
        arm = experiment.arm_for(row["user_id"])
        assert row["experiment"] == {"name": "mail", "arm": arm.name} and row["model_version"] == arm.version
    csv_out = tmp_path / "picks.csv"
    assert main(["--redis-url", redis_url, "export", "picks", "--out", str(csv_out), "--no-progress"]) == 0
    header, first = csv_out.read_text().splitlines()[:2]
    assert header.endswith(",experiment,arm") and first.split(",")[-2] == "mail"
