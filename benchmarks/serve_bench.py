"""Serving figures: requests/s of the recommendation endpoints beside hello-world; latency at a fixed rate.

    python benchmarks/serve_bench.py [--redis-url URL] [--events PATH [--preset NAME] [--catalog PATH]]
                                     [--servers granian,sync,gthread] [--json FILE]

Trains a model on a synthetic shop made here (or on ``--events``), publishes it to an empty
Redis (``--redis-url``, default ``$REDIS_URL``, else a private redis-server), and serves it
with each server side by side on 127.0.0.1, all at once: ``recsvc serve --production``
(granian's WSGI workers) and gunicorn with sync and with gthread workers, 2 workers each:

- throughput: ``wrk`` runs on ``/healthz`` (the hello-world reference of the same app),
  ``/readyz`` (for reference: three Redis round trips, the served version, its manifest and a
  check that each key it lists exists), user recommendations, also-bought,
  category offers and the 1,000-user batch, each rotating over sampled ids. The runs of every
  endpoint on every server go in rounds in mirrored order (A B C, C B A) so a slow drift of the
  machine weighs the same on each. Every figure is also given as a share of ``/healthz`` on the
  same server in the same run. With each run: the CPU per request of the workers, Redis and wrk,
  and the load of unrelated processes on the machine;
- the batch alone: 1,000 users a call, one call at a time, so its latency is the server's time;
- latency: an open-loop client sends a mixed load (recommendations, also-bought, category offers,
  popular, a batch of 100 users now and then) on a fixed schedule and times each answer from its
  scheduled send time, so queueing behind a slow answer is counted.

Everything runs on this machine, so wrk, the client, the servers and Redis share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import common  # first: the repository on sys.path, one BLAS thread
import numpy as np
import redis
from common import ROOT, free_port, stop_process

from recsvc.contract import keys
from recsvc.contract.units import DAY

HELLO = "hello-world"
READY = "one-redis-read"
RECS = "recommendations"
ALSO = "also-bought"
OFFERS = "category-offers"
BATCH = "batch"
ENDPOINTS = {
    HELLO: "GET /healthz",
    READY: "GET /readyz (three Redis round trips, reference)",
    RECS: "GET /v1/users/{id}/recommendations?limit=10",
    ALSO: "GET /v1/items/{id}/also-bought?limit=10",
    OFFERS: "GET /v1/users/{id}/category-offers",
    BATCH: "POST /v1/recommendations/batch (BATCH users, limit 10)",
}
TARGET_RATIO = 0.75
BATCH_SIZE = 1_000
BATCH_BODIES = 5
API_KEY = "serve-bench-key"
"""The servers' API key (``RECSVC_API_KEYS``), sent with every batch call."""
MIXED_BATCH_SIZE = 100
MIXED_LOAD = ((RECS, 20), (ALSO, 12), (OFFERS, 8), ("popular", 9), ("batch of 100", 1))
"""The mixed load of the fixed-rate run: requests of each kind in every 50."""
TARGET_PRODUCTION_SPEEDUP = 2.0
SERVERS = {
    "granian": "recsvc serve --production (granian WSGI)",
    "sync": "gunicorn sync",
    "gthread": "gunicorn gthread",
}


# -- the synthetic shop --


@dataclass
class ShopSize:
    users: int = 50_000
    items: int = 20_000
    events: int = 400_000
    categories: int = 250


def write_synthetic_shop(folder: Path, size: ShopSize, seed: int = 0) -> dict[str, Path]:
    """Write events.csv (timestamp,user_id,item_id,event) and catalog.csv; returns their paths.

    Users' activity follows a power law; item popularity is Zipf-like; most of a user's events
    fall in one to three favourite categories; 86% views, 9% add-to-cart, 5% purchases.
    """
    rng = np.random.default_rng(seed)
    item_category = rng.permutation(np.arange(size.items) % size.categories)
    popularity = 1.0 / (rng.permutation(size.items) + 10.0)
    user, item = _draw_events(rng, size, item_category, popularity)
    event = rng.choice(3, size=len(user), p=[0.86, 0.09, 0.05])
    timestamp = np.sort(1_700_000_000 + rng.integers(0, 90 * DAY, size=len(user)))
    names = np.array(["view", "addtocart", "purchase"])
    paths = {"events": folder / "events.csv", "catalog": folder / "catalog.csv"}
    _write_lines(
        paths["events"],
        "timestamp,user_id,item_id,event",
        (
            f"{t},u{u},i{i},{e}"
            for t, u, i, e in zip(timestamp.tolist(), user.tolist(), item.tolist(), names[event].tolist())
        ),
    )
    price = np.round(rng.lognormal(3.0, 1.0, size.items), 2)
    _write_lines(
        paths["catalog"],
        "item_id,category_id,title,price,url",
        (
            f"i{i},c{c},Item {i} of category {c},{p},https://shop.example/i{i}"
            for i, (c, p) in enumerate(zip(item_category.tolist(), price.tolist()))
        ),
    )
    return paths


