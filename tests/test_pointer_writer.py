"""The served pointer has one writer, the fenced switch: publish, rollback and an experiment's promotion.

Regressions: a rollback between a trim's "not the served one" check and its delete left the service on a
deleted version (/readyz 503, every answer popular); a rollback or a promotion during a publish was undone
seconds later by the publish's switch, and the rollback had printed "serving ..." and exited 0.
"""

import json

import pytest

from cli.main import main
from recsvc import create_app
from recsvc.admin import steering
from recsvc.contract import keys, versions
from recsvc.read.experiments import Arm
from tests.gateways import steering_records

KEY = {"X-API-Key": "k"}
PUBLISH_TOKEN = "20990101T000000Z-beef:0123456789abcdef"
"""The lock token of a publish under way (as ``training.version_writer.VersionWriter`` takes it)."""


def published(r, *names: str) -> list[str]:
    """Versions with a meta and an (empty) manifest, published in this order; the last one served."""
    for n, version in enumerate(names):
        r.set(keys.meta(version), json.dumps({"version": version}))
        r.set(keys.manifest(version), json.dumps({"keys": [], "sizes": {}, "families": {}}))
        r.set(keys.user(version, "alice"), b"x")
        r.zadd(keys.VERSIONS, {version: 1_000 + n})
    r.set(keys.CURRENT, names[-1])
    return list(names)


def a_publish_holds_the_lock(r) -> None:
    r.set(keys.PUBLISH_LOCK, PUBLISH_TOKEN, px=60_000)


def test_a_rollback_racing_a_trim_never_leaves_the_pointer_on_a_deleted_version(r, monkeypatch):
    oldest, middle, newest = published(r, "v1", "v2", "v3")
    listed = versions.current

    def rolled_back_just_after(client):
        """The trim reads the served version; at that moment an operator rolls back to the oldest one."""
        seen = listed(client)
        versions.rollback(client, oldest)
        return seen

    monkeypatch.setattr(versions, "current", rolled_back_just_after)
    deleted = versions.trim(r, keep=1)
    monkeypatch.undo()
    served = versions.current(r)
    assert served == oldest
    assert served not in deleted and r.exists(keys.meta(served), keys.manifest(served)) == 2
    assert versions.missing(r, served) == [] and r.exists(keys.user(served, "alice"))
    assert deleted == [middle] and not r.exists(keys.meta(middle))
    assert [v.version for v in versions.list_versions(r)] == [newest, oldest]


def test_a_served_or_pinned_version_is_never_deleted(r):
    first, second, served = published(r, "v1", "v2", "v3")
    r.sadd(keys.PINNED, second)
    with pytest.raises(versions.VersionInUse, match="being served"):
        versions.delete_version(r, served)
    with pytest.raises(versions.VersionInUse, match="experiment"):
        versions.delete_version(r, second)
    assert versions.delete_version(r, first) == 3  # meta, manifest and the user record
    assert {v.version for v in versions.list_versions(r)} == {second, served}


def test_a_deleted_version_cannot_be_rolled_back_to(r):
    first, served = published(r, "v1", "v2")
    versions.delete_version(r, first)
    with pytest.raises(versions.UnknownVersion, match="not published"):
        versions.rollback(r, first)
    r.set(keys.meta(first), "{}")  # a leftover meta does not make it published
    with pytest.raises(versions.UnknownVersion):
        versions.rollback(r, first)
    assert versions.current(r) == served


def test_a_rollback_while_a_publish_holds_the_lock_is_refused_with_exit_2(r, redis_url, capsys, monkeypatch):
    older, served = published(r, "v1", "v2")
    a_publish_holds_the_lock(r)
    monkeypatch.setattr(versions, "ROLLBACK_WAIT_S", 0.2, raising=False)
    assert main(["--redis-url", redis_url, "rollback", older]) == 2
    out, err = capsys.readouterr()
    assert "serving" not in out
    assert "publishing" in err and err.count("\n") == 1
    assert versions.current(r) == served
    assert r.get(keys.PUBLISH_LOCK).decode() == PUBLISH_TOKEN  # the publish keeps its lock
    r.delete(keys.PUBLISH_LOCK)
    assert main(["--redis-url", redis_url, "rollback", older]) == 0
    assert versions.current(r) == older and not r.exists(keys.PUBLISH_LOCK)


def test_a_promotion_while_a_publish_holds_the_lock_is_refused_and_the_experiment_runs_on(r, redis_url, monkeypatch):
    older, served = published(r, "v1", "v2")
    steering.start_experiment(steering_records(r), "new-model", [Arm("a", served), Arm("b", older)])
    a_publish_holds_the_lock(r)
    monkeypatch.setattr(versions, "ROLLBACK_WAIT_S", 0.2, raising=False)
    client = create_app({"REDIS_URL": redis_url, "TESTING": True, "API_KEYS": "k"}).test_client()
    answer = client.post("/v1/experiments/new-model/stop", json={"promote": "b"}, headers=KEY)
    assert answer.status_code == 409, answer.json
    assert answer.json["error"]["code"] == "conflict" and "publishing" in answer.json["error"]["message"]
    assert versions.current(r) == served
    assert steering.steering(steering_records(r)).experiment("new-model").running and r.sismember(keys.PINNED, older)
    assert main(["--redis-url", redis_url, "experiment", "stop", "new-model", "--promote", "b"]) == 2
    assert versions.current(r) == served
    r.delete(keys.PUBLISH_LOCK)
    done = client.post("/v1/experiments/new-model/stop", json={"promote": "b"}, headers=KEY)
    assert done.status_code == 200 and f"serving version {older}" in done.json["changes"]
    assert versions.current(r) == older and not r.smembers(keys.PINNED)


def test_a_publish_switch_after_a_refused_rollback_serves_the_new_version(r):
    """The publish's own switch is the same writer: it still serves the version it wrote."""
    published(r, "v1", "v2")
    a_publish_holds_the_lock(r)
    r.sadd(keys.STAGING, "v3")
    r.set(keys.meta("v3"), "{}")
    r.set(keys.manifest("v3"), "{}")
    with pytest.raises(versions.LockBusy):
        versions.rollback(r, "v1", wait_s=0.1)
    versions.switch(r, "v3", PUBLISH_TOKEN, 2_000.0)
    assert versions.current(r) == "v3" and not r.smembers(keys.STAGING)
    assert [v.version for v in versions.list_versions(r)] == ["v3", "v2", "v1"]


def test_a_deletion_cut_short_is_finished_by_the_next_clean_up(r, monkeypatch):
    first, served = published(r, "v1", "v2")

    def cut_short(*args, **kwargs):
        raise ConnectionError("the process died here")

    monkeypatch.setattr(r, "scan_iter", cut_short)
    with pytest.raises(ConnectionError):
        versions.delete_version(r, first)
    monkeypatch.undo()
    assert [v.version for v in versions.list_versions(r)] == [served]  # unpublished at once
    assert r.exists(keys.user(first, "alice"))  # its records not yet
    assert versions.clean_staging(r) == [first]
    assert not r.keys(keys.version_prefix(first) + "*") and not r.smembers(keys.STAGING)
