"""Merchandising rules as a shop writes them: the format, its checks and its limits.

A rule is a JSON object (``docs/merchandising.md`` has the whole format):

- ``filter``: keep only the items that match ``when`` (``"action": "keep"``), or drop them (``"drop"``);
- ``boost`` / ``bury``: multiply the relevance of matching items by ``factor`` (above 1 lifts, below 1 buries);
- ``pin``: put ``item_id`` at ``position`` (1 = first) of the list, for a campaign;
- ``diversity``: at most ``max_per_category`` items of one category in a list;
- ``exploration``: the ``share`` of the list that goes to new items (``recsvc.read.exploration``; 0: none).

Each rule may name the ``lists`` it applies to (default: all of ``LISTS``), the ``categories`` of the
lists it applies to (a list's category is its ``category`` filter, its offer's category or its
subject item's category; children count), a ``variant`` (the rule set it belongs to: ``default``
unless an A/B test arm names another) and a ``start`` / ``end`` time. ``parse`` checks a rule and
says exactly what is wrong; ``measure`` refuses a document too large once expanded. Conditions are
compiled into sets (the values a condition accepts) and ranges. What the rules do to a list is
``recsvc.read.rules``.
"""

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from recsvc.contract.ids import ID_RULE, is_valid_id

LISTS = ("recommendations", "also_bought", "similar", "category_offers", "popular", "session", "email")
"""The lists a rule may name: ``email`` is the batch endpoint and ``recsvc export picks``."""
KINDS = ("filter", "boost", "bury", "pin", "diversity", "exploration")
DEFAULT_VARIANT = "default"
DIVERSITY_DEFAULT = 4
"""``max_per_category`` of a diversity rule that gives none (docs/merchandising.md: measured on six shop shapes)."""
MAX_EXPLORATION = 0.5
"""The most of a list an exploration rule may give to new items."""
MAX_RULES = 200
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""A rule's or a variant's name."""
ATTRIBUTE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
"""An attribute a condition names: a catalog column (``price``, ``brand``, ...) or ``category``."""
MAX_RULES_BYTES = 2 * 1024 * 1024
"""Bytes of JSON all the rules may take once expanded (YAML aliases count as copies): the API's body limit."""
MAX_RULES_VALUES = 250_000
"""Values (strings, numbers, lists, objects) all the rules may hold once expanded."""


class RuleError(ValueError):
    """A rule that cannot be applied; the message names the rule and the field."""


class RulesTooLarge(RuleError):
    """A rules document over ``MAX_RULES_BYTES`` or ``MAX_RULES_VALUES`` once expanded."""


Condition = Callable[[Any], bool]


@dataclass(frozen=True)
class Rule:
    """One checked rule."""

    name: str
    kind: str
    lists: frozenset[str] = frozenset(LISTS)
    categories: frozenset[str] = frozenset()
    variant: str = DEFAULT_VARIANT
    start: float | None = None
    end: float | None = None
    when: tuple[tuple[str, Condition], ...] = ()
    keep: bool = False  # filter: keep matching items (else drop them)
    factor: float = 1.0
    item_id: str = ""
    position: int = 1
    max_per_category: int = DIVERSITY_DEFAULT
    share: float = 0.0  # exploration
    source: Mapping[str, Any] = field(default_factory=dict, compare=False)  # the rule as it was given

    def matches(self, item_facts: Mapping[str, Any], categories: frozenset[str]) -> bool:
        """Whether an item (its catalog attributes; ``categories``: its category and the parents) meets ``when``."""
        for name, condition in self.when:
            value = categories if name == "category" else item_facts.get(name)
            if value is None or not condition(value):
                return False
        return True

    @property
    def skus(self) -> frozenset[object] | None:
        """The item ids the rule can match when ``when`` names a list of them (None: it names none)."""
        for name, condition in self.when:
            if name == "item_id" and isinstance(condition, OneOf):
                return condition.others
        return None

    def active(self, now: float) -> bool:
        """Whether ``now`` (unix seconds) lies within the rule's start and end."""
        return (self.start is None or self.start <= now) and (self.end is None or now < self.end)


