"""``recsvc train`` on what goes wrong in practice: exit 2, one line naming the cause, the served model kept."""

import pytest

from cli.main import main
from recsvc.contract import keys, versions
from tests.shop import write_shop
from training import publish


@pytest.fixture
def shop(tmp_path):
    return write_shop(tmp_path / "shop")


def train(capsys, redis_url, events, *extra):
    code = main(["--redis-url", redis_url, "train", "--events", str(events), "--param", "iterations=2", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def assert_failed_in_one_line(code, out, err, *words):
    assert code == 2 and out == "", (code, out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)


def test_a_run_that_cannot_get_the_publish_lock_fails_in_one_line(r, redis_url, shop, capsys, monkeypatch):
    assert train(capsys, redis_url, shop["events"])[0] == 0
    served = versions.current(r)
    r.set(keys.PUBLISH_LOCK, "another-run", px=60_000)  # a live run is publishing
    monkeypatch.setattr(publish, "LOCK_WAIT_S", 0.3)
    assert_failed_in_one_line(*train(capsys, redis_url, shop["events"]), "another training", "did not change")
    assert versions.current(r) == served and len(versions.list_versions(r)) == 1
