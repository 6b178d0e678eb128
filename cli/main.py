"""The ``recsvc`` command: train, serve, demo, models, rollback.

Training code is imported only by the commands that train, so serving never loads it.
"""

import argparse
import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path

from recsvc.admin import versions
from recsvc.connection import connect, describe


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recsvc", description="Recommendations for online shops.")
    parser.add_argument("--redis-url", help="Redis to use (default: $REDIS_URL, else an embedded Redis)")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train on events and publish a new model version")
    train.add_argument("--events", type=Path, help="events file or folder (CSV, CSV.gz, Parquet)")
    train.add_argument("--stream", action="store_true",
                       help="also learn from the events posted to POST /v1/events (trimmed once published)")
    train.add_argument("--catalog", type=Path, help="catalog file: item_id, category_id, title, price, ...")
    train.add_argument("--categories", type=Path, help="category tree file: category_id, parent_id")
    train.add_argument("--preset", choices=_preset_names(), help="read a public format as it is")
    train.add_argument("--strict", action="store_true", help="fail on the first bad row")
    train.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="override a training parameter, e.g. factors=32 (repeatable)")
    train.add_argument("--evaluate", action="store_true",
                       help="first measure the model on a time split (the newest 20%% of events held out) "
                            "and keep the metrics with the version (shown by /v1/model)")
    train.add_argument("-v", "--verbose", action="store_true", help="log each step")
    train.set_defaults(run=_train)

    serve = sub.add_parser("serve", help="serve the API (development server)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)

    demo = sub.add_parser("demo", help="make a sample shop, train on it and serve it")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--folder", type=Path, default=Path(".recsvc") / "demo-shop")
    demo.add_argument("--no-serve", action="store_true", help="train only")
    demo.set_defaults(run=_demo)

    evaluate = sub.add_parser("evaluate", help="measure recommendation quality on a time split, beside baselines")
    evaluate.add_argument("--events", required=True, type=Path, help="events file or folder (CSV, CSV.gz, Parquet)")
    evaluate.add_argument("--catalog", type=Path, help="catalog file: item_id, category_id, ...")
    evaluate.add_argument("--categories", type=Path, help="category tree file: category_id, parent_id")
    evaluate.add_argument("--preset", choices=_preset_names(), help="read a public format as it is")
    cut = evaluate.add_mutually_exclusive_group()
    cut.add_argument("--split-date", metavar="DATE", help="test on events from this ISO date (UTC) on")
    cut.add_argument("--split-days", type=float, metavar="N", help="test on the last N days")
    cut.add_argument("--split-fraction", type=float, metavar="F", help="test on the newest fraction F of events "
                     "(the default, 0.2)")
    evaluate.add_argument("--budget-seconds", type=float, default=0.0, metavar="S",
                          help="tune ALS and the data weighting for up to S seconds (0: no tuning)")
    evaluate.add_argument("--out", type=Path, default=Path(".recsvc") / "evaluation",
                          help="folder for report.json and report.html")
    evaluate.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                          help="evaluate with a training parameter changed, e.g. factors=32 (repeatable)")
    evaluate.add_argument("-v", "--verbose", action="store_true", help="log each step")
    evaluate.set_defaults(run=_evaluate)

    convert = sub.add_parser("convert", help="convert a public data set to contract-format files")
    convert.add_argument("format", choices=["instacart", "diginetica"])
    convert.add_argument("--source", required=True, type=Path, help="the data set's folder")
    convert.add_argument("--out", required=True, type=Path, help="folder for events.csv.gz, catalog.csv, ...")
    convert.set_defaults(run=_convert)

    models = sub.add_parser("models", help="list the published model versions")
    models.set_defaults(run=_models)

    rollback = sub.add_parser("rollback", help="serve a previously published version")
    rollback.add_argument("version")
    rollback.set_defaults(run=_rollback)

    export = sub.add_parser("export", help="write every user's picks or a trigger list to a file")
    export.add_argument("what", choices=["picks", "triggers"])
    export.add_argument("--kind", choices=_trigger_kinds(), help="the trigger list (with triggers)")
    export.add_argument("--out", required=True, type=Path, help="the file to write")
    export.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file name, else jsonl")
    export.add_argument("--limit", type=int, default=10, help="items per user (1-100)")
    export.add_argument("--days", type=int, help="the trigger's window in days (see /v1/triggers)")
    export.add_argument("--hours", type=int, help="abandoned-cart: hours in the cart")
    export.add_argument("--no-progress", action="store_true", help="no progress bar")
    export.set_defaults(run=_export)

    catalog = sub.add_parser("catalog", help="change the published model's catalog without retraining")
    catalog_sub = catalog.add_subparsers(required=True, metavar="ACTION")
    update = catalog_sub.add_parser("update", help="apply availability, price and title changes at once")
    update.add_argument("file", type=Path, help="CSV, CSV.gz or JSON lines: item_id and any of "
                                                "available, price, title, url, image_url")
    update.add_argument("--version", help="the version to change (default: the served one)")
    update.set_defaults(run=_catalog_update)
    return parser


