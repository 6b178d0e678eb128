"""The commands that need the trainer: train, evaluate, convert, demo.

Each imports ``training`` (and so implicit, scipy, pyarrow) inside the command, so the service's
commands run on an install without the ``train`` extra.
"""

import contextlib
import csv
import dataclasses
import json
import multiprocessing
import os
import tempfile
from collections import Counter
from multiprocessing import forkserver
from pathlib import Path

import redis

from cli.common import fail, model_store
from recsvc.contract import versions
from recsvc.store.connect import connect, describe

TRAINER_MODULES = frozenset({"training", "implicit", "scipy", "pyarrow", "threadpoolctl"})
"""Top-level modules of the ``train`` extra (and the trainer itself): missing, a command says what to install."""


def needs_trainer(command: str, run):
    """``run``, exiting 2 with what to install when the trainer's dependencies are missing."""

    def guarded(args) -> int:
        try:
            return run(args)
        except ImportError as e:
            missing = (e.name or "").partition(".")[0]
            if missing not in TRAINER_MODULES:
                raise
            return fail(
                f"recsvc {command} needs the trainer: pip install 'recsvc[train]' (no module named {missing!r})",
                prefix=False,
            )

    return guarded


FROM_STATE = ("events", "catalog", "categories", "preset", "stream", "param", "evaluate")
"""Arguments a shard, the finish and an abandon take from the state, never from the command line."""


def train_command(args) -> int:
    from training.config import TrainConfig
    from training.inputs.readers import InputError
    from training.shards import StateError
    from training.train import Inputs, stage, train

    if args.shard or args.finish or args.abandon:
        given = [f"--{name}" for name in FROM_STATE if getattr(args, name) not in (None, False, [])]
        if args.state is None or given:
            step = (
                f"--shard {args.shard[0]}/{args.shard[1]}" if args.shard else "--finish" if args.finish else "--abandon"
            )
            leave = f"; leave out {', '.join(given)}" if given else ""
            return fail(f"{step} reads the run from --state DIR (the inputs and parameters are in it){leave}")
        return sharded_step(args)
    if args.shards and args.state is None:
        return fail("--shards N needs --state DIR: the folder where the shards read the fitted model")
    if args.state is not None and not (args.shards or args.jobs > 1):
        return fail("--state DIR goes with --shards N, --shard K/N, --finish, --abandon or --jobs J")
    try:
        config = config_with(TrainConfig(), args.param)
    except ValueError as e:
        return fail(str(e))
    if args.events is None and not args.stream:
        return fail("give --events PATH, --stream, or both")
    r = connect(args.redis_url)
    inputs = Inputs(
        events=args.events,
        catalog=args.catalog,
        categories=args.categories,
        preset=args.preset,
        strict=args.strict,
        stream=args.stream,
        max_bad_rows=args.max_bad_rows,
    )
    try:
        metrics = None
        if args.evaluate:
            from training.evaluation.pipeline import offline_metrics

            try:
                metrics = offline_metrics(
                    args.events, preset=args.preset, catalog=args.catalog, categories=args.categories, config=config
                )
            except InputError:
                raise
            except ValueError as e:
                return fail(f"cannot evaluate: {e} (the published model is unchanged)")
        if args.shards:
            staged = stage(r, inputs, args.state, args.shards, config, offline_metrics=metrics)
            print_staged(staged, args, r)
            return 0
        if args.jobs > 1:
            result = train_in_jobs(r, inputs, config, metrics, args)
        else:
            result = train(r, inputs, config, offline_metrics=metrics)
    except InputError as e:
        return fail(f"{e} (the published model is unchanged)")
    except (versions.PublishFailed, StateError, ShardFailed) as e:
        return fail(f"{e} (this run did not change the served model)")
    except OSError as e:
        return fail(f"cannot write the state: {e} (this run did not change the served model)")
    except redis.RedisError as e:
        return fail(f"{redis_failure(e, r)} (this run did not change the served model)")
    print_summary(result, r)
    return 0


