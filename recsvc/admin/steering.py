"""Changes to the shop's rules and A/B tests, for ``recsvc rules``, ``recsvc experiment`` and their API.

Every change lands in one transaction (or script) on the ``{control}`` slot together with a bump of
``keys.STEERING_REV``, which every service process reads with each request: a change takes effect at
the next request, and no process sees half of one. Rules and experiments are not part of a model
version, so a new training or a rollback keeps them.
"""

import json
import time
from collections.abc import Sequence

import redis

from recsvc.arm_counts import ArmCounts
from recsvc.contract import keys, versions
from recsvc.read.experiments import CURRENT, Arm, Experiment, ExperimentError, new_experiment
from recsvc.read.rules import DEFAULT_VARIANT, MAX_RULES, Rule, RuleError, check_pins, measure, parse_all
from recsvc.read.steering import Steering, decode
from recsvc.store import StoreUnavailable

_START = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'exists' end
for _, raw in ipairs(redis.call('HVALS', KEYS[1])) do
  local other = cjson.decode(raw)
  if other['stopped_at'] == cjson.null then return 'running:' .. other['name'] end
end
for i = 3, #ARGV do
  if not redis.call('ZSCORE', KEYS[4], ARGV[i]) then return 'unpublished:' .. ARGV[i] end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
