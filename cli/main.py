"""The ``recsvc`` command: the parser and the dispatch.

The service's commands live in ``cli.admin``; the trainer's in ``cli.trainer``, which imports
``training`` only inside each command, so serving never loads it and runs without the ``train`` extra.
"""

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from cli import admin, report, steering, trainer


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    previous = _stop_on_sigterm()
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.run(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stop_on_sigterm() -> signal.Handlers | Callable | int | None:
    """Make SIGTERM (``docker stop``, systemd, Kubernetes) end a command as Ctrl-C does: ``finally`` blocks and exit
    handlers run, so an embedded redis-server stops with the command and a publish under way deletes what it wrote.
    Returns the handler it replaced (None in a thread other than the main one, where signals cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, stop)


def _bad_rows_limit(text: str) -> float:
    """``--max-bad-rows``: ``5%`` and ``0.05`` are shares, ``100`` a count of rows."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share (0.05, 5%) or a count (100)") from None
    if text.endswith("%") and value == 1:
        return float("inf")  # 100%: any number of bad rows
    if not value >= 0 or (text.endswith("%") and value > 1) or (value >= 1 and value != int(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a share (0.05, 5%) or a count (100)")
    return value


def _positive(text: str) -> int:
    """A count of 1 or more."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def _shard_number(text: str) -> tuple[int, int]:
    """``--shard K/N``: shard K of N, K from 0 (an indexed Kubernetes Job's ``$JOB_COMPLETION_INDEX``)."""
    number, _, shards = text.partition("/")
    if not (number.isdigit() and shards.isdigit()) or not int(number) < int(shards):
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N with 0 <= K < N, e.g. 0/4")
    return int(number), int(shards)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recsvc", description="Recommendations for online shops.")
    parser.add_argument("--redis-url", help="Redis to use (default: $REDIS_URL, else an embedded Redis)")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train on events and publish a new model version")
    train.add_argument("--events", type=Path, help="events file or folder (CSV, CSV.gz, Parquet)")
    train.add_argument(
        "--stream",
        action="store_true",
        help="also learn from the events posted to POST /v1/events (trimmed once published)",
    )
    train.add_argument("--catalog", type=Path, help="catalog file: item_id, category_id, title, price, ...")
    train.add_argument("--categories", type=Path, help="category tree file: category_id, parent_id")
    train.add_argument("--preset", choices=_preset_names(), help="read a public format as it is")
    train.add_argument("--strict", action="store_true", help="fail on the first bad row")
    train.add_argument(
        "--max-bad-rows",
        type=_bad_rows_limit,
        default=0.05,
        metavar="LIMIT",
        help="fail when an input has more bad rows than this: a share below 1 or with %% (0.05, 5%%), "
        "else a count of rows (100); 0 allows none (default 0.05)",
    )
    train.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a training parameter, e.g. factors=32 (repeatable)",
    )
    train.add_argument(
        "--evaluate",
        action="store_true",
        help="first measure the model on a time split (the newest 20%% of events held out) "
        "and keep the metrics with the version (shown by /v1/model)",
    )
    train.add_argument("-v", "--verbose", action="store_true", help="log each step")
    group = train.add_argument_group(
        "sharded scoring", "score the users in parallel processes or machines (docs/scaling.md)"
    )
    sharded = group.add_mutually_exclusive_group()
    sharded.add_argument(
        "--jobs",
        type=_positive,
        default=1,
        metavar="J",
        help="score the users in J parallel processes on this machine (default 1: one process)",
    )
    sharded.add_argument(
        "--shards",
        type=_positive,
        metavar="N",
        help="fit and stage everything but the user records, save the state in --state for N shards and "
        "print their commands; nothing is served until --finish",
    )
    sharded.add_argument(
        "--shard",
        type=_shard_number,
        metavar="K/N",
        help="score shard K (0 to N-1) of the run in --state and write its users' records",
    )
    sharded.add_argument("--finish", action="store_true", help="serve the run in --state once all its shards are done")
    sharded.add_argument(
        "--abandon", action="store_true", help="give up the run in --state: delete its staged version, free the lock"
    )
    group.add_argument(
        "--state", type=Path, metavar="DIR", help="the folder of a sharded run's state (with --jobs: kept there)"
    )
    train.set_defaults(run=trainer.needs_trainer("train", trainer.train_command))

    serve = sub.add_parser("serve", help="serve the API (development server; --production: granian's workers)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--production",
        action="store_true",
        help="serve with granian's WSGI workers (the serve extra); SIGHUP restarts them",
    )
    serve.add_argument("--workers", type=int, help="with --production: worker processes (default: one per core)")
    serve.add_argument("--threads", type=int, default=4, help="with --production: threads per worker (default 4)")
    serve.set_defaults(run=admin.serve_command)

    demo = sub.add_parser("demo", help="make a sample shop, train on it and serve it")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--folder", type=Path, default=Path(".recsvc") / "demo-shop")
    demo.add_argument("--no-serve", action="store_true", help="train only")
    demo.set_defaults(run=trainer.needs_trainer("demo", trainer.demo_command))

    evaluate = sub.add_parser("evaluate", help="measure recommendation quality on a time split, beside baselines")
    evaluate.add_argument("--events", required=True, type=Path, help="events file or folder (CSV, CSV.gz, Parquet)")
    evaluate.add_argument("--catalog", type=Path, help="catalog file: item_id, category_id, ...")
    evaluate.add_argument("--categories", type=Path, help="category tree file: category_id, parent_id")
    evaluate.add_argument("--preset", choices=_preset_names(), help="read a public format as it is")
    cut = evaluate.add_mutually_exclusive_group()
    cut.add_argument("--split-date", metavar="DATE", help="test on events from this ISO date (UTC) on")
    cut.add_argument("--split-days", type=float, metavar="N", help="test on the last N days")
    cut.add_argument(
        "--split-fraction", type=float, metavar="F", help="test on the newest fraction F of events (the default, 0.2)"
    )
    evaluate.add_argument(
        "--budget-seconds",
        type=float,
        default=0.0,
        metavar="S",
        help="tune ALS and the data weighting for up to S seconds (0: no tuning)",
    )
    evaluate.add_argument(
        "--out", type=Path, default=Path(".recsvc") / "evaluation", help="folder for report.json and report.html"
    )
    evaluate.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="evaluate with a training parameter changed, e.g. factors=32 (repeatable)",
    )
    evaluate.add_argument(
        "--rules", type=Path, metavar="FILE", help="ask the served model under these merchandising rules (JSON or YAML)"
    )
    evaluate.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:SPEC",
        help="also measure a variant on the same split, paired with the served model: "
        "NAME:param=value,... and/or NAME:rules=FILE (repeatable)",
    )
    evaluate.add_argument("-v", "--verbose", action="store_true", help="log each step")
    evaluate.set_defaults(run=trainer.needs_trainer("evaluate", trainer.evaluate_command))

    convert = sub.add_parser("convert", help="convert a public data set to contract-format files")
    convert.add_argument("format", choices=["instacart", "diginetica"])
    convert.add_argument("--source", required=True, type=Path, help="the data set's folder")
    convert.add_argument("--out", required=True, type=Path, help="folder for events.csv.gz, catalog.csv, ...")
    convert.set_defaults(run=trainer.needs_trainer("convert", trainer.convert_command))

    models = sub.add_parser("models", help="list the published model versions")
    models.set_defaults(run=admin.models_command)

    rollback = sub.add_parser("rollback", help="serve a previously published version")
    rollback.add_argument("version")
    rollback.set_defaults(run=admin.rollback_command)

    export = sub.add_parser("export", help="write every user's picks or a trigger list to a file")
    export.add_argument("what", choices=["picks", "triggers"])
    export.add_argument("--kind", choices=admin.trigger_kinds(), help="the trigger list (with triggers)")
    export.add_argument("--out", required=True, type=Path, help="the file to write")
    export.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file name, else jsonl")
    export.add_argument("--limit", type=int, default=10, help="items per user (1-100)")
    export.add_argument("--days", type=int, help="the trigger's window in days (see /v1/triggers)")
    export.add_argument("--hours", type=int, help="abandoned-cart: hours in the cart")
    export.add_argument(
        "--suppress-days", type=int, help="leave out users sent this kind within N days (default 7; 0: nobody)"
    )
    export.add_argument("--no-progress", action="store_true", help="no progress bar")
    export.set_defaults(run=admin.export_command)

    catalog = sub.add_parser("catalog", help="change the published model's catalog without retraining")
    catalog_sub = catalog.add_subparsers(required=True, metavar="ACTION")
    update = catalog_sub.add_parser("update", help="apply availability, price and title changes at once")
    update.add_argument(
        "file", type=Path, help="CSV, CSV.gz or JSON lines: item_id and any of available, price, title, url, image_url"
    )
    update.add_argument("--version", help="the version to change (default: the served one)")
    update.set_defaults(run=admin.catalog_update_command)

    steering.add_commands(sub)

    reports = sub.add_parser("report", help="write a report of the served model as an HTML page")
    reports.add_argument("what", choices=["retention"])
    reports.add_argument("--out", required=True, type=Path, help="the folder for retention.html")
    reports.set_defaults(run=report.report_command)
    return parser


def _preset_names() -> list[str]:
    return ["retailrocket", "taobao"]


if __name__ == "__main__":
    sys.exit(main())
