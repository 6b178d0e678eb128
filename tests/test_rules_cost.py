"""Rules that cannot be abused: a rule set is compiled once per revision and each item judged once (issue 26,
item 6: one bury rule of 5,000 SKUs took a batch of 100 users from 8 ms to 565 ms), and a rules document is
refused before anything is stored when it expands past the limits (YAML aliases made 0.6 MB a 201 MB hash)."""

import json
import math

import pytest

from cli.main import main
from recsvc import create_app
from recsvc.admin import steering
from recsvc.contract import keys
from recsvc.read import rule_format
from recsvc.read import rules as rules_module
from recsvc.read import steering as steering_module
from recsvc.read.rule_format import MAX_RULES_VALUES, RulesTooLarge, parse
from tests.gateways import steering_records
from tests.shop import CATALOG, write_shop
from training.train import Inputs, train

KEY = {"X-API-Key": "k"}
SHOP_ITEMS = [item for item, *_ in CATALOG]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    paths = write_shop(tmp_path_factory.mktemp("shop"))
    return Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"])


def large_rules(count: int = 200, skus: int = 500, tag: str = "") -> list[dict]:
    """``count`` bury and boost rules on SKU lists of ``skus`` ids, two of the shop's items in each."""
    out = []
    for n in range(count):
        ids = [SHOP_ITEMS[n % len(SHOP_ITEMS)], SHOP_ITEMS[(3 * n + 1) % len(SHOP_ITEMS)]]
        ids += [f"sku-{tag}{n}-{k}" for k in range(skus - 2)]
        kind, factor = ("bury", 0.5) if n % 2 else ("boost", 1.5)
        out.append({"name": f"r{n}", "type": kind, "when": {"item_id": ids}, "factor": factor})
    return out


def test_a_large_rule_set_is_compiled_once_per_revision_and_each_item_judged_once(r, shop, redis_url, monkeypatch):
    train(r, shop)
    steering.set_rules(steering_records(r), large_rules())
    parsed, picked, judged = [], [], []
    parse_once = steering_module.parse
    monkeypatch.setattr(steering_module, "parse", lambda raw: parsed.append(1) or parse_once(raw))
    init = rules_module.ListRules.__init__
    monkeypatch.setattr(
        rules_module.ListRules, "__init__", lambda self, *a, **k: picked.append(1) or init(self, *a, **k)
    )
    matches = rule_format.Rule.matches
    monkeypatch.setattr(rule_format.Rule, "matches", lambda self, *a: judged.append(1) or matches(self, *a))
    client = create_app({"REDIS_URL": redis_url, "API_KEYS": "k"}).test_client()
    users = ["alice", "bob", *[f"runner-{n}" for n in range(20)], *[f"viewer-{n}" for n in range(20)]]

    def answer_everyone() -> list[list[str]]:
        """The items of every user's recommendations, then of their batch; each answer names the rules."""
        answers = [client.get(f"/v1/users/{u}/recommendations?limit=5").json for u in users]
        assert all(a.get("rules") for a in answers)  # the rules apply
        batch = client.post("/v1/recommendations/batch", json={"user_ids": users}, headers=KEY).json["results"]
        return [[i["item_id"] for i in a["items"]] for a in [*answers, *batch]]

    first = answer_everyone()
    assert len(parsed) == 200  # each stored rule parsed once, for the whole revision
    assert len(picked) == 2  # one table for the recommendations, one for the batch: not one per answer
    judged_once = len(judged)
    assert 0 < judged_once <= 2 * 200 * len(CATALOG)  # at most once per rule, item and table
    assert answer_everyone() == first
    assert (len(parsed), len(picked), len(judged)) == (200, 2, judged_once)  # nothing compiled or judged again
    steering.set_rules(steering_records(r), large_rules()[:150])  # a new revision: compiled again, once
    client.get("/v1/users/alice/recommendations?limit=5")
    client.get("/v1/users/bob/recommendations?limit=5")
    assert (len(parsed), len(picked)) == (350, 3)