def sharded_step(args) -> int:
    """``--shard K/N``, ``--finish`` or ``--abandon`` on the run saved in ``--state``."""
    from training.shards import StateError
    from training.train import abandon, finish, score_shard

    r = connect(args.redis_url)
    try:
        if args.shard:
            number, shards = args.shard
            part = score_shard(r, args.state, number, shards)
            print(
                f"shard {number}/{shards}: {part['families'].get('users', 0):,} users written "
                f"({part['users_with_picks']:,} with picks) in {part['seconds']['total']:.1f} s"
            )
        elif args.finish:
            print_summary(finish(r, args.state), r)
        else:
            print(f"abandoned model {abandon(r, args.state)}: its staged keys are deleted and the publish lock is free")
    except StateError as e:
        return fail(str(e))
    except versions.PublishFailed as e:
        return fail(f"{e} (the served model is unchanged)")
    except redis.RedisError as e:
        return fail(f"{redis_failure(e, r)} (the served model is unchanged)")
    return 0


class ShardFailed(RuntimeError):
    """A shard of ``--jobs`` failed; the run was given up."""


def train_in_jobs(r, inputs, config, metrics, args):
    """``--jobs J``: stage, score the J shards in J processes at once, finish. A failed shard gives the run up."""
    from concurrent.futures import ProcessPoolExecutor, wait

    from training import memory
    from training.train import abandon, finish, stage

    jobs = args.jobs
    with contextlib.ExitStack() as stack:
        state = args.state or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="recsvc-state-")))
        starter = shard_starter()  # importing while the coordinator works
        staged = stage(r, inputs, state, jobs, config, offline_metrics=metrics)
        memory.give_back()  # the coordinator waits for its shards without the model's freed pages
        threads = max(1, (os.cpu_count() or 1) // jobs)  # each process its share of the cores
        try:
            with ProcessPoolExecutor(jobs, mp_context=starter) as pool:
                url = redis_url_of(args, r)
                futures = [pool.submit(shard_process, url, state, k, jobs, threads) for k in range(jobs)]
                wait(futures)  # all of them, so none writes after the run is given up
            failed = [(k, f.exception()) for k, f in enumerate(futures) if f.exception() is not None]
            if failed:
                number, error = failed[0]
                said = (str(error).splitlines() or [type(error).__name__])[0]
                raise ShardFailed(f"shard {number}/{jobs} failed: {said}")
        except BaseException:  # a failed shard, or the command interrupted: the run is given up
            with contextlib.suppress(versions.PublishFailed):  # a run that lost its lock has nothing to give up
                abandon(r, state)
            raise
        return dataclasses.replace(finish(r, state), bad_rows=staged.bad_rows)


SHARD_IMPORTS = ["cli.trainer", "training.train", "lightgbm", "threadpoolctl"]
"""What a shard process imports before it scores (2-3 s: lightgbm brings scikit-learn and scipy.stats)."""


def shard_starter():
    """How ``--jobs`` starts its shard processes: a fork server, started now, which imports ``SHARD_IMPORTS`` once
    while the coordinator reads and fits, and forks each shard ready to score. Not a fork of the coordinator:
    OpenMP's threads, which its fits started, do not survive a fork; the server never starts them. Spawned where
    there is no fork server (Windows)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(SHARD_IMPORTS)
    forkserver.ensure_running()
    return context


def shard_process(url: str, state: Path, number: int, shards: int, threads: int) -> dict:
    """One shard of ``--jobs``, in a child process: its own connection, ``threads`` threads for BLAS and OpenMP."""
    import lightgbm  # noqa: F401  first: the limit reaches only the OpenMP runtime already loaded (LightGBM's)
    from threadpoolctl import threadpool_limits

    from training.train import score_shard

    with threadpool_limits(threads):
        return score_shard(connect(url), state, number, shards)


def redis_url_of(args, r) -> str:
    """The URL of the Redis this command uses, for its child processes (the embedded one by its socket)."""
    url = args.redis_url or os.environ.get("REDIS_URL")
    return url or f"unix://{r.socket_file}"


def print_staged(result, args, r) -> None:
    """What the coordinator of a sharded run staged, and the commands that finish it."""
    from training.publish import SHARDED_LOCK_TTL_S

    shards, c = args.shards, result.summary.counts
    print(f"staged model {result.version} on {describe(r)}: everything but the user records; not served yet")
    print(
        f"  events {c.events:,}; users {c.users:,} ({c.fitted_users:,} fitted); items {c.items:,}; "
        f"time {(result.summary.timings_s or {})['coordinator']:.1f} s; state in {args.state}"
    )
    print(
        f"  the publish lock is held for {SHARDED_LOCK_TTL_S / 60:.0f} minutes from each shard's last write; "
        "run every shard, in any order or at once (e.g. an indexed Kubernetes Job), then the finish:"
    )
    base = "recsvc" + (f" --redis-url {args.redis_url}" if args.redis_url else "") + f" train --state {args.state}"
    for k in range(shards):
        print(f"    {base} --shard {k}/{shards}")
    print(f"    {base} --finish")
    for name, bad in result.bad_rows.items():
        if bad.count:
            print(f"  skipped {bad.count:,} bad {name} rows (first: {bad.examples[0] if bad.examples else '?'})")


def redis_failure(error: Exception, r) -> str:
    """One line for a Redis error during a run: where, and what Redis said."""
    said = (str(error).splitlines() or [type(error).__name__])[0]
    said = said.rpartition(" of pipeline caused error: ")[2]  # not the pipelined command and its data
    if isinstance(error, (redis.ConnectionError, redis.TimeoutError)):
        return f"cannot reach Redis at {describe(r)}: {said}"
    if isinstance(error, redis.exceptions.OutOfMemoryError):
        return f"Redis at {describe(r)} is out of memory while publishing ({said}); raise maxmemory or free memory"
    return f"Redis at {describe(r)} refused a write while publishing: {said}"


def evaluate_command(args) -> int:
    from recsvc.read.rule_format import RuleError
    from training.config import TrainConfig
    from training.evaluation.pipeline import SplitBy, evaluate_dataset, headline
    from training.inputs.readers import InputError

    try:
        config = config_with(TrainConfig(), args.param)
        rules = read_rules(args.rules) if args.rules else None
        variants = dict(variant_of(config, spec) for spec in args.variant)
        result = evaluate_dataset(
            args.events,
            preset=args.preset,
            catalog=args.catalog,
            categories=args.categories,
            split_by=SplitBy(args.split_date, args.split_days, args.split_fraction),
            config=config,
            budget_seconds=args.budget_seconds,
            out=args.out,
            rules=rules,
            variants=variants,
        )
    except (InputError, ValueError, RuleError, OSError) as e:
        return fail(str(e))
    for line in headline(result):
        print(line)
    if result.get("tuning"):
        print(f"tuned: {json.dumps(result['tuning']['best'])} ({result['tuning']['trials']} trials)")
    print(f"report: {result['files']['html']} and {result['files']['json']} ({result['seconds']:.0f} s)")
    return 0


def convert_command(args) -> int:
    from training.inputs.convert import CONVERTERS

    try:
        written = CONVERTERS[args.format](args.source, args.out)
    except (OSError, ValueError) as e:
        return fail(str(e))
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0


def demo_command(args) -> int:
    from training.samples.demo_shop import write_demo_shop
    from training.train import Inputs, train

    shop = write_demo_shop(args.folder)
    r = connect(args.redis_url)
    result = train(r, Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))
    print_summary(result, r)
    if args.no_serve:
        return 0
    base = f"http://{args.host}:{args.port}"
    print("\nTry:")
    for path in demo_urls(shop):
        print(f"  curl -s '{base}{path}'")
    from recsvc import create_app

    app = create_app(store=model_store(r))
    app.run(host=args.host, port=args.port)
    return 0


def read_rules(path: Path) -> list[dict]:
    """Merchandising rules from a JSON or YAML file, checked (RuleError says what is wrong)."""
    from cli.steering import read_rules_file
    from recsvc.read.rule_format import parse_all

    return [dict(rule.source) for rule in parse_all(read_rules_file(path))]  # YAML's dates as ISO text


def variant_of(config, spec: str) -> tuple[str, tuple]:
    """``NAME:param=value,...,rules=FILE`` -> (name, (its config, its rules))."""
    from recsvc.read.rule_format import NAME

    name, sep, rest = spec.partition(":")
    if not sep or not NAME.fullmatch(name):
        raise ValueError(f"--variant {spec!r}: expected NAME:param=value,... or NAME:rules=FILE")
    overrides = [part for part in rest.split(",") if part and not part.startswith("rules=")]
    files = [part[len("rules=") :] for part in rest.split(",") if part.startswith("rules=")]
    if len(files) > 1 or not (overrides or files):
        raise ValueError(f"--variant {spec!r}: give parameters, one rules=FILE, or both")
    return name, (config_with(config, overrides), read_rules(Path(files[0])) if files else None)


def config_with(config, overrides: list[str]):
    """The config with NAME=VALUE overrides applied (values parsed as JSON, else kept as text)."""
    changes = {}
    names = {f.name for f in dataclasses.fields(config)}
    for override in overrides:
        name, sep, value = override.partition("=")
        if not sep or name not in names:
            raise ValueError(f"--param {override!r}: expected NAME=VALUE with NAME one of {', '.join(sorted(names))}")
        try:
            changes[name] = json.loads(value)
        except json.JSONDecodeError:
            changes[name] = value
    return dataclasses.replace(config, **changes)


def print_summary(result, r) -> None:
    """What a training published: counts, Redis memory, time, offline metrics and bad rows."""
    s = result.summary
    c, m = s.counts, s.redis_memory
    print(f"published model {result.version} to {describe(r)}")
    print(
        f"  events {c.events:,} (view {c.view:,}, addtocart {c.addtocart:,}, "
        f"purchase {c.purchase:,}, wishlist {c.wishlist:,}); users {c.users:,} "
        f"({c.fitted_users:,} fitted); items {c.items:,}; categories {c.categories:,}"
    )
    print(
        f"  redis memory: {m.used_bytes / 2**20:.1f} MiB; {m.bytes_per_user_key} bytes per user, "
        f"{m.bytes_per_item_key} bytes per item"
    )
    order = s.picks_order
    if order:
        kind = "the learned model" if order["kind"] == "learned" else f"the {order['kind']}"
        print(f"  picks ordered by: {kind} ({order['why']})")
    also = s.also_bought_order
    if also:
        print(f"  also-bought order: {also['kind']} ({also['why']})")
    print(f"  time: {(s.timings_s or {})['total']:.1f} s")
    task = (s.offline_metrics or {}).get("purchase_or_cart")
    if task:
        ndcg = ", ".join(f"{name} {m['ndcg@10']:.4f}" for name, m in task["models"].items())
        print(f"  offline NDCG@10, next purchases or carts of {task['users']} users: {ndcg}")
    offline_verdict = (s.offline_metrics or {}).get("verdict")
    if offline_verdict:
        print(f"  {offline_verdict}")
    if c.stream_events_consumed is not None:
        skipped = f" ({c.stream_events_skipped:,} bad, skipped)" if c.stream_events_skipped else ""
        print(f"  event stream: {c.stream_events_consumed:,} entries consumed and trimmed{skipped}")
    for name, bad in result.bad_rows.items():
        if bad.count:
            print(f"  skipped {bad.count:,} bad {name} rows, e.g.:")
            for example in bad.examples:
                print(f"    {example}")


def demo_urls(shop) -> list[str]:
    """A few requests that show what the demo shop's model learned."""
    with open(shop.catalog, newline="") as f:
        hidden = {row["item_id"] for row in csv.DictReader(f) if row["available"] == "false"}
    with open(shop.events, newline="") as f:
        purchases = [(row["user_id"], row["item_id"]) for row in csv.DictReader(f) if row["event"] == "purchase"]
    user = Counter(u for u, _ in purchases).most_common(1)[0][0]
    shoes = Counter(i for _, i in purchases if i.startswith("shoe") and i not in hidden)
    shoe = shoes.most_common(1)[0][0]
    return [
        f"/v1/users/{user}/recommendations?limit=5",
        f"/v1/items/{shoe}/also-bought?limit=5",
        f"/v1/items/{shoe}/similar?limit=5",
        f"/v1/users/{user}/category-offers",
        "/v1/users/someone-new/recommendations?limit=3",
        "/v1/popular?category=sports&limit=5",
        "/v1/model",
        "/openapi.json",
    ]
