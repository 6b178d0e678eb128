"""``/v1/rules`` and ``/v1/experiments``: the merchandiser's rules and A/B tests, behind the API key.

The same changes as ``recsvc rules`` and ``recsvc experiment`` (``recsvc.admin.steering``); each takes
effect at the next request of every service process.
"""

from collections.abc import Callable

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from recsvc.admin import steering as changes
from recsvc.http.api import answers, json_object
from recsvc.http.auth import require_api_key
from recsvc.http.errors import ApiError, invalid
from recsvc.read import arm_report
from recsvc.read.experiments import EXPERIMENT_NAME, Experiment, ExperimentError, parse_arm, parse_split
from recsvc.read.rule_format import DEFAULT_VARIANT, NAME, RuleError, RulesTooLarge, describe
from recsvc.store.steering import SteeringRecords

bp = Blueprint("steering", __name__, url_prefix="/v1")


def _records() -> SteeringRecords:
    return answers().store.steering_records


def _rules_body() -> object:
    body = request.get_json(silent=True)
    if body is None:
        raise invalid('the body must be a JSON list of rules or {"rules": [...]}')
    return body


def _changed_rules(change: Callable[[SteeringRecords, object], object]) -> ResponseReturnValue:
    """Apply a change of the rules from the body: the rules after it, a 400 naming the bad rule, or a 413 for
    rules over the limits once expanded."""
    try:
        change(_records(), _rules_body())
    except RulesTooLarge as e:
        raise ApiError(413, str(e)) from None
    except RuleError as e:
        raise invalid(str(e)) from None
    return jsonify(_rules_answer())


def _rules_answer() -> dict:
    rules = changes.steering(_records()).rules
    return {"rules": describe(rules.rules), "variants": sorted(rules.variants() | {DEFAULT_VARIANT})}


@bp.get("/rules")
@require_api_key
def list_rules() -> ResponseReturnValue:
    """The merchandising rules.
    ---
    get:
      summary: The merchandising rules, as they were given
      tags: [merchandising]
      security: [{apiKey: []}]
      responses:
        200: {description: The rules, content: {application/json: {schema: Rules}}}
        401: Unauthenticated
        503: Unavailable
    """
    return jsonify(_rules_answer())


@bp.put("/rules")
@require_api_key
def replace_rules() -> ResponseReturnValue:
    """Replace every rule.
    ---
    put:
      summary: Replace every merchandising rule with these
      description: The rules take effect at the next request; an empty list removes them all.
      tags: [merchandising]
      security: [{apiKey: []}]
      requestBody: {required: true, content: {application/json: {schema: RulesRequest}}}
      responses:
        200: {description: The rules now, content: {application/json: {schema: Rules}}}
        400: BadRequest
        401: Unauthenticated
        413: TooLarge
        503: Unavailable
    """
    return _changed_rules(changes.set_rules)


@bp.post("/rules")
@require_api_key
def add_rules() -> ResponseReturnValue:
    """Add rules, each replacing the rule of its name.
    ---
    post:
      summary: Add merchandising rules (a rule replaces the one of its name and variant)
      tags: [merchandising]
      security: [{apiKey: []}]
      requestBody: {required: true, content: {application/json: {schema: RulesRequest}}}
      responses:
        200: {description: The rules now, content: {application/json: {schema: Rules}}}
        400: BadRequest
        401: Unauthenticated
        413: TooLarge
        503: Unavailable
    """
    return _changed_rules(changes.add_rules)


@bp.delete("/rules/<name>")
@require_api_key
def remove_rule(name: str) -> ResponseReturnValue:
    """Remove one rule.
    ---
    delete:
      summary: Remove a merchandising rule
      tags: [merchandising]
      security: [{apiKey: []}]
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
        - {name: variant, in: query, schema: {type: string, default: default}}
      responses:
        200: {description: The rules now, content: {application/json: {schema: Rules}}}
        400: BadRequest
        401: Unauthenticated
        404: NotFound
        503: Unavailable
    """
    variant = request.args.get("variant", DEFAULT_VARIANT)
    if not NAME.fullmatch(name) or not NAME.fullmatch(variant):
        raise invalid("name and variant are 1-64 of A-Z a-z 0-9 _ . -")
    if not changes.remove_rule(_records(), name, variant):
        raise ApiError(404, f"no rule {name!r} in variant {variant!r}")
    return jsonify(_rules_answer())