def parse(raw: object) -> Rule:
    """A rule from its JSON object; RuleError says what is wrong."""
    if not isinstance(raw, Mapping):
        raise RuleError(f"a rule must be an object, got {type(raw).__name__}")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise RuleError(f"rule name {name!r} must be 1-64 of A-Z a-z 0-9 _ . - (not starting with _ . -)")

    def fail(message: str) -> RuleError:
        return RuleError(f"rule {name!r}: {message}")

    kind = raw.get("type")
    if kind not in KINDS:
        raise fail(f"type must be one of {', '.join(KINDS)}")
    allowed = {"name", "type", "lists", "categories", "variant", "start", "end", "description"}
    allowed |= {
        "filter": {"when", "action"},
        "boost": {"when", "factor"},
        "bury": {"when", "factor"},
        "pin": {"item_id", "position"},
        "diversity": {"max_per_category"},
        "exploration": {"share"},
    }[kind]
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise fail(f"unknown field {unknown[0]!r} for a {kind} rule (it takes {', '.join(sorted(allowed))})")
    out: dict[str, Any] = {"name": name, "kind": kind, "source": dict(raw)}
    lists = raw.get("lists")
    if lists is not None:
        lists = [lists] if isinstance(lists, str) else lists
        if not isinstance(lists, list) or not lists or any(x not in LISTS for x in lists):
            raise fail(f"lists must name some of {', '.join(LISTS)}")
        out["lists"] = frozenset(lists)
    categories = raw.get("categories")
    if categories is not None:
        categories = [categories] if isinstance(categories, str) else categories
        if not isinstance(categories, list) or not categories or not all(is_valid_id(c) for c in categories):
            raise fail(f"categories must be a list of category ids: {ID_RULE}")
        out["categories"] = frozenset(categories)
    variant = raw.get("variant", DEFAULT_VARIANT)
    if not isinstance(variant, str) or not NAME.fullmatch(variant):
        raise fail("variant must be 1-64 of A-Z a-z 0-9 _ . -")
    out["variant"] = variant
    for end in ("start", "end"):
        if raw.get(end) is not None:
            out[end] = _moment(raw[end], fail, end)
            if not isinstance(raw[end], (str, int, float)):  # a date or datetime YAML read: kept as ISO text
                out["source"][end] = datetime.fromtimestamp(out[end], timezone.utc).isoformat()
    if out.get("start") is not None and out.get("end") is not None and out["start"] >= out["end"]:
        raise fail("end must come after start")
    if kind in ("filter", "boost", "bury"):
        out["when"] = _conditions(raw.get("when"), fail)
    if kind == "filter":
        action = raw.get("action", "drop")
        if action not in ("keep", "drop"):
            raise fail('action must be "keep" (only matching items stay) or "drop" (matching items go)')
        out["keep"] = action == "keep"
    elif kind in ("boost", "bury"):
        factor = raw.get("factor", 2.0 if kind == "boost" else 0.5)
        if not _number(factor) or not 0 < factor <= 100:
            raise fail("factor must be a number above 0 and at most 100")
        if (kind == "boost") != (factor > 1) or factor == 1:
            raise fail("a boost's factor must be above 1, a bury's below 1")
        out["factor"] = float(factor)
    elif kind == "pin":
        item_id = raw.get("item_id")
        if not isinstance(item_id, str) or not is_valid_id(item_id):
            raise fail(f"item_id must be an item id: {ID_RULE}")
        position = raw.get("position", 1)
        if not _integer(position) or not 1 <= position <= 100:
            raise fail("position must be an integer from 1 to 100")
        out["item_id"], out["position"] = item_id, position
    elif kind == "diversity":
        most = raw.get("max_per_category", DIVERSITY_DEFAULT)
        if not _integer(most) or not 1 <= most <= 100:
            raise fail("max_per_category must be an integer from 1 to 100")
        out["max_per_category"] = most
    elif kind == "exploration":
        share = raw.get("share")
        if not isinstance(share, (int, float)) or not _number(share) or not 0 <= share <= MAX_EXPLORATION:
            raise fail(f"share must be a number from 0 to {MAX_EXPLORATION:g}")
        out["share"] = float(share)
    return Rule(**out)


def parse_all(raw: object) -> list[Rule]:
    """Rules from a list of rule objects (or ``{"rules": [...]}``, or one rule), names unique in each variant;
    RulesTooLarge before anything else for a document over the limits once expanded."""
    measure(raw)
    if isinstance(raw, Mapping) and "rules" in raw and "type" not in raw:
        raw = raw["rules"]
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        raise RuleError('rules must be a list of rule objects, or {"rules": [...]}')
    if len(raw) > MAX_RULES:
        raise RuleError(f"at most {MAX_RULES} rules")
    rules = [parse(r) for r in raw]
    seen: set[tuple[str, str]] = set()
    for rule in rules:
        if (rule.variant, rule.name) in seen:
            raise RuleError(f"rule {rule.name!r} is given twice in variant {rule.variant!r}")
        seen.add((rule.variant, rule.name))
    return rules