def test_a_yaml_alias_bomb_is_refused_with_a_clear_error_and_nothing_stored(r, shop, redis_url, tmp_path, capsys):
    train(r, shop)
    steering.set_rules(steering_records(r), [{"name": "keep-me", "type": "diversity"}])
    rev = r.get(keys.STEERING_REV)
    shared = ", ".join(f"sku-{k}" for k in range(2000))
    # 200 rules naming one list of 2,000 SKUs: 30 KB of YAML, 400,000 values once expanded
    many = tmp_path / "many.yaml"
    many.write_text(
        f"skus: &skus [{shared}]\nrules:\n"
        + "".join(f"- {{name: r{n}, type: bury, when: {{item_id: *skus}}}}\n" for n in range(200))
    )
    # a description nested six deep, ten to a level: a million strings from a few lines
    nested = tmp_path / "nested.yaml"
    levels = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 6)]
    nested.write_text("\n".join(levels) + "\nrules:\n- {name: bomb, type: diversity, description: *a5}\n")
    for command, bomb in (("set", many), ("set", nested), ("add", many), ("add", nested)):
        assert main(["--redis-url", redis_url, "rules", command, str(bomb)]) == 2
        error = capsys.readouterr().err
        assert "the rules are too large" in error and "YAML alias" in error and "nothing was stored" in error
        assert r.get(keys.STEERING_REV) == rev
        assert list(r.hgetall(keys.RULES)) == [b"default/keep-me"]
    fine = tmp_path / "fine.yaml"  # an alias within the limits is read as its copy
    fine.write_text("skus: &skus [shoe-1, tv-1]\nrules:\n- {name: up, type: boost, when: {item_id: *skus}}\n")
    assert main(["--redis-url", redis_url, "rules", "add", str(fine)]) == 0
    assert "1 rules added" in capsys.readouterr().out
    assert json.loads(r.hget(keys.RULES, "default/up"))["when"] == {"item_id": ["shoe-1", "tv-1"]}


def test_the_api_refuses_rules_over_the_limits_once_expanded_with_a_413(r, shop, redis_url):
    train(r, shop)
    client = create_app({"REDIS_URL": redis_url, "API_KEYS": "k"}).test_client()
    values = [str(k % 10) for k in range(MAX_RULES_VALUES)]  # 1.25 MB of JSON: within the body limit
    body = [{"name": "many", "type": "filter", "when": {"item_id": values}}]
    refused = client.put("/v1/rules", json=body, headers=KEY)
    assert refused.status_code == 413 and refused.json["error"]["code"] == "too_large"
    assert "250,000 values" in refused.json["error"]["message"]
    assert r.hlen(keys.RULES) == 0
    # added one by one, the rules are bounded together
    for n in range(3):
        part = large_rules(count=1, skus=60_000, tag=f"{n}-")[0] | {"name": f"part-{n}"}  # 0.9 MB each
        answer = client.post("/v1/rules", json=[part], headers=KEY)
        assert answer.status_code == (200 if n < 2 else 413)
    assert sorted(r.hkeys(keys.RULES)) == [b"default/part-0", b"default/part-1"]


def test_a_document_within_the_limits_is_measured_as_json_counts_it():
    document = [{"name": "a", "type": "boost", "when": {"item_id": ["x", "y"], "price": {"max": 5.5}}}, [], {}]
    assert rule_format.measure(document) == (12, len(json.dumps(document)))  # lists, objects and plain values
    loop: list = []
    loop.append(loop)  # YAML can make a list that holds itself: refused, not followed forever
    with pytest.raises(RulesTooLarge):
        rule_format.measure(loop)


@pytest.mark.parametrize(
    ("wanted", "value", "matched"),
    [
        (["a", "b"], "b", True),
        (["a", "b"], "c", False),
        ([1], 1.0, True),  # equal numbers match whatever their type
        ([1.5, 2], 1.5, True),
        ([True], 1, False),  # true never equals 1
        ([1], True, False),
        ([0], False, False),
        ([False, 0], False, True),
        ([1], [1], False),  # a list attribute equals no value
        ([1], {"a": 1}, False),
        ([math.nan], math.nan, False),  # NaN equals nothing
        ([math.inf], math.inf, True),
    ],
)
def test_a_value_condition_matches_as_equality_of_the_same_kind(wanted, value, matched):
    rule = parse({"name": "x", "type": "filter", "when": {"attr": wanted}})
    assert rule.matches({"attr": value}, frozenset()) is matched
