"""The service's commands: serve, models, rollback, export, catalog update. None needs the trainer."""

from datetime import datetime, timezone

import redis

from cli.common import fail, model_store
from recsvc.contract import versions
from recsvc.store.connect import connect


def trigger_kinds() -> list[str]:
    """The trigger lists ``recsvc export triggers --kind`` writes."""
    from recsvc.contract.keys import TRIGGER_KINDS

    return list(TRIGGER_KINDS)


def serve_command(args) -> int:
    if args.production:
        from cli import production

        workers = args.workers if args.workers is not None else production.default_workers()
        return production.serve(args.host, args.port, workers, args.threads, args.redis_url)
    from recsvc import create_app

    app = create_app({"REDIS_URL": args.redis_url} if args.redis_url else None)
    app.run(host=args.host, port=args.port)
    return 0


def models_command(args) -> int:
    r = connect(args.redis_url)
    listed = versions.list_versions(r)
    if not listed:
        print("no model published yet: run `recsvc train`")
        return 0
    for info in listed:
        when = datetime.fromtimestamp(info.published_at, timezone.utc).isoformat(timespec="seconds")
        counts = info.meta.get("counts", {})
        mark = "*" if info.current else " "
        print(
            f"{mark} {info.version}  published {when}  users {counts.get('users', '?'):,}  "
            f"items {counts.get('items', '?'):,}  events {counts.get('events', '?'):,}"
        )
    return 0


def rollback_command(args) -> int:
    r = connect(args.redis_url)
    try:
        versions.rollback(r, args.version)
    except (versions.UnknownVersion, versions.PublishFailed) as e:
        return fail(str(e))
    except redis.exceptions.OutOfMemoryError:
        return fail("Redis is full (its maxmemory is reached) and refused the rollback's lock; nothing changed")
    print(f"serving {args.version}")
    return 0


def export_command(args) -> int:
    from recsvc import collector
    from recsvc.admin import export
    from recsvc.read.triggers import MAX_SUPPRESS_DAYS, SUPPRESS_DAYS, WINDOWS
    from recsvc.store.errors import NoModel

    if not 1 <= args.limit <= 100:
        return fail("--limit must be from 1 to 100")
    fmt = args.format or ("csv" if args.out.name.endswith(".csv") else "jsonl")
    store = model_store(connect(args.redis_url))
    collector.tune(collector.configured_threshold())  # a row per user: as the service sets it
    try:
        if args.what == "picks":
            total, rows = export.picks(store, args.limit)
        else:
            if args.kind is None:
                return fail("export triggers needs --kind " + "|".join(trigger_kinds()))
            window = WINDOWS[args.kind]
            given = {"days": args.days, "hours": args.hours}
            if any(v is not None for name, v in given.items() if name != window.name):
                return fail(f"{args.kind} takes --{window.name}")
            span = given[window.name]
            if span is not None and not 0 <= span <= window.maximum:
                return fail(f"--{window.name} must be from 0 to {window.maximum}")
            suppress = SUPPRESS_DAYS if args.suppress_days is None else args.suppress_days
            if not 0 <= suppress <= MAX_SUPPRESS_DAYS:
                return fail(f"--suppress-days must be from 0 to {MAX_SUPPRESS_DAYS}")
            total, rows = export.trigger_entries(store, args.kind, span, args.limit, suppress)
        count = export.write(rows, args.out, fmt, total, "users", progress=not args.no_progress)
    except NoModel as e:
        return fail(str(e))
    print(f"wrote {count:,} users to {args.out} ({fmt})")
    return 0


def catalog_update_command(args) -> int:
    from recsvc.admin.catalog import CatalogError, update_catalog
    from recsvc.store.catalog_updates import CatalogRecords
    from recsvc.store.wire import Wire

    try:
        result = update_catalog(CatalogRecords(Wire(connect(args.redis_url))), args.file, args.version)
    except CatalogError as e:
        return fail(str(e))
    print(
        f"updated {result.changed:,} items of {result.version}: {result.hidden:,} hidden, "
        f"{result.shown:,} shown again; {result.added:,} added; {result.unknown:,} not in the model"
    )
    if result.category_kept:
        print(f"  kept the category of {result.category_kept:,} known items (a change of category needs a training)")
    if result.new_attributes:
        added = ", ".join(f"{name} ({kind})" for name, kind in result.new_attributes.items())
        print(f"  {len(result.new_attributes):,} new attributes: {added}")
    if result.back_in_stock or result.price_drops:
        print(
            f"  triggers: {result.back_in_stock:,} items back in stock ({result.notified['back-in-stock']:,} users), "
            f"{result.price_drops:,} price drops ({result.notified['price-drop']:,} users)"
        )
    if result.bad_rows:
        print(f"  skipped {result.bad_rows:,} bad rows, e.g.:")
        for example in result.examples:
            print(f"    {example}")
    return 0
