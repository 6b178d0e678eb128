"""``recsvc rules`` and ``recsvc experiment``: the merchandiser's rules and A/B tests. None needs the trainer."""

import json
from datetime import datetime, timezone
from pathlib import Path

from cli.common import fail, steering_records


def add_commands(sub) -> None:
    """Add the ``rules`` and ``experiment`` commands to the parser's subcommands."""
    rules = sub.add_parser("rules", help="the merchandising rules: filter, boost, bury, pin, diversity")
    actions = rules.add_subparsers(required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="print the rules")
    listing.add_argument("--json", action="store_true", help="as JSON, as `rules set` takes them")
    listing.set_defaults(run=rules_list)
    setting = actions.add_parser("set", help="replace every rule with those of a JSON or YAML file")
    setting.add_argument("file", type=Path, help='a list of rules, or {"rules": [...]} (docs/merchandising.md)')
    setting.set_defaults(run=rules_set)
    adding = actions.add_parser("add", help="add the rules of a JSON or YAML file, each replacing the rule of its name")
    adding.add_argument("file", type=Path, help='a list of rules, or {"rules": [...]} (docs/merchandising.md)')
    adding.set_defaults(run=rules_add)
    removing = actions.add_parser("remove", help="remove one rule")
    removing.add_argument("name")
    removing.add_argument("--variant", default="default", help="the rule set it belongs to (default: default)")
    removing.set_defaults(run=rules_remove)

    experiment = sub.add_parser("experiment", help="A/B tests of model versions and rule sets")
    actions = experiment.add_subparsers(required=True, metavar="ACTION")
    start = actions.add_parser("start", help="start an A/B test (one runs at a time)")
    start.add_argument("name")
    start.add_argument(
        "--arm",
        action="append",
        required=True,
        metavar="NAME=SPEC",
        help="an arm: NAME=VERSION (or current), NAME=rules:VARIANT, or NAME=VERSION,rules:VARIANT (2 to 5 arms)",
    )
    start.add_argument("--split", metavar="A,B", help="the arms' shares, e.g. 50,50 or 90,10 (default: equal)")
    start.set_defaults(run=experiment_start)
    stop = actions.add_parser("stop", help="stop an A/B test and keep its figures")
    stop.add_argument("name")
    stop.add_argument("--promote", metavar="ARM", help="serve this arm's version and make its rules the default")
    stop.set_defaults(run=experiment_stop)
    listing = actions.add_parser("list", help="the A/B tests, running and stopped")
    listing.set_defaults(run=experiment_list)
    show = actions.add_parser("show", help="an A/B test's figures per arm, with intervals and tests")
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="the report as JSON (as GET /v1/experiments/NAME)")
    show.set_defaults(run=experiment_show)


def rules_list(args) -> int:
    from recsvc.admin.steering import steering
    from recsvc.read.rule_format import describe

    rules = describe(steering(steering_records(args.redis_url)).rules.rules)
    if args.json:
        print(json.dumps(rules, indent=2, ensure_ascii=False))
    elif not rules:
        print("no rules: every list is as the model ranks it")
    for rule in [] if args.json else rules:
        rest = {k: v for k, v in rule.items() if k not in ("name", "type", "variant")}
        variant = f" [{rule['variant']}]" if rule.get("variant", "default") != "default" else ""
        print(f"{rule['name']}{variant}  {rule['type']}  {json.dumps(rest, ensure_ascii=False)}")
    return 0


def rules_set(args) -> int:
    from recsvc.admin.steering import set_rules

    return _change_rules(args, set_rules, "set")


def rules_add(args) -> int:
    from recsvc.admin.steering import add_rules

    return _change_rules(args, add_rules, "added")


def _change_rules(args, change, done: str) -> int:
    """Apply ``change`` to the rules of ``args.file``; nothing is stored when the file or a rule is bad (exit 2),
    nor when the rules pass the limits once expanded (YAML aliases count as copies)."""
    from recsvc.read.rule_format import RuleError

    try:
        raw = read_rules_file(args.file)
    except (OSError, ValueError) as e:
        return fail(f"{args.file}: {e}")
    try:
        rules = change(steering_records(args.redis_url), raw)
    except RuleError as e:
        return fail(f"{args.file}: {e}; nothing was stored")
    print(f"{len(rules)} rules {done}; they apply from the next request")
    return 0


