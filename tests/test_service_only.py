"""The service runs without the trainer: an install without the ``train`` extra serves a published model.

A subprocess hides implicit, lightgbm, scipy, pyarrow, threadpoolctl and ``training`` itself (any import of them
fails as if they were not installed), then answers every kind of list from a model trained here.
"""

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import redis

from recsvc.contract import keys
from tests.conftest import API_KEY
from training.samples.demo_shop import write_demo_shop
from training.train import Inputs, train

ROOT = Path(__file__).resolve().parents[1]
TRAINER = ("implicit", "lightgbm", "scipy", "pyarrow", "threadpoolctl", "training")

HIDE_TRAINER = f"""
import sys

TRAINER = {TRAINER!r}

class HideTrainer:
    '''Every import of the trainer or its dependencies fails, as on an install without them.'''

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in TRAINER:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, HideTrainer())
"""

SERVE = """
import contextlib, io, json
from recsvc import create_app
from cli.main import main

subjects = json.loads(sys.argv[1])
client = create_app({"REDIS_URL": subjects["redis_url"], "TESTING": True, "API_KEYS": subjects["key"]}).test_client()
user, item = subjects["user"], subjects["item"]
auth = {"X-API-Key": subjects["key"]}
answers = {
    "/readyz": client.get("/readyz"),
    "recommendations": client.get(f"/v1/users/{user}/recommendations?limit=5"),
    "also-bought": client.get(f"/v1/items/{item}/also-bought?limit=5"),
    "similar": client.get(f"/v1/items/{item}/similar?limit=5"),
    "category-offers": client.get(f"/v1/users/{user}/category-offers"),
    "popular": client.get("/v1/popular?limit=5"),
    "session": client.post("/v1/sessions/recommendations", json={"items": subjects["session"], "limit": 5}),
    "buy-again": client.get(f"/v1/users/{subjects['buyer']}/buy-again", headers=auth),
    "/v1/model": client.get("/v1/model"),
}
out = io.StringIO()
with contextlib.redirect_stdout(out):
    models_code = main(["--redis-url", subjects["redis_url"], "models"])
print(json.dumps({
    "answers": {name: [a.status_code, a.json] for name, a in answers.items()},
    "models": [models_code, out.getvalue()],
    "loaded": sorted(m for m in sys.modules if m.partition(".")[0] in TRAINER),
}))
"""


def run_hidden(script: str, *argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run ``script`` in a fresh interpreter where the trainer cannot be imported."""
    return subprocess.run(
        [sys.executable, "-c", HIDE_TRAINER + script, *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture(scope="module")
def published(redis_url, tmp_path_factory):
    """The demo shop trained and published, and the subjects to ask about."""
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    shop = write_demo_shop(tmp_path_factory.mktemp("demo"), users=400)
    result = train(r, Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))
    with open(shop.events, newline="") as f:
        rows = list(csv.DictReader(f))
    purchases = Counter(row["user_id"] for row in rows if row["event"] == "purchase")
    user = purchases.most_common(1)[0][0]
    item = Counter(row["item_id"] for row in rows if row["event"] == "purchase").most_common(1)[0][0]
    buyer = next(key.decode().rsplit(":", 1)[1] for key in r.scan_iter(match=keys.buy_again(result.version, "*")))
    session = [row["item_id"] for row in rows if row["user_id"] == user and row["event"] == "view"][:3]
    yield {
        "redis_url": redis_url,
        "key": API_KEY,
        "version": result.version,
        "user": user,
        "item": item,
        "buyer": buyer,
        "session": session,
    }
    r.flushdb()


def test_the_service_answers_every_list_without_the_trainer(published):
    done = run_hidden(SERVE, json.dumps(published))
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["loaded"] == []
    answers = seen["answers"]
    for name, (status, _) in answers.items():
        assert status == 200, (name, answers[name])
    for name in ("recommendations", "also-bought", "similar", "popular", "session", "buy-again"):
        assert answers[name][1]["items"], name
    assert answers["recommendations"][1]["source"] == "personalized"
    assert answers["category-offers"][1]["offers"] and all(o["items"] for o in answers["category-offers"][1]["offers"])
    assert answers["/v1/model"][1]["version"] == published["version"]
    code, listed = seen["models"]
    assert code == 0 and f"* {published['version']}" in listed


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--events", "events.csv"],
        ["evaluate", "--events", "events.csv"],
        ["convert", "instacart", "--source", "in", "--out", "out"],
        ["demo", "--no-serve"],
    ],
)
def test_the_trainers_commands_say_what_to_install(argv, tmp_path):
    done = run_hidden(
        "from cli.main import main\nsys.exit(main(sys.argv[1:]))\n",
        "--redis-url",
        "redis://127.0.0.1:1/0",
        *argv,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"recsvc {argv[0]} needs the trainer: pip install 'recsvc[train]' (no module named 'training')"
    ]
    assert not any(tmp_path.iterdir())  # the demo wrote no shop