@bp.get("/experiments")
@require_api_key
def list_experiments() -> ResponseReturnValue:
    """The A/B tests, running and stopped.
    ---
    get:
      summary: The A/B tests
      tags: [experiments]
      security: [{apiKey: []}]
      responses:
        200: {description: The experiments (oldest first), content: {application/json: {schema: Experiments}}}
        401: Unauthenticated
        503: Unavailable
    """
    found = changes.steering(_records()).experiments
    return jsonify({"experiments": [_summary(e) for e in found]})


@bp.post("/experiments")
@require_api_key
def start_experiment() -> ResponseReturnValue:
    """Start an A/B test.
    ---
    post:
      summary: Start an A/B test
      description: 'Each arm serves a published version (or "current": the served one) with a rule set (the
        default one, or a variant named by rules). Users and visitors are assigned by a stable hash. One
        experiment runs at a time; its versions are kept until it stops.'
      tags: [experiments]
      security: [{apiKey: []}]
      requestBody: {required: true, content: {application/json: {schema: ExperimentRequest}}}
      responses:
        201: {description: The experiment, content: {application/json: {schema: Experiment}}}
        400: BadRequest
        401: Unauthenticated
        503: Unavailable
    """
    body = json_object('{"name": "new-ranker", "arms": {"a": "current", "b": "v20261205-0600"}, "split": [50, 50]}')
    name = body.get("name")
    arms = body.get("arms")
    if not isinstance(name, str) or not EXPERIMENT_NAME.fullmatch(name):
        raise invalid("name must be 1-40 of A-Z a-z 0-9 _ -")
    if not isinstance(arms, dict) or not all(isinstance(v, str) for v in arms.values()):
        raise invalid('arms must be an object of arm name -> "VERSION", "rules:VARIANT" or "VERSION,rules:VARIANT"')
    split = body.get("split")
    if split is not None and (
        not isinstance(split, list) or not all(isinstance(w, (int, float)) and not isinstance(w, bool) for w in split)
    ):
        raise invalid("split must be a list of numbers, one per arm")
    try:
        shares = parse_split(",".join(str(w) for w in split) if split is not None else None, len(arms))
        parsed = [parse_arm(f"{arm}={spec}", share) for (arm, spec), share in zip(arms.items(), shares)]
        experiment = changes.start_experiment(_records(), name, parsed)
    except ExperimentError as e:
        raise invalid(str(e)) from None
    return jsonify(_summary(experiment)), 201


@bp.get("/experiments/<name>")
@require_api_key
def experiment_report(name: str) -> ResponseReturnValue:
    """An A/B test's figures per arm, with intervals and tests.
    ---
    get:
      summary: An A/B test's report
      description: Per arm, the users it answered, its impressions, clicks and CTR, the conversion and revenue per
        user of the purchases attributed to its answers (by rec_id) and of every purchase of its users after it
        answered them, each with a 95% interval; each arm against the first, with the test named.
      tags: [experiments]
      security: [{apiKey: []}]
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
      responses:
        200: {description: The report, content: {application/json: {schema: ExperimentReport}}}
        401: Unauthenticated
        404: NotFound
        503: Unavailable
    """
    experiment = changes.steering(_records()).experiment(name)
    if experiment is None:
        raise ApiError(404, f"no experiment called {name!r}")
    return jsonify(arm_report.report(_records().counts, experiment))


@bp.post("/experiments/<name>/stop")
@require_api_key
def stop_experiment(name: str) -> ResponseReturnValue:
    """Stop an A/B test, optionally promoting an arm.
    ---
    post:
      summary: Stop an A/B test
      description: Its figures are kept. With promote, that arm's version is served and its rule set becomes the
        default one.
      tags: [experiments]
      security: [{apiKey: []}]
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
      requestBody: {content: {application/json: {schema: StopRequest}}}
      responses:
        200: {description: The final report, content: {application/json: {schema: ExperimentReport}}}
        400: BadRequest
        401: Unauthenticated
        404: NotFound
        409: Conflict
        503: Unavailable
    """
    body = request.get_json(silent=True) or {}
    promote = body.get("promote") if isinstance(body, dict) else None
    if promote is not None and not isinstance(promote, str):
        raise invalid("promote must be an arm's name")
    if changes.steering(_records()).experiment(name) is None:
        raise ApiError(404, f"no experiment called {name!r}")
    try:
        stopped, done = changes.stop_experiment(_records(), name, promote)
    except ExperimentError as e:
        raise invalid(str(e)) from None
    return jsonify({**arm_report.report(_records().counts, stopped), "changes": done})


def _summary(experiment: Experiment) -> dict:
    return {
        **experiment.state(),
        "arms": [
            {"name": a.name, "version": a.version, "rules": a.rules, "share": round(a.share, 4)}
            for a in experiment.arms
        ],
    }