def read_rules_file(path: Path) -> object:
    """The rules of a JSON or YAML file (by its suffix); ValueError when it does not parse. A YAML alias is
    read as a reference to what it names: ``set_rules`` counts it as a copy against the limits."""
    text = path.read_text()
    if path.suffix not in (".yaml", ".yml"):
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError) as e:
            raise ValueError(f"not valid JSON: {e}") from None
    import yaml

    try:
        return yaml.safe_load(text) or []
    except (yaml.YAMLError, RecursionError) as e:
        raise ValueError(f"not valid YAML: {e}") from None


def rules_remove(args) -> int:
    from recsvc.admin.steering import remove_rule

    if not remove_rule(steering_records(args.redis_url), args.name, args.variant):
        return fail(f"no rule {args.name!r} in variant {args.variant!r}; see `recsvc rules list`")
    print(f"removed rule {args.name!r}")
    return 0


def experiment_start(args) -> int:
    from recsvc.admin.steering import start_experiment
    from recsvc.read.experiments import ExperimentError, parse_arm, parse_split

    try:
        shares = parse_split(args.split, len(args.arm))
        arms = [parse_arm(spec, share) for spec, share in zip(args.arm, shares)]
        experiment = start_experiment(steering_records(args.redis_url), args.name, arms)
    except ExperimentError as e:
        return fail(str(e))
    print(f"experiment {experiment.name} started:")
    for arm in experiment.arms:
        print(f"  {arm.name}  {arm.share:.0%}  {arm.describe()}")
    return 0


def experiment_stop(args) -> int:
    from recsvc.admin.steering import stop_experiment
    from recsvc.contract.versions import PublishFailed
    from recsvc.read.experiments import ExperimentError

    try:
        stopped, changes = stop_experiment(steering_records(args.redis_url), args.name, args.promote)
    except (ExperimentError, PublishFailed) as e:
        return fail(str(e))
    print(f"experiment {stopped.name} stopped; its figures are kept (`recsvc experiment show {stopped.name}`)")
    for change in changes:
        print(f"  promoted {args.promote}: {change}")
    return 0


def experiment_list(args) -> int:
    from recsvc.admin.steering import steering

    found = steering(steering_records(args.redis_url)).experiments
    if not found:
        print("no experiments yet: `recsvc experiment start NAME --arm a=current --arm b=VERSION`")
    for e in found:
        state = "running" if e.running else f"stopped {_when(e.stopped_at)}"
        arms = ", ".join(f"{a.name}={a.describe()} ({a.share:.0%})" for a in e.arms)
        promoted = f", promoted {e.promoted}" if e.promoted else ""
        print(f"{e.name}  started {_when(e.started_at)}  {state}{promoted}  {arms}")
    return 0


def experiment_show(args) -> int:
    from recsvc.admin.steering import steering
    from recsvc.read import arm_report

    records = steering_records(args.redis_url)
    experiment = steering(records).experiment(args.name)
    if experiment is None:
        return fail(f"no experiment called {args.name!r}; see `recsvc experiment list`")
    report = arm_report.report(records.counts, experiment)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{experiment.name}: {'running' if experiment.running else 'stopped'} since {_when(experiment.started_at)}")
    print(f"{'arm':<8}{'users':>9}{'CTR':>24}{'conversion':>24}{'revenue/user':>26}")
    for arm in report["arms"]:
        print(
            f"{arm['name']:<8}{arm['users']:>9,}{_estimate(arm['ctr'], '%'):>24}"
            f"{_estimate(arm['conversion'], '%'):>24}{_estimate(arm['revenue_per_user'], ''):>26}"
        )
    for c in report["comparisons"]:
        for metric in ("ctr", "conversion", "revenue_per_user", "all_conversion", "all_revenue_per_user"):
            d = c[metric]
            if d["difference"] is None:
                verdict = "too few users to tell"
            else:
                verdict = "significant" if d["significant"] else "within noise"
                verdict = f"{d['difference']:+.4g} [{d['low']:+.4g}, {d['high']:+.4g}], p={d['p_value']:.3g}: {verdict}"
            print(f"  {c['arm']} vs {c['against']}, {metric}: {verdict} ({d['test']})")
    return 0


def _estimate(e: dict, unit: str) -> str:
    if e["value"] is None:
        return "-"
    scale = 100 if unit == "%" else 1
    low = "?" if e["low"] is None else f"{e['low'] * scale:.2f}"
    high = "?" if e["high"] is None else f"{e['high'] * scale:.2f}"
    return f"{e['value'] * scale:.2f}{unit} [{low}, {high}]"


def _when(at: float | None) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="minutes") if at else "?"
