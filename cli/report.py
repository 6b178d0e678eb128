"""``recsvc report retention``: the retention figures of the served version as an HTML page."""

from cli.common import fail, model_store
from recsvc.contract import versions
from recsvc.store.connect import connect


def report_command(args) -> int:
    from recsvc.admin import retention_report

    r = connect(args.redis_url)
    served = versions.current(r)
    if served is None:
        return fail("no model is published yet: run `recsvc train`")
    store = model_store(r)
    figures = store.analytics(served)
    if figures is None:
        return fail(f"version {served} was trained without retention figures: train again")
    previous, previous_version = None, None
    listed = versions.list_versions(r)  # newest first
    published = {v.version: v.published_at for v in listed}
    for version in [v.version for v in listed if v.published_at < published.get(served, float("inf"))]:
        # the newest version published before the served one that has figures
        previous = store.analytics(version)
        if previous is not None:
            previous_version = version
            break
    path = retention_report.write(args.out, served, figures, previous, previous_version)
    print(f"wrote {path}")
    return 0