def _trigger_kinds() -> list[str]:
    from recsvc.contract.keys import TRIGGER_KINDS

    return list(TRIGGER_KINDS)


def _preset_names() -> list[str]:
    return ["retailrocket", "taobao"]


def _fail(message: str) -> int:
    print(f"recsvc: error: {message}", file=sys.stderr)
    return 2


def _train(args) -> int:
    from training.config import TrainConfig
    from training.inputs.readers import InputError
    from training.train import Inputs, train

    try:
        config = _config_with(TrainConfig(), args.param)
    except ValueError as e:
        return _fail(str(e))
    if args.events is None and not args.stream:
        return _fail("give --events PATH, --stream, or both")
    r = connect(args.redis_url)
    inputs = Inputs(events=args.events, catalog=args.catalog, categories=args.categories,
                    preset=args.preset, strict=args.strict, stream=args.stream)
    try:
        metrics = None
        if args.evaluate:
            from training.evaluation.pipeline import offline_metrics

            try:
                metrics = offline_metrics(args.events, preset=args.preset, catalog=args.catalog,
                                          categories=args.categories, config=config)
            except InputError:
                raise
            except ValueError as e:
                return _fail(f"cannot evaluate: {e} (the published model is unchanged)")
        result = train(r, inputs, config, offline_metrics=metrics)
    except InputError as e:
        return _fail(f"{e} (the published model is unchanged)")
    _print_summary(result, r)
    return 0


def _evaluate(args) -> int:
    from training.config import TrainConfig
    from training.evaluation.pipeline import SplitBy, evaluate_dataset, headline
    from training.inputs.readers import InputError

    try:
        config = _config_with(TrainConfig(), args.param)
        result = evaluate_dataset(
            args.events, preset=args.preset, catalog=args.catalog, categories=args.categories,
            split_by=SplitBy(args.split_date, args.split_days, args.split_fraction), config=config,
            budget_seconds=args.budget_seconds, out=args.out)
    except (InputError, ValueError) as e:
        return _fail(str(e))
    for line in headline(result):
        print(line)
    if result.get("tuning"):
        print(f"tuned: {json.dumps(result['tuning']['best'])} ({result['tuning']['trials']} trials)")
    print(f"report: {result['files']['html']} and {result['files']['json']} ({result['seconds']:.0f} s)")
    return 0


def _convert(args) -> int:
    from training.inputs.convert import CONVERTERS

    try:
        written = CONVERTERS[args.format](args.source, args.out)
    except (OSError, ValueError) as e:
        return _fail(str(e))
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0


def _config_with(config, overrides: list[str]):
    """The config with NAME=VALUE overrides applied (values parsed as JSON, else kept as text)."""
    import dataclasses

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


def _print_summary(result, r) -> None:
    s = result.summary
    c, m = s["counts"], s["redis_memory"]
    print(f"published model {result.version} to {describe(r)}")
    print(f"  events {c['events']:,} (view {c['view']:,}, addtocart {c['addtocart']:,}, "
          f"purchase {c['purchase']:,}, wishlist {c['wishlist']:,}); users {c['users']:,} "
          f"({c['fitted_users']:,} fitted); items {c['items']:,}; categories {c['categories']:,}")
    print(f"  redis memory: {m['used_bytes'] / 2**20:.1f} MiB; {m['bytes_per_user_key']} bytes per user, "
          f"{m['bytes_per_item_key']} bytes per item")
    print(f"  time: {s['timings_s']['total']:.1f} s")
    task = (s.get("offline_metrics") or {}).get("purchase_or_cart")
    if task:
        ndcg = ", ".join(f"{name} {m['ndcg@10']:.4f}" for name, m in task["models"].items())
        print(f"  offline NDCG@10, next purchases or carts of {task['users']} users: {ndcg}")
    for name, bad in result.bad_rows.items():
        if bad.count:
            print(f"  skipped {bad.count:,} bad {name} rows, e.g.:")
            for example in bad.examples:
                print(f"    {example}")