def measure(raw: object) -> tuple[int, int]:
    """(values, bytes of JSON) of a rules document with every shared part (a YAML alias) counted as a copy;
    RulesTooLarge as soon as either passes its limit, so a document that expands without end is refused
    after ``MAX_RULES_VALUES`` steps, never expanded."""
    values = size = 0
    stack = [raw]
    while stack:
        node = stack.pop()
        values += 1
        if isinstance(node, Mapping):
            size += 4 * len(node) if node else 2  # {}, ", " between members and ": " in each
            stack.extend(node.values())
            size += sum(_json_size(key) for key in node)
        elif isinstance(node, (list, tuple)):
            size += 2 * len(node) if node else 2  # [] and ", " between items
            stack.extend(node)
        else:
            size += _json_size(node)
        if values > MAX_RULES_VALUES or size > MAX_RULES_BYTES:
            raise RulesTooLarge(
                f"the rules are too large: more than {MAX_RULES_VALUES:,} values or {MAX_RULES_BYTES:,} bytes of "
                "JSON once expanded (a YAML alias counts as a copy of what it names)"
            )
    return values, size


def _json_size(value: object) -> int:
    """Bytes of a plain value in JSON (a date or time YAML read: as ISO text)."""
    if isinstance(value, (date, datetime)):
        return 34
    try:
        return len(json.dumps(value))
    except (TypeError, ValueError):
        return len(str(value)) + 2


def _moment(value: object, fail: Callable[[str], RuleError], name: str) -> float:
    """Unix seconds from a number or an ISO-8601 time (UTC unless it says otherwise), or a date or datetime."""
    if _number(value):
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, date) and not isinstance(value, datetime):  # midnight UTC
        value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
    raise fail(f"{name} must be unix seconds or an ISO-8601 time such as 2026-12-24T00:00:00Z")


def _conditions(raw: object, fail: Callable[[str], RuleError]) -> tuple[tuple[str, Condition], ...]:
    """``when``: attribute -> a value (equal), a list (any of) or ``{"min", "max"}`` (a range, inclusive)."""
    if not isinstance(raw, Mapping) or not raw:
        raise fail('when must be an object of conditions such as {"brand": "acme", "price": {"max": 50}}')
    out = []
    for name, spec in raw.items():
        if not ATTRIBUTE.fullmatch(name):
            raise fail(f"when: {name!r} is not an attribute name")
        out.append((name, _condition(name, spec, fail)))
    return tuple(out)


def _condition(name: str, spec: object, fail: Callable[[str], RuleError]) -> Condition:
    if name == "category":
        wanted = [spec] if isinstance(spec, str) else spec
        if not isinstance(wanted, list) or not wanted or not all(isinstance(c, str) and is_valid_id(c) for c in wanted):
            raise fail("when: category must be a category id or a list of them")
        ids = frozenset(wanted)
        return lambda ancestors: not ids.isdisjoint(ancestors)
    if isinstance(spec, Mapping):
        if not spec or set(spec) - {"min", "max"} or not all(_number(v) for v in spec.values()):
            raise fail(f'when: {name} takes a value, a list of values or {{"min": number, "max": number}}')
        low, high = float(spec.get("min", -math.inf)), float(spec.get("max", math.inf))
        if low > high:
            raise fail(f"when: {name}'s min is above its max")
        return lambda value: _number(value) and low <= value <= high
    values = spec if isinstance(spec, list) else [spec]
    if not values or not all(isinstance(v, (str, int, float, bool)) for v in values):
        raise fail(f"when: {name} must be a string, number or boolean, or a list of them")
    return OneOf(values)


class OneOf:
    """An equality condition: the value is one of the accepted ones, of the same kind (``true`` never equals
    ``1``, ``1`` equals ``1.0``), looked up in a set whatever the number of values."""

    __slots__ = ("booleans", "others")

    def __init__(self, values: Iterable[object]):
        values = list(values)
        self.booleans = frozenset(v for v in values if isinstance(v, bool))
        self.others = frozenset(v for v in values if not isinstance(v, bool) and v == v)  # NaN equals nothing

    def __call__(self, value: object) -> bool:
        try:
            return value in (self.booleans if isinstance(value, bool) else self.others)
        except TypeError:  # a list or an object: equal to no accepted value
            return False


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def describe(rules: Iterable[Rule]) -> list[dict]:
    """The rules as they were given, for listing them."""
    return [dict(r.source) for r in sorted(rules, key=lambda r: (r.variant, r.name))]


def check_pins(rules: Sequence[Rule], known: Callable[[str], bool]) -> None:
    """RuleError for a pin whose item the served model does not know."""
    for rule in rules:
        if rule.kind == "pin" and not known(rule.item_id):
            raise RuleError(f"rule {rule.name!r}: item_id {rule.item_id!r} is not an item of the served model")
