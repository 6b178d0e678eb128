"""Changes to the shop's rules and A/B tests, for ``recsvc rules``, ``recsvc experiment`` and their API.

Every change lands in one transaction (or script) on the ``{control}`` slot together with a bump of
``keys.STEERING_REV``, which every service process reads with each request: a change takes effect at
the next request, and no process sees half of one. Rules and experiments are not part of a model
version, so a new training or a rollback keeps them.
"""

import json
import time
from collections.abc import Sequence

from recsvc.contract import versions
from recsvc.read import arm_report
from recsvc.read.experiments import CURRENT, Arm, Experiment, ExperimentError, new_experiment
from recsvc.read.rule_format import DEFAULT_VARIANT, MAX_RULES, Rule, RuleError, check_pins, measure, parse_all
from recsvc.read.steering import Steering, decode
from recsvc.store.steering import SteeringRecords


def steering(records: SteeringRecords) -> Steering:
    """The stored rules and experiments, as one state."""
    return decode(records.read())


def _field(rule: Rule) -> str:
    return f"{rule.variant}/{rule.name}"


def _check_pins(records: SteeringRecords, rules: Sequence[Rule]) -> None:
    """RuleError for a pin of an item the served model does not have."""
    served = records.served()
    if served is not None:
        check_pins(rules, lambda item_id: records.has_item(served, item_id))


def set_rules(records: SteeringRecords, raw: object) -> list[Rule]:
    """Replace every rule with those of ``raw`` (a list of rule objects, or ``{"rules": [...]}``); RuleError (
    RulesTooLarge for a document over the limits once expanded) before anything is stored."""
    rules = parse_all(raw)
    _check_pins(records, rules)
    records.replace_rules({_field(rule): json.dumps(rule.source) for rule in rules})
    return rules


def add_rules(records: SteeringRecords, raw: object) -> list[Rule]:
    """Add the rules of ``raw``, each replacing the stored rule of its name in its variant; RuleError (RulesTooLarge
    when the rules would pass the limits together) before anything is stored."""
    rules = parse_all(raw)
    if not rules:
        raise RuleError("no rules given: send at least one")
    _check_pins(records, rules)
    stored = steering(records).rules.rules
    together = {_field(x): x.source for x in (*stored, *rules)}
    if len(together) > MAX_RULES:
        raise RuleError(f"at most {MAX_RULES} rules")
    measure(list(together.values()))
    records.add_rules({_field(rule): json.dumps(rule.source) for rule in rules})
    return rules


def remove_rule(records: SteeringRecords, name: str, variant: str = DEFAULT_VARIANT) -> bool:
    """Remove one rule; False when there is none of that name in that variant."""
    return records.remove_rule(f"{variant}/{name}")


def start_experiment(records: SteeringRecords, name: str, arms: list[Arm], now: float | None = None) -> Experiment:
    """Start an A/B test; ExperimentError when it cannot run (a name taken, another running, an unknown version
    or rule set)."""
    experiment = new_experiment(name, arms, time.time() if now is None else now)
    variants = steering(records).rules.variants() | {DEFAULT_VARIANT}
    for arm in arms:
        if arm.rules not in variants:
            raise ExperimentError(
                f'arm {arm.name!r}: no rules of variant {arm.rules!r}; add them first (a rule\'s "variant" field)'
            )
    pinned = sorted({a.version for a in arms if a.version != CURRENT})
    outcome = records.start_experiment(name, experiment.encode(), pinned)
    if outcome == "exists":
        raise ExperimentError(f"an experiment called {name!r} exists already: choose another name")
    if outcome.startswith("running:"):
        raise ExperimentError(f"experiment {outcome[8:]!r} is running: stop it first (one experiment at a time)")
    if outcome.startswith("unpublished:"):
        raise ExperimentError(f"version {outcome[12:]!r} is not published; see `recsvc models`")
    return experiment


def stop_experiment(
    records: SteeringRecords, name: str, promote: str | None = None, now: float | None = None
) -> tuple[Experiment, list[str]]:
    """Stop a running experiment and keep its figures; with ``promote``, that arm's version is served and its
    rule set becomes the default one. Returns the stopped experiment and what the promotion changed.
    Raises ``versions.LockBusy`` (nothing changed) when a publish under way holds the served pointer."""
    stored = steering(records)
    experiment = stored.experiment(name)
    if experiment is None:
        raise ExperimentError(f"no experiment called {name!r}; see `recsvc experiment list`")
    if not experiment.running:
        raise ExperimentError(f"experiment {name!r} was stopped already")
    winner = experiment.arm(promote) if promote is not None else None
    final = arm_report.report(records.counts, experiment)
    stopped = Experiment(
        experiment.name, experiment.arms, experiment.started_at, time.time() if now is None else now, promote, final
    )
    pinned = {a.version for a in experiment.arms if a.version != CURRENT}
    changes: list[str] = []
    if winner is not None and winner.version != CURRENT and winner.version != records.served():
        # through the pointer's one writer, while the experiment still pins the version (no trim deletes it);
        # LockBusy while a publish is under way, and then the experiment runs on unchanged
        try:
            records.serve(winner.version)
        except versions.UnknownVersion as e:
            raise ExperimentError(str(e)) from None
        changes.append(f"serving version {winner.version}")
    dropped: list[str] = []
    promoted: dict[str, str] = {}
    if winner is not None and winner.rules != DEFAULT_VARIANT:
        old = [rule for rule in stored.rules.rules if rule.variant == DEFAULT_VARIANT]
        new = [rule for rule in stored.rules.rules if rule.variant == winner.rules]
        dropped = [_field(rule) for rule in (*old, *new)]
        sources = [{**rule.source, "variant": DEFAULT_VARIANT} for rule in new]
        promoted = {f"{DEFAULT_VARIANT}/{x['name']}": json.dumps(x) for x in sources}
        changes.append(f"the rules of variant {winner.rules!r} ({len(new)}) replaced the default rules ({len(old)})")
    records.stop_experiment(name, stopped.encode(), sorted(pinned), dropped, promoted)
    records.counts.forget(experiment.name, experiment.arm_names)
    return stopped, changes