def _serve(args) -> int:
    from recsvc import create_app

    app = create_app({"REDIS_URL": args.redis_url} if args.redis_url else None)
    app.run(host=args.host, port=args.port)
    return 0


def _demo(args) -> int:
    from training.demo_shop import write_demo_shop
    from training.train import Inputs, train

    shop = write_demo_shop(args.folder)
    r = connect(args.redis_url)
    result = train(r, Inputs(events=shop.events, catalog=shop.catalog, categories=shop.categories))
    _print_summary(result, r)
    if args.no_serve:
        return 0
    base = f"http://{args.host}:{args.port}"
    print("\nTry:")
    for path in _demo_urls(shop):
        print(f"  curl -s '{base}{path}'")
    from recsvc import create_app
    from recsvc.store import ModelStore

    app = create_app(store=ModelStore(r))
    app.run(host=args.host, port=args.port)
    return 0


def _demo_urls(shop) -> list[str]:
    """A few requests that show what the demo shop's model learned."""
    import csv
    from collections import Counter

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


def _models(args) -> int:
    r = connect(args.redis_url)
    listed = versions.list_versions(r)
    if not listed:
        print("no model published yet: run `recsvc train`")
        return 0
    for info in listed:
        when = datetime.fromtimestamp(info.published_at, timezone.utc).isoformat(timespec="seconds")
        counts = info.meta.get("counts", {})
        mark = "*" if info.current else " "
        print(f"{mark} {info.version}  published {when}  users {counts.get('users', '?'):,}  "
              f"items {counts.get('items', '?'):,}  events {counts.get('events', '?'):,}")
    return 0


def _rollback(args) -> int:
    r = connect(args.redis_url)
    try:
        versions.rollback(r, args.version)
    except versions.UnknownVersion as e:
        return _fail(str(e))
    print(f"serving {args.version}")
    return 0


def _export(args) -> int:
    from recsvc.admin import export
    from recsvc.store import ModelStore, NoModel
    from recsvc.read.triggers import WINDOWS

    if not 1 <= args.limit <= 100:
        return _fail("--limit must be from 1 to 100")
    fmt = args.format or ("csv" if args.out.name.endswith(".csv") else "jsonl")
    store = ModelStore(connect(args.redis_url))
    try:
        if args.what == "picks":
            total, rows = export.picks(store, args.limit)
        else:
            if args.kind is None:
                return _fail("export triggers needs --kind " + "|".join(_trigger_kinds()))
            window = WINDOWS[args.kind]
            given = {"days": args.days, "hours": args.hours}
            if any(v is not None for name, v in given.items() if name != window.name):
                return _fail(f"{args.kind} takes --{window.name}")
            span = given[window.name]
            if span is not None and not 0 <= span <= window.maximum:
                return _fail(f"--{window.name} must be from 0 to {window.maximum}")
            total, rows = export.trigger_entries(store, args.kind, span, args.limit)
        count = export.write(rows, args.out, fmt, total, "users", progress=not args.no_progress)
    except NoModel as e:
        return _fail(str(e))
    print(f"wrote {count:,} users to {args.out} ({fmt})")
    return 0


def _catalog_update(args) -> int:
    from recsvc.admin.catalog import CatalogError, update_catalog

    try:
        result = update_catalog(connect(args.redis_url), args.file, args.version)
    except CatalogError as e:
        return _fail(str(e))
    print(f"updated {result.changed:,} items of {result.version}: {result.hidden:,} hidden, "
          f"{result.shown:,} shown again; {result.unknown:,} not in the model")
    if result.bad_rows:
        print(f"  skipped {result.bad_rows:,} bad rows, e.g.:")
        for example in result.examples:
            print(f"    {example}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
