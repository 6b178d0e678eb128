"""``recsvc train`` on what goes wrong in practice: exit 2, one line naming the cause, the served model kept."""

import pytest

from cli.main import main
from recsvc.contract import keys, versions
from tests.commands import assert_failed_in_one_line, train
from tests.shop import write_shop
from training import serialize, version_writer


@pytest.fixture
def shop(tmp_path):
    return write_shop(tmp_path / "shop")


def test_a_run_that_cannot_get_the_publish_lock_fails_in_one_line(r, redis_url, shop, capsys, monkeypatch):
    assert train(capsys, redis_url, shop["events"])[0] == 0
    served = versions.current(r)
    r.set(keys.PUBLISH_LOCK, "another-run", px=60_000)  # a live run is publishing
    monkeypatch.setattr(version_writer, "LOCK_WAIT_S", 0.3)
    assert_failed_in_one_line(*train(capsys, redis_url, shop["events"]), "another training", "did not change")
    assert versions.current(r) == served and len(versions.list_versions(r)) == 1


def with_bad_rows(shop, n):
    with open(shop["events"], "a") as f:
        for k in range(n):
            f.write(f"3000-01-0{1 + k % 9}T00:00:00Z,u{k},shoe-1,view\n")
    return shop["events"]


def test_more_bad_rows_than_max_bad_rows_fails_and_keeps_the_model(r, redis_url, shop, capsys):
    assert train(capsys, redis_url, shop["events"])[0] == 0
    served = versions.current(r)
    events = with_bad_rows(shop, 60)  # 60 of 828 rows, 7%: more than the default 5%
    code, out, err = train(capsys, redis_url, events)
    assert_failed_in_one_line(code, out, err, "events: 60 bad rows", "--max-bad-rows", "line 770", "unchanged")
    assert_failed_in_one_line(*train(capsys, redis_url, events, "--max-bad-rows", "59"), "60 bad rows")
    assert_failed_in_one_line(*train(capsys, redis_url, events, "--max-bad-rows", "0"), "60 bad rows")
    assert versions.current(r) == served and len(versions.list_versions(r)) == 1
    code, out, _ = train(capsys, redis_url, events, "--max-bad-rows", "10%")
    assert code == 0 and "skipped 60 bad events rows" in out
    assert train(capsys, redis_url, events, "--max-bad-rows", "60")[0] == 0


@pytest.mark.parametrize("limit", ["-1", "1.5", "lots", "120%"])
def test_max_bad_rows_must_be_a_share_or_a_count(redis_url, shop, capsys, limit):
    with pytest.raises(SystemExit) as exit:
        main(["--redis-url", redis_url, "train", "--events", str(shop["events"]), "--max-bad-rows", limit])
    assert exit.value.code == 2
    assert "--max-bad-rows" in capsys.readouterr().err


def test_a_run_that_lost_the_publish_lock_fails_in_one_line(r, redis_url, shop, capsys, monkeypatch):
    assert train(capsys, redis_url, shop["events"])[0] == 0
    served = versions.current(r)
    real = serialize.user_records

    def taken_over_half_way(*args, **kwargs):
        for n, pair in enumerate(real(*args, **kwargs)):
            if n == 50:  # this run stalled past its TTL and another run took the lock
                r.set(keys.PUBLISH_LOCK, "another-run", px=60_000)
            yield pair

    monkeypatch.setattr(serialize, "user_records", taken_over_half_way)
    assert_failed_in_one_line(*train(capsys, redis_url, shop["events"]), "publish lock", "not served")
    assert versions.current(r) == served and len(versions.list_versions(r)) == 1
    assert r.get(keys.PUBLISH_LOCK) == b"another-run"  # the other run's lock is left alone
    assert len(r.keys(keys.PREFIX + ":v:*:meta")) == 1
