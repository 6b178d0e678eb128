"""The recsvc command: train, models, rollback; bad input leaves the served model as it was."""

import pytest

from cli.main import main
from recsvc.contract import versions
from tests.shop import write_shop


@pytest.fixture
def shop(tmp_path):
    return write_shop(tmp_path / "shop")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def train_args(redis_url, shop, *extra):
    return [
        "--redis-url",
        redis_url,
        "train",
        "--events",
        str(shop["events"]),
        "--catalog",
        str(shop["catalog"]),
        "--categories",
        str(shop["categories"]),
        *extra,
    ]


def test_train_publishes_and_prints_a_summary(r, redis_url, shop, capsys):
    code, out, _ = run(capsys, *train_args(redis_url, shop, "--param", "factors=8", "--param", "iterations=3"))
    assert code == 0
    version = versions.current(r)
    assert f"published model {version}" in out
    assert "bytes per user" in out
    assert versions.list_versions(r)[0].summary.parameters["factors"] == 8


def test_bad_training_file_exits_non_zero_and_keeps_the_model(r, redis_url, shop, tmp_path, capsys):
    assert run(capsys, *train_args(redis_url, shop))[0] == 0
    served = versions.current(r)
    bad = tmp_path / "bad.csv"
    bad.write_text("when,who\n1,2\n")
    code, out, err = run(capsys, "--redis-url", redis_url, "train", "--events", str(bad))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "missing column" in err and "unchanged" in err
    assert versions.current(r) == served and len(versions.list_versions(r)) == 1


def test_strict_names_the_line(r, redis_url, shop, capsys):
    with open(shop["events"], "a") as f:
        f.write("1700000000,u1,i1,click\n")
    code, _, err = run(capsys, *train_args(redis_url, shop, "--strict"))
    assert code == 2 and "events.csv line" in err and "click" in err
    assert versions.current(r) is None
    code, out, _ = run(capsys, *train_args(redis_url, shop))  # without --strict it is skipped and reported
    assert code == 0 and "skipped 1 bad events rows" in out and "click" in out


def test_models_and_rollback(r, redis_url, shop, capsys):
    run(capsys, *train_args(redis_url, shop))
    first = versions.current(r)
    run(capsys, *train_args(redis_url, shop))
    second = versions.current(r)
    code, out, _ = run(capsys, "--redis-url", redis_url, "models")
    assert code == 0 and out.index(second) < out.index(first) and f"* {second}" in out
    assert run(capsys, "--redis-url", redis_url, "rollback", first)[0] == 0
    assert versions.current(r) == first
    code, _, err = run(capsys, "--redis-url", redis_url, "rollback", "no-such-version")
    assert code == 2 and "not published" in err and versions.current(r) == first


def test_unknown_parameter_is_refused(redis_url, shop, capsys):
    code, _, err = run(capsys, *train_args(redis_url, shop, "--param", "speed=11"))
    assert code == 2 and "speed=11" in err


def test_demo_trains_a_shop_whose_answers_make_sense(r, redis_url, tmp_path, capsys):
    from recsvc import create_app
    from training.samples.demo_catalog import COMPLEMENTS

    code, out, _ = run(capsys, "--redis-url", redis_url, "demo", "--no-serve", "--folder", str(tmp_path / "shop"))
    assert code == 0 and "published model" in out
    client = create_app({"REDIS_URL": redis_url}).test_client()
    for category, complements in COMPLEMENTS.items():
        best = client.get(f"/v1/popular?category={category}&limit=1").json["items"][0]["item_id"]
        answer = client.get(f"/v1/items/{best}/also-bought?limit=5").json
        categories = [i["category_id"] for i in answer["items"]]
        assert set(categories[:3]) & set(complements), (best, categories)
        similar = client.get(f"/v1/items/{best}/similar?limit=3").json
        assert category in [i["category_id"] for i in similar["items"]], (best, similar)