def _draw_events(rng, size: ShopSize, item_category: np.ndarray, popularity: np.ndarray):
    """(user, item) codes of every event, users in random order."""
    activity = np.minimum(rng.pareto(1.2, size.users) + 1.0, 300.0)  # no single user dominates
    per_user = 1 + rng.multinomial(size.events - size.users, activity / activity.sum())
    user = np.repeat(rng.permutation(size.users), per_user)
    favourites = rng.integers(0, size.categories, size=(size.users, 3))
    n_favourite = rng.integers(1, 4, size=size.users)
    category = favourites[user, (rng.random(len(user)) * n_favourite[user]).astype(int)]
    wander = rng.random(len(user)) < 0.1
    category[wander] = item_category[rng.choice(size.items, wander.sum(), p=popularity / popularity.sum())]
    return user, _item_in_category(rng, category, item_category, popularity)


def _item_in_category(rng, category: np.ndarray, item_category: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """An item of each given category, drawn by popularity: one searchsorted over category + cumulative share."""
    order = np.lexsort((np.arange(len(item_category)), item_category))
    cat, weight = item_category[order], popularity[order]
    cumulative = np.cumsum(weight)
    starts = np.searchsorted(cat, cat, side="left")
    ends = np.searchsorted(cat, cat, side="right") - 1
    before = np.where(starts > 0, cumulative[starts - 1], 0.0)
    share = (cumulative - before) / (cumulative[ends] - before)
    keys = cat + share
    draws = category + rng.random(len(category)) * (1 - 1e-9) + 1e-12
    return order[np.minimum(np.searchsorted(keys, draws), len(order) - 1)]


def _write_lines(path: Path, header: str, lines) -> None:
    with open(path, "w") as f:
        f.write(header + "\n")
        f.write("\n".join(lines))
        f.write("\n")


# -- Redis --


@contextlib.contextmanager
def empty_database(url: str):
    """A client on an empty database, emptied again at the end (refuses a database with keys)."""
    client = redis.Redis.from_url(url)
    if client.dbsize():
        sys.exit(f"{redis_label(url)} holds {client.dbsize()} keys: give an empty database")
    try:
        yield client
    finally:
        with contextlib.suppress(redis.RedisError):
            client.flushdb()
        client.close()


# -- the model and the ids to ask for --


@dataclass
class Model:
    description: str
    version: str
    counts: dict
    train_seconds: float


@dataclass
class Sample:
    users: list[str]  # users with two or more distinct items
    items: list[str]  # items drawn from the events, so popular items come up more often
    users_with_picks: float  # share of the sampled users with three or more items (precomputed picks)


def post_live_views(r: redis.Redis, sample: Sample, views: int, seed: int = 4) -> None:
    """Give every sampled user ``views`` views of sampled items since training, written as ``POST /v1/events``
    writes them: their lists then mix in live candidates (``recsvc/read/live_picks.py``)."""
    from recsvc.read import steering
    from recsvc.store.model import ModelStore
    from recsvc.store.wire import Wire

    rng = np.random.default_rng(seed)
    now = str(int(time.time()))
    events = [
        {"user_id": user, "item_id": str(item), "event": "view", "timestamp": now, "quantity": "1"}
        for user in sample.users
        for item in rng.choice(sample.items, views)
    ]
    progress(f"posting {len(events):,} views since training ({views} for each sampled user)")
    store = ModelStore(Wire(r), steering.decode)
    for start in range(0, len(events), 1_000):
        store.append_events(events[start : start + 1_000], maxlen=len(events))


def train_model(r: redis.Redis, events: Path, catalog: Path | None, preset: str | None, description: str) -> Model:
    """Train and publish with the default configuration."""
    from training.train import Inputs, train

    start = time.perf_counter()
    result = train(r, Inputs(events=events, catalog=catalog, preset=preset))
    return Model(description, result.version, result.summary.counts.to_json(), round(time.perf_counter() - start, 1))


def sample_ids(events: Path, preset: str | None, n_users: int, n_items: int, seed: int = 1) -> Sample:
    """Users with two or more distinct items and items weighted by their number of events."""
    from training.inputs.presets import get_preset
    from training.inputs.readers import read_events

    ev, _ = read_events(events, get_preset(preset))
    pairs = np.unique(ev.user.astype(np.int64) * len(ev.item_ids) + ev.item)
    distinct = np.bincount(pairs // len(ev.item_ids), minlength=len(ev.user_ids))
    rng = np.random.default_rng(seed)
    eligible = np.flatnonzero(distinct >= 2)
    if not len(eligible):
        sys.exit("no user has two or more distinct items: nothing personalized to ask for")
    users = rng.choice(eligible, min(n_users, len(eligible)), replace=False)
    items = np.unique(ev.item[rng.integers(0, len(ev), n_items)])
    return Sample(
        ev.user_ids[users].tolist(),
        ev.item_ids[rng.permutation(items)].tolist(),
        round(float(np.mean(distinct[users] >= 3)), 3),
    )


# -- the service --


@dataclass
class Server:
    url: str
    host: str
    port: int
    process: subprocess.Popen
    log: Path


@contextlib.contextmanager
def serve(
    redis_url: str,
    kind: str,
    workers: int,
    threads: int,
    folder: Path,
    gthread_threads: int = 4,
    exploration: float | None = None,
    name: str | None = None,
):
    """One server of the app (``SERVERS``) on a free port of 127.0.0.1, ready (``/readyz`` answers 200), at the
    exploration share given (None: the service's default)."""
    port = free_port()
    if kind == "granian":
        command = [sys.executable, "-m", "cli.main", "serve", "--production", "--port", str(port)]
        command += ["--workers", str(workers), "--threads", str(threads)]
    else:
        command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
        command += ["--worker-class", kind, "--log-level", "warning", "recsvc:create_app()"]
        if kind == "gthread":
            command[-1:-1] = ["--threads", str(gthread_threads)]
    log = folder / f"server-{name or kind}-{exploration}.log"
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {"REDIS_URL": redis_url, "PYTHONPATH": str(ROOT), "RECSVC_API_KEYS": API_KEY}
    if exploration is not None:
        env["RECSVC_EXPLORATION_SHARE"] = str(exploration)
    with open(log, "w") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}", "127.0.0.1", port, process, log)
    try:
        wait_ready(server)
        yield server
    finally:
        stop_process(process, group=True)


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{server.log.read_text()[-2000:]}")
        with contextlib.suppress(OSError):
            if http_get(server, "/readyz")[0] == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server is not ready after {timeout:.0f} s:\n{server.log.read_text()[-2000:]}")


def http_get(server: Server, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def check_answers(server: Server, sample: Sample) -> dict:
    """One answer of each endpoint: 200 and a full list with catalog attributes."""
    checks = {RECS: recs_path(sample.users[0]), ALSO: also_path(sample.items[0])}
    seen = {}
    for name, path in checks.items():
        status, body = http_get(server, path)
        answer = json.loads(body)
        if status != 200 or not answer.get("items"):
            raise RuntimeError(f"{path}: {status} {body[:300]!r}")
        seen[name] = {"source": answer["source"], "items": len(answer["items"]), "first": answer["items"][0]}
    return seen


def recs_path(user_id: str) -> str:
    return f"/v1/users/{urllib.parse.quote(user_id, safe='')}/recommendations?limit=10"


def offers_path(user_id: str) -> str:
    return f"/v1/users/{urllib.parse.quote(user_id, safe='')}/category-offers"


def also_path(item_id: str) -> str:
    return f"/v1/items/{urllib.parse.quote(item_id, safe='')}/also-bought?limit=10"


# -- where the CPU goes --


TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class CpuSample:
    """Cumulative CPU seconds at one moment."""

    wall: float
    busy: float  # the whole machine
    workers: float  # gunicorn's workers
    master: float
    redis: float
    wrk: float  # finished child processes of this script (wrk runs)
    me: float


@dataclass
class CpuUse:
    """CPU per request and the load of processes outside the benchmark, over one measurement."""

    workers_ms: float
    redis_ms: float
    wrk_ms: float
    other_cores: float  # CPU used by unrelated processes on this machine, in cores


class CpuMeter:
    """Reads the CPU of the machine, of gunicorn's processes and of Redis (from INFO)."""

    def __init__(self, master_pid: int, r: redis.Redis, redis_is_local: bool):
        self.master_pid, self.r, self.redis_is_local = master_pid, r, redis_is_local

    def sample(self) -> CpuSample:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
        info = self.r.info("cpu")
        children, me = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
        return CpuSample(
            wall=time.perf_counter(),
            busy=(user + nice + system + irq + softirq + steal) / TICK,
            workers=sum(_process_cpu(pid) for pid in _children(self.master_pid)),
            master=_process_cpu(self.master_pid),
            redis=info["used_cpu_sys"] + info["used_cpu_user"] if self.redis_is_local else 0.0,
            wrk=children.ru_utime + children.ru_stime,
            me=me.ru_utime + me.ru_stime,
        )

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until the workers stop using CPU: requests still queued when a load run ends are done."""
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            now = sum(_process_cpu(pid) for pid in _children(self.master_pid))
            if now == last:
                return
            last = now
            time.sleep(0.2)

    @staticmethod
    def use(start: CpuSample, end: CpuSample, requests: int) -> CpuUse:
        d = {k: getattr(end, k) - getattr(start, k) for k in vars(start)}
        ours = d["workers"] + d["master"] + d["redis"] + d["wrk"] + d["me"]
        per = 1e3 / max(requests, 1)
        return CpuUse(
            round(d["workers"] * per, 3),
            round(d["redis"] * per, 3),
            round(d["wrk"] * per, 3),
            round(max(d["busy"] - ours, 0.0) / d["wall"], 2),
        )


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if _stat_fields(int(entry.name))[1] == str(pid):
                    found.append(int(entry.name))
    return found


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat from the state field on (the command name may hold spaces)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def _process_cpu(pid: int) -> float:
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


# -- throughput with wrk --


@dataclass
class WrkRun:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu: CpuUse | None = None
    connections_per_worker: list[int] = field(default_factory=list)  # kept-alive ones, halfway through


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of printable ASCII is a valid Lua string


def batch_bodies(sample: Sample, seed: int = 2) -> list[str]:
    """The bodies of the 1,000-user batch calls."""
    rng = np.random.default_rng(seed)
    size = min(BATCH_SIZE, len(sample.users))
    return [
        json.dumps({"user_ids": rng.choice(sample.users, size, replace=False).tolist(), "limit": 10})
        for _ in range(BATCH_BODIES)
    ]


def write_lua_scripts(folder: Path, sample: Sample) -> dict[str, Path]:
    """One wrk script per endpoint, each rotating over its requests."""
    bodies = batch_bodies(sample)
    requests = {
        HELLO: [("GET", "/healthz", None)],
        READY: [("GET", "/readyz", None)],
        RECS: [("GET", recs_path(u), None) for u in sample.users],
        ALSO: [("GET", also_path(i), None) for i in sample.items],
        OFFERS: [("GET", offers_path(u), None) for u in sample.users],
        BATCH: [("POST", "/v1/recommendations/batch", b) for b in bodies],
    }
    paths = {}
    for name, reqs in requests.items():
        paths[name] = folder / f"{name}.lua"
        paths[name].write_text(_lua_rotation(reqs))
    return paths


def mix_of(batches: int) -> tuple[tuple[str, int], ...]:
    """``MIXED_LOAD`` with ``batches`` batches of ``MIXED_BATCH_SIZE`` users in every 50 requests (0: none)."""
    singles = tuple((kind, count) for kind, count in MIXED_LOAD if kind != "batch of 100")
    return singles + ((("batch of 100", batches),) if batches else ())


def mixed_load(sample: Sample, mix: tuple[tuple[str, int], ...] = MIXED_LOAD, seed: int = 3) -> list[Request]:
    """The fixed-rate run's requests: ``mix`` shuffled, over the sampled users, items and categories."""
    rng = np.random.default_rng(seed)
    kinds = [kind for kind, count in mix for _ in range(count)]
    users, items = iter(sample.users * 4), iter(sample.items * 4)
    requests: list[Request] = []
    for _ in range(max(1, len(sample.users) // 10)):
        for kind in rng.permutation(kinds).tolist():
            if kind == RECS:
                requests.append(("GET", recs_path(next(users)), None))
            elif kind == ALSO:
                requests.append(("GET", also_path(next(items)), None))
            elif kind == OFFERS:
                requests.append(("GET", offers_path(next(users)), None))
            elif kind == "popular":
                requests.append(("GET", "/v1/popular?limit=10", None))
            else:
                batch = rng.choice(sample.users, min(MIXED_BATCH_SIZE, len(sample.users)), replace=False)
                requests.append(("POST", "/v1/recommendations/batch", json.dumps({"user_ids": batch.tolist()})))
    return requests


def measure_batch_alone(server: Server, scripts_body: list[str], calls: int = 20) -> dict:
    """Latency of 1,000-user batch calls sent one at a time: the server's time, nothing queued."""
    times = []
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        for n in range(calls):
            start = time.perf_counter()
            conn.request(
                "POST",
                "/v1/recommendations/batch",
                scripts_body[n % len(scripts_body)],
                {"Content-Type": "application/json", "X-API-Key": API_KEY},
            )
            response = conn.getresponse()
            response.read()
            times.append((time.perf_counter() - start) * 1e3)
            if response.status != 200:
                raise RuntimeError(f"batch: {response.status}")
    finally:
        conn.close()
    p50, p90 = np.percentile(times, [50, 90])
    return {
        "calls": calls,
        "p50_ms": round(float(p50), 1),
        "p90_ms": round(float(p90), 1),
        "min_ms": round(min(times), 1),
    }


def _lua_rotation(requests: list[tuple[str, str, str | None]]) -> str:
    rows = ",\n".join(
        f"  wrk.format({lua_string(m)}, {lua_string(p)}, "
        + (
            f'{{["Content-Type"] = "application/json", ["X-API-Key"] = {lua_string(API_KEY)}}}, ' + lua_string(b)
            if b
            else "nil, nil"
        )
        + ")"
        for m, p, b in requests
    )
    return (
        f"local requests = {{\n{rows}\n}}\nlocal n = 0\n"
        "request = function()\n  n = n % #requests + 1\n  return requests[n]\nend\n"
    )


def run_wrk(server: Server, script: Path, args, duration: str | None = None, meter: CpuMeter | None = None) -> WrkRun:
    """One wrk run; with a meter, the CPU it cost per request and how its connections sat on the workers."""
    duration = duration or args.duration
    command = [
        "wrk",
        f"-t{args.wrk_threads}",
        f"-c{args.connections}",
        f"-d{duration}",
        "--latency",
        "--timeout",
        "30s",
        "-s",
        str(script),
        server.url,
    ]
    start, split = meter.sample() if meter else None, []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as wrk:
        try:
            wrk.wait(_seconds(duration) / 2)
        except subprocess.TimeoutExpired:
            split = connection_split(server)
        out, err = wrk.communicate()
    if wrk.returncode:
        raise RuntimeError(f"wrk failed: {err or out}")
    result = parse_wrk(out)
    if meter:
        result.cpu = meter.use(start, meter.sample(), result.requests)
        result.connections_per_worker = split
        meter.wait_idle()
    return result


def _seconds(duration: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([smh]?)", duration).groups()
    return float(number) * {"": 1, "s": 1, "m": 60, "h": 3600}[unit]


def connection_split(server: Server) -> list[int]:
    """Established client connections each worker holds (from /proc/net/tcp and the workers' open files)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == server.port and fields[3] == "01":
                    inodes.add(fields[9])
    return sorted((len(_socket_inodes(pid) & inodes) for pid in _children(server.process.pid)), reverse=True)


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    with contextlib.suppress(OSError):
        for fd in os.scandir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                link = os.readlink(fd.path)
                if link.startswith("socket:["):
                    found.add(link[8:-1])
    return found


def parse_wrk(out: str) -> WrkRun:
    """Requests/s, p50 and p99 from ``wrk --latency`` output; errors are socket errors and non-2xx/3xx."""

    def number(pattern: str) -> str:
        match = re.search(pattern, out)
        if not match:
            raise RuntimeError(f"unexpected wrk output:\n{out}")
        return match.group(1)

    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = (sum(map(int, socket_errors.groups())) if socket_errors else 0) + (int(non_2xx.group(1)) if non_2xx else 0)
    return WrkRun(
        requests_per_s=float(number(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(number(r"\n\s+50%\s+(\S+)")),
        p99_ms=_ms(number(r"\n\s+99%\s+(\S+)")),
        requests=int(number(r"(\d+) requests in")),
        errors=errors,
    )


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value).groups()
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}[unit]


@dataclass
class Throughput:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu: CpuUse
    rounds: list[WrkRun]


def measure_throughput(
    servers: dict[str, Server], meters: dict[str, CpuMeter], scripts: dict[str, Path], args
) -> dict[str, dict[str, Throughput]]:
    """Every endpoint on every server in mirrored rounds (A B C, C B A, ...); per pair the mean of its rounds."""
    order = [(label, name) for name in ENDPOINTS for label in servers]
    runs: dict[tuple[str, str], list[WrkRun]] = {pair: [] for pair in order}
    for round_ in range(args.rounds):
        for label, name in order if round_ % 2 == 0 else order[::-1]:
            progress(f"  round {round_ + 1}: {label} {name}")
            runs[label, name].append(run_wrk(servers[label], scripts[name], args, meter=meters[label]))
    return {label: {name: _mean_of_rounds(runs[label, name]) for name in ENDPOINTS} for label in servers}


def _mean_of_rounds(rounds: list[WrkRun]) -> Throughput:
    def mean(values) -> float:
        return round(float(np.mean(list(values))), 3)

    cpu = CpuUse(**{k: mean(getattr(r.cpu, k) for r in rounds) for k in vars(rounds[0].cpu)})
    return Throughput(
        mean(r.requests_per_s for r in rounds),
        mean(r.p50_ms for r in rounds),
        mean(r.p99_ms for r in rounds),
        sum(r.errors for r in rounds),
        cpu,
        rounds,
    )


# -- latency at a fixed rate --


@dataclass
class FixedRate:
    rate: float
    seconds: float
    sent: int
    errors: dict
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    send_lag_p99_ms: float  # how late the client itself started requests (its own accuracy)
    connections_opened: int
    cpu: CpuUse | None = None
    singles_p99_ms: float = float("nan")  # the single answers alone (every request but the batches)
    batches_p50_ms: float = float("nan")  # the batches of ``MIXED_BATCH_SIZE`` users alone
    batches_p99_ms: float = float("nan")


@dataclass
class _ClientState:
    idle: dict = field(default_factory=dict)  # kept-alive connections by server port
    latencies: list = field(default_factory=list)
    batch: list = field(default_factory=list)  # whether each latency is a batch's
    lags: list = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    opened: int = 0


Request = tuple[str, str, "str | None"]
"""(method, path, JSON body or None)."""


def is_batch(request: Request) -> bool:
    """Whether a request of the mixed load is a batch (its only POST)."""
    return request[0] == "POST"


def measure_fixed_rate(
    server: Server,
    paths: list[Request],
    rate: float,
    seconds: float,
    meter: CpuMeter,
    max_connections: int = 64,
    batch_server: Server | None = None,
) -> FixedRate:
    """Open loop: request n starts at start + n / rate whatever the earlier ones are doing; the batches go to
    ``batch_server`` when one is given."""
    state = _ClientState()
    start = meter.sample()
    asyncio.run(_schedule(server, paths, rate, seconds, max_connections, state, batch_server))
    cpu = meter.use(start, meter.sample(), len(state.latencies))
    lat = np.array(state.latencies) * 1e3
    pct = np.percentile(lat, [50, 90, 99]) if len(lat) else [float("nan")] * 3
    is_batch = np.array(state.batch, dtype=bool)
    singles, batches = lat[~is_batch], lat[is_batch]
    return FixedRate(
        rate,
        seconds,
        int(rate * seconds),
        dict(state.errors),
        *(round(float(p), 2) for p in pct),
        round(float(lat.max()) if len(lat) else float("nan"), 2),
        round(float(np.percentile(np.array(state.lags) * 1e3, 99)), 2),
        state.opened,
        cpu,
        round(float(np.percentile(singles, 99)), 2) if len(singles) else float("nan"),
        *(round(float(p), 2) for p in (np.percentile(batches, [50, 99]) if len(batches) else [float("nan")] * 2)),
    )


async def _schedule(server, paths, rate, seconds, max_connections, state: _ClientState, batch_server=None) -> None:
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(max_connections)
    start = loop.time() + 0.05
    tasks = []
    for n in range(int(rate * seconds)):
        scheduled = start + n / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        path = paths[n % len(paths)]
        to = batch_server if batch_server is not None and is_batch(path) else server
        tasks.append(asyncio.create_task(_one(to, path, scheduled, slots, state)))
    await asyncio.gather(*tasks)
    for _, writer in (conn for pool in state.idle.values() for conn in pool):
        writer.close()


async def _one(server: Server, path: Request, scheduled: float, slots: asyncio.Semaphore, state: _ClientState) -> None:
    """One request on an idle kept-alive connection or a new one; once more on a new one if the server
    had closed the idle connection."""
    loop = asyncio.get_running_loop()
    async with slots:
        state.lags.append(loop.time() - scheduled)
        idle = state.idle.setdefault(server.port, [])
        for reused in [True, False] if idle else [False]:
            conn = idle.pop() if reused else None
            try:
                if conn is None:
                    conn = await asyncio.open_connection(server.host, server.port)
                    state.opened += 1
                status, keep = await _exchange(*conn, server, path)
            except (OSError, asyncio.IncompleteReadError, ValueError) as e:
                if conn:
                    conn[1].close()
                if reused:
                    continue
                state.errors[type(e).__name__] += 1
                return
            state.latencies.append(loop.time() - scheduled)
            state.batch.append(is_batch(path))
            if status != 200:
                state.errors[f"http {status}"] += 1
            if keep:
                idle.append(conn)
            else:
                conn[1].close()
            return


async def _exchange(reader, writer, server: Server, request: Request) -> tuple[int, bool]:
    """One request on an open connection: (status, whether the connection stays open)."""
    method, path, body = request
    data = body.encode() if body else b""
    extra = f"Content-Type: application/json\r\nX-API-Key: {API_KEY}\r\nContent-Length: {len(data)}\r\n" if body else ""
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n{extra}\r\n".encode() + data)
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = dict(line.split(":", 1) for line in head[1:] if ":" in line)
    headers = {k.strip().lower(): v.strip().lower() for k, v in headers.items()}
    await reader.readexactly(int(headers.get("content-length", 0)))
    return status, headers.get("connection") != "close"


# -- the report --


def machine() -> dict:
    return {
        "cores": len(os.sched_getaffinity(0)),
        "cpu": common.cpu_name(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def versions(r: redis.Redis) -> dict:
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    wrk_version = re.search(r"\d+\.\d+\.\d+", wrk.stdout + wrk.stderr)
    return {
        "redis": r.info("server")["redis_version"],
        "granian": metadata.version("granian"),
        "gunicorn": metadata.version("gunicorn"),
        "flask": metadata.version("flask"),
        "redis-py": metadata.version("redis"),
        "orjson": metadata.version("orjson"),
        "wrk": wrk_version.group(0) if wrk_version else "?",
    }


def report(results: dict) -> str:
    m, v, model, sample = results["machine"], results["versions"], results["model"], results["sample"]
    c = model["counts"]
    lines = [
        "## recsvc serving benchmark",
        "",
        f"- Machine: {m['cores']} cores, {m['cpu']}, Python {m['python']}, {m['platform']}",
        f"- Software: Redis {v['redis']} ({results['redis']}), granian {v['granian']}, gunicorn {v['gunicorn']} "
        f"({results['workers']} workers each), Flask {v['flask']}, redis-py {v['redis-py']}, orjson {v['orjson']}, "
        f"wrk {v['wrk']}",
        f"- Command: `{results['command']}`",
        f"- Model: {model['description']}: {c['events']:,} events, {c['users']:,} users "
        f"({c['fitted_users']:,} fitted), {c['items']:,} items; trained and published in {model['train_seconds']} s",
        f"- Ids: {sample['users']:,} users with 2+ distinct items "
        f"({sample['users_with_picks']:.0%} with 3+, served precomputed picks; the rest from their items' lists), "
        f"{sample['items']:,} items drawn by event count"
        + (f"; each user with {results['live_views']} views since training" if results.get("live_views") else ""),
        f"- Throughput: wrk {results['wrk']}; rounds: {results['rounds']}, in mirrored order; mean of rounds. "
        "CPU ms/req: server workers / Redis / wrk; other load: cores busy with processes outside the benchmark",
        "",
        "### Throughput",
        "",
        "| server | endpoint | req/s | share of /healthz | p50 ms | p99 ms | CPU ms/req | other load | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, run in results["runs"].items():
        for name, t in run["throughput"].items():
            rps = f"{t['requests_per_s']:,.1f}"
            if name == BATCH:
                rps += f" ({t['requests_per_s'] * results['batch_size']:,.0f} users/s)"
            share = "1" if name == HELLO else f"{run['ratios'][name]:.3f}"
            endpoint = ENDPOINTS[name].replace("BATCH", f"{results['batch_size']:,}")
            lines.append(
                f"| {label} | {endpoint} | {rps} | {share} | {t['p50_ms']:.2f} | {t['p99_ms']:.2f} "
                f"| {_cpu(t['cpu'])} | {t['cpu']['other_cores']:.2f} | {t['errors']} |"
            )
    lines += _batch_table(results) + _latency_table(results) + _verdict(results)
    return "\n".join(lines)


def _cpu(cpu: dict) -> str:
    return f"{cpu['workers_ms']:.2f} / {cpu['redis_ms']:.2f} / {cpu['wrk_ms']:.2f}"


def _batch_table(results: dict) -> list[str]:
    lines = [
        "",
        f"### The batch alone: {results['batch_size']:,} users a call, one call at a time",
        "",
        "| server | calls | p50 ms | p90 ms | fastest ms | p50 as /healthz requests (p50 x /healthz req/s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, run in results["runs"].items():
        b, hello = run["batch_alone"], run["throughput"][HELLO]["requests_per_s"]
        lines.append(
            f"| {label} | {b['calls']} | {b['p50_ms']:.1f} | {b['p90_ms']:.1f} | {b['min_ms']:.1f} "
            f"| {b['p50_ms'] / 1e3 * hello:,.0f} |"
        )
    return lines


def _latency_table(results: dict) -> list[str]:
    first = next(iter(results["runs"].values()))["fixed_rate"]
    kinds = results.get("mix", MIXED_LOAD)
    mix = ", ".join(f"{kind} {count}" for kind, count in kinds)
    lines = [
        "",
        f"### Mixed load at {first['rate']:g} req/s for {first['seconds']:g} s "
        "(open loop, from the scheduled send time)",
        "",
        f"Requests in every {sum(count for _, count in kinds)}: {mix} (batches of {MIXED_BATCH_SIZE} users"
        + (
            "; served by a second granian server of one worker on the same machine and Redis, its CPU counted as "
            "other load)."
            if results.get("batches_apart")
            else ")."
        ),
        "",
        "| server | requests | errors | p50 ms | p90 ms | p99 ms | max ms | single answers p99 ms "
        "| batches p50 / p99 ms | client send lag p99 ms | workers CPU ms/req | other load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, run in results["runs"].items():
        f = run["fixed_rate"]
        lines.append(
            f"| {label} | {f['sent']:,} | {sum(f['errors'].values())} | {f['p50_ms']:.2f} | {f['p90_ms']:.2f} "
            f"| {f['p99_ms']:.2f} | {f['max_ms']:.2f} | {f['singles_p99_ms']:.2f} "
            f"| {f['batches_p50_ms']:.2f} / {f['batches_p99_ms']:.2f} | {f['send_lag_p99_ms']:.2f} "
            f"| {f['cpu']['workers_ms']:.2f} | {f['cpu']['other_cores']:.2f} |"
        )
    return lines


def _verdict(results: dict) -> list[str]:
    runs = results["runs"]
    lines = ["", f"### Targets: each list at {TARGET_RATIO:.0%} or more of /healthz req/s on the same server", ""]
    for label, run in runs.items():
        shares = ", ".join(f"{name} {run['ratios'][name]:.0%}" for name in (RECS, ALSO, OFFERS))
        met = all(run["ratios"][name] >= TARGET_RATIO for name in (RECS, ALSO, OFFERS))
        lines.append(f"- {label}: {shares}: {'met' if met else 'NOT met'}")
    if "granian" in runs and "sync" in runs:
        speedup = (
            runs["granian"]["throughput"][RECS]["requests_per_s"] / runs["sync"]["throughput"][RECS]["requests_per_s"]
        )
        lines.append(
            f"- production (granian) recommendations req/s: {speedup:.2f}x gunicorn sync's "
            f"(target {TARGET_PRODUCTION_SPEEDUP:g}x): {'met' if speedup >= TARGET_PRODUCTION_SPEEDUP else 'NOT met'}"
        )
    most = max(runs, key=lambda label: runs[label]["throughput"][RECS]["requests_per_s"])
    lowest = min(runs, key=lambda label: runs[label]["fixed_rate"]["p99_ms"])
    lines.append(
        f"- Most recommendations req/s: {most}; lowest p99 at {runs[most]['fixed_rate']['rate']:g} req/s: {lowest}"
    )
    return lines


# -- the run --


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL"),
        help="an EMPTY Redis database, emptied at the end (default $REDIS_URL, else a private server)",
    )
    parser.add_argument("--events", type=Path, help="serve a model of these events instead of the synthetic shop")
    parser.add_argument("--preset", help="column preset of --events (retailrocket, taobao)")
    parser.add_argument("--catalog", type=Path, help="catalog of --events")
    parser.add_argument("--users", type=int, default=50_000, help="synthetic shop users")
    parser.add_argument("--items", type=int, default=20_000, help="synthetic shop items")
    parser.add_argument("--n-events", type=int, default=400_000, help="synthetic shop events")
    parser.add_argument(
        "--servers", default="granian,sync,gthread", help="servers to compare, comma separated: " + ", ".join(SERVERS)
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads per granian worker")
    parser.add_argument("--gthread-threads", type=int, default=4, help="threads per gunicorn gthread worker")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", default="10s", help="wrk duration of each run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", default="3s", help="wrk run on recommendations before measuring")
    parser.add_argument("--rate", type=float, default=500.0, help="fixed request rate of the mixed load")
    parser.add_argument(
        "--batches-apart",
        action="store_true",
        help="send the mixed load's batches to a second server of one worker (the email generator's own instance)",
    )
    parser.add_argument(
        "--mixed-batches", type=int, default=1, help="batches of 100 users in every 50 requests of the mixed load"
    )
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    parser.add_argument("--sample-users", type=int, default=5_000)
    parser.add_argument("--sample-items", type=int, default=5_000)
    parser.add_argument(
        "--exploration", help="exploration shares to serve at, comma separated (each server once per share)"
    )
    parser.add_argument("--arrivals", type=int, default=0, help="items a catalog update adds before serving")
    parser.add_argument(
        "--live-views", type=int, default=0, help="views since training posted for every sampled user before the runs"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args(argv)


def bench_servers(
    r: redis.Redis,
    redis_url: str,
    sample: Sample,
    scripts: dict[str, Path],
    folder: Path,
    args,
    stack: contextlib.ExitStack,
) -> dict:
    """Throughput, the batch alone and fixed-rate latency of every server, all serving at once so their runs
    interleave."""
    servers, meters, checked = {}, {}, {}
    shares = [float(x) for x in args.exploration.split(",")] if args.exploration else [None]
    for kind, share in ((k, x) for k in args.servers.split(",") for x in shares):
        label = server_label(kind, args) + ("" if share is None else f", exploration {share:g}")
        progress(f"starting {label}")
        servers[label] = stack.enter_context(
            serve(redis_url, kind, args.workers, args.threads, folder, args.gthread_threads, share)
        )
        meters[label] = CpuMeter(servers[label].process.pid, r, is_local(redis_url))
        checked[label] = check_answers(servers[label], sample)
        run_wrk(servers[label], scripts[RECS], args, duration=args.warmup)
        meters[label].wait_idle()
    throughput = measure_throughput(servers, meters, scripts, args)
    batch_server = None
    if args.batches_apart:  # the email generator's own instance: one granian worker on the same Redis
        progress("starting granian for the mix's batches (one worker)")
        batch_server = stack.enter_context(serve(redis_url, "granian", 1, args.threads, folder, name="batches"))
    load, bodies = mixed_load(sample, mix_of(args.mixed_batches)), batch_bodies(sample)
    results = {}
    for label, server in servers.items():
        progress(f"  {label}: the batch alone, then {args.rate:g} req/s for {args.rate_seconds:g} s")
        alone = measure_batch_alone(server, bodies)
        meters[label].wait_idle()
        fixed = measure_fixed_rate(server, load, args.rate, args.rate_seconds, meters[label], batch_server=batch_server)
        hello = throughput[label][HELLO].requests_per_s
        results[label] = {
            "throughput": {k: asdict(v) for k, v in throughput[label].items()},
            "ratios": {k: round(v.requests_per_s / hello, 4) for k, v in throughput[label].items() if k != HELLO},
            "batch_alone": alone,
            "fixed_rate": asdict(fixed),
            "example_answers": checked[label],
        }
    return results


def server_label(kind: str, args) -> str:
    if kind == "granian":
        return "granian" if args.threads == 1 else f"granian ({args.threads} threads)"
    return f"gthread ({args.gthread_threads} threads)" if kind == "gthread" else kind


def redis_label(url: str) -> str:
    """Where Redis is, without credentials."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}{parts.path}"


def is_local(url: str) -> bool:
    return urllib.parse.urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1", None)


def prepare_model(r: redis.Redis, folder: Path, args) -> tuple[Model, Sample]:
    if args.events:
        events, catalog, preset = args.events, args.catalog, args.preset
        description = f"{args.events}" + (f" (preset {preset})" if preset else "")
    else:
        size = ShopSize(args.users, args.items, args.n_events)
        progress(f"writing a synthetic shop: {size}")
        paths = write_synthetic_shop(folder, size)
        events, catalog, preset = paths["events"], paths["catalog"], None
        description = "synthetic shop"
    progress("training")
    model = train_model(r, events, catalog, preset, description)
    if args.arrivals:
        add_arrivals(r, folder, args.arrivals)
    return model, sample_ids(events, preset, args.sample_users, args.sample_items)


def add_arrivals(r: redis.Redis, folder: Path, count: int, seed: int = 4) -> None:
    """Add ``count`` items by a catalog update, in categories drawn from the served version's, with titles."""
    from recsvc.admin.catalog import update_catalog
    from recsvc.store.catalog_updates import CatalogRecords
    from recsvc.store.wire import Wire

    version = r.get(keys.CURRENT).decode()
    ids = json.loads(r.get(keys.categories(version)))["ids"]
    rng = np.random.default_rng(seed)
    path = folder / "arrivals.csv"
    rows = [f"new-{n},{ids[c]},New arrival {n},{10 + n % 90}" for n, c in enumerate(rng.integers(0, len(ids), count))]
    _write_lines(path, "item_id,category_id,title,price", rows)
    progress(f"adding {count} items by a catalog update")
    update_catalog(CatalogRecords(Wire(r)), path)


def run(args, stack: contextlib.ExitStack) -> dict:
    redis_url = args.redis_url or stack.enter_context(common.RedisServer()).url
    r = stack.enter_context(empty_database(redis_url))
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="serve_bench_")))
    model, sample = prepare_model(r, folder, args)
    if args.live_views:
        post_live_views(r, sample, args.live_views)
    scripts = write_lua_scripts(folder, sample)
    runs = bench_servers(r, redis_url, sample, scripts, folder, args, stack)
    return {
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "versions": versions(r),
        "workers": args.workers,
        "redis": redis_label(redis_url) if args.redis_url else "private redis-server",
        "wrk": f"-t{args.wrk_threads} -c{args.connections} -d{args.duration}",
        "rounds": args.rounds,
        "batch_size": min(BATCH_SIZE, len(sample.users)),
        "mix": mix_of(args.mixed_batches),
        "batches_apart": bool(args.batches_apart),
        "model": asdict(model),
        "sample": {"users": len(sample.users), "items": len(sample.items), "users_with_picks": sample.users_with_picks},
        "live_views": args.live_views,
        "runs": runs,
    }


def _interrupt(signum, frame):
    """Stop the run on the first Ctrl-C or SIGTERM; ignore more of them so the clean-up completes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    if not shutil.which("wrk"):
        print(
            "wrk is required: install it with `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with contextlib.ExitStack() as stack:
            results = run(args, stack)
    except KeyboardInterrupt:
        progress("interrupted; cleaned up")
        return 130
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