for i = 3, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
redis.call('INCR', KEYS[3])
return 'ok'
"""
"""Start an experiment only if its name is new, none runs, and its versions are published: all at once."""


def steering(r: redis.Redis) -> Steering:
    """The stored rules and experiments: one state, read without a MULTI (which a full Redis refuses, reads too),
    the revision read before and after them."""
    for _ in range(3):
        pipe = r.pipeline(transaction=False)
        pipe.get(keys.STEERING_REV)
        pipe.hgetall(keys.RULES)
        pipe.hgetall(keys.EXPERIMENTS)
        pipe.get(keys.STEERING_REV)
        rev, rules, experiments, again = pipe.execute()
        if rev == again:
            return decode(rev, rules, experiments)
    raise StoreUnavailable("the rules and experiments keep changing")


def _field(rule: Rule) -> str:
    return f"{rule.variant}/{rule.name}"


def _check_pins(r: redis.Redis, rules: Sequence[Rule]) -> None:
    """RuleError for a pin of an item the served model does not have."""
    served = versions.current(r)
    if served is not None:
        check_pins(rules, lambda item_id: bool(r.exists(keys.item(served, item_id))))


def set_rules(r: redis.Redis, raw: object) -> list[Rule]:
    """Replace every rule with those of ``raw`` (a list of rule objects, or ``{"rules": [...]}``); RuleError (
    RulesTooLarge for a document over the limits once expanded) before anything is stored."""
    rules = parse_all(raw)
    _check_pins(r, rules)
    pipe = r.pipeline(transaction=True)
    pipe.delete(keys.RULES)
    if rules:
        pipe.hset(keys.RULES, mapping={_field(rule): json.dumps(rule.source) for rule in rules})
    pipe.incr(keys.STEERING_REV)
    pipe.execute()
    return rules


def add_rules(r: redis.Redis, raw: object) -> list[Rule]:
    """Add the rules of ``raw``, each replacing the stored rule of its name in its variant; RuleError (RulesTooLarge
    when the rules would pass the limits together) before anything is stored."""
    rules = parse_all(raw)
    if not rules:
        raise RuleError("no rules given: send at least one")
    _check_pins(r, rules)
    stored = steering(r).rules.rules
    together = {_field(x): x.source for x in (*stored, *rules)}
    if len(together) > MAX_RULES:
        raise RuleError(f"at most {MAX_RULES} rules")
    measure(list(together.values()))
    pipe = r.pipeline(transaction=True)
    pipe.hset(keys.RULES, mapping={_field(rule): json.dumps(rule.source) for rule in rules})
    pipe.incr(keys.STEERING_REV)
    pipe.execute()
    return rules


def remove_rule(r: redis.Redis, name: str, variant: str = DEFAULT_VARIANT) -> bool:
    """Remove one rule; False when there is none of that name in that variant."""
    pipe = r.pipeline(transaction=True)
    pipe.hdel(keys.RULES, f"{variant}/{name}")
    pipe.incr(keys.STEERING_REV)
    removed, _ = pipe.execute()
    return bool(removed)


def start_experiment(r: redis.Redis, name: str, arms: list[Arm], now: float | None = None) -> Experiment:
    """Start an A/B test; ExperimentError when it cannot run (a name taken, another running, an unknown version
    or rule set)."""
    experiment = new_experiment(name, arms, time.time() if now is None else now)
    variants = steering(r).rules.variants() | {DEFAULT_VARIANT}
    for arm in arms:
        if arm.rules not in variants:
            raise ExperimentError(
                f'arm {arm.name!r}: no rules of variant {arm.rules!r}; add them first (a rule\'s "variant" field)'
            )
    pinned = sorted({a.version for a in arms if a.version != CURRENT})
    outcome = r.eval(
        _START,
        4,
        keys.EXPERIMENTS,
        keys.PINNED,
        keys.STEERING_REV,
        keys.VERSIONS,
        name,
        experiment.encode(),
        *pinned,
    ).decode()
    if outcome == "exists":
        raise ExperimentError(f"an experiment called {name!r} exists already: choose another name")
    if outcome.startswith("running:"):
        raise ExperimentError(f"experiment {outcome[8:]!r} is running: stop it first (one experiment at a time)")
    if outcome.startswith("unpublished:"):
        raise ExperimentError(f"version {outcome[12:]!r} is not published; see `recsvc models`")
    return experiment


def stop_experiment(
    r: redis.Redis, name: str, promote: str | None = None, now: float | None = None
) -> tuple[Experiment, list[str]]:
    """Stop a running experiment and keep its figures; with ``promote``, that arm's version is served and its
    rule set becomes the default one. Returns the stopped experiment and what the promotion changed.
    Raises ``versions.LockBusy`` (nothing changed) when a publish under way holds the served pointer."""
    stored = steering(r)
    experiment = stored.experiment(name)
    if experiment is None:
        raise ExperimentError(f"no experiment called {name!r}; see `recsvc experiment list`")
    if not experiment.running:
        raise ExperimentError(f"experiment {name!r} was stopped already")
    winner = experiment.arm(promote) if promote is not None else None
    counts = ArmCounts(r)
    final = counts.report(experiment)
    stopped = Experiment(
        experiment.name, experiment.arms, experiment.started_at, time.time() if now is None else now, promote, final
    )
    pinned = {a.version for a in experiment.arms if a.version != CURRENT}
    changes: list[str] = []
    if winner is not None and winner.version != CURRENT and winner.version != versions.current(r):
        # through the pointer's one writer, while the experiment still pins the version (no trim deletes it);
        # LockBusy while a publish is under way, and then the experiment runs on unchanged
        try:
            versions.rollback(r, winner.version)
        except versions.UnknownVersion as e:
            raise ExperimentError(str(e)) from None
        changes.append(f"serving version {winner.version}")
    pipe = r.pipeline(transaction=True)
    pipe.hset(keys.EXPERIMENTS, name, stopped.encode())
    if pinned:
        pipe.srem(keys.PINNED, *pinned)
    if winner is not None:
        if winner.rules != DEFAULT_VARIANT:
            changes.append(_promote_rules(pipe, stored.rules.rules, winner.rules))
    pipe.incr(keys.STEERING_REV)
    pipe.execute()
    counts.forget(experiment)
    return stopped, changes


def _promote_rules(pipe, stored: Sequence[Rule], variant: str) -> str:
    """Queue on ``pipe``: the rules of ``variant`` become the default rule set, replacing it."""
    old = [rule for rule in stored if rule.variant == DEFAULT_VARIANT]
    new = [rule for rule in stored if rule.variant == variant]
    if old:
        pipe.hdel(keys.RULES, *[_field(rule) for rule in old])
    if new:
        pipe.hdel(keys.RULES, *[_field(rule) for rule in new])
        promoted = [{**rule.source, "variant": DEFAULT_VARIANT} for rule in new]
        pipe.hset(keys.RULES, mapping={f"{DEFAULT_VARIANT}/{x['name']}": json.dumps(x) for x in promoted})
    return f"the rules of variant {variant!r} ({len(new)}) replaced the default rules ({len(old)})"
