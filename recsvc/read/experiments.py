"""A/B tests: arms, their shares, and which arm a user or visitor sees.

An arm serves a published model version (or whatever version is served, ``current``) with a rule
set (``recsvc.read.rule_format``: the ``default`` one unless it names a variant). A subject (a user id,
or ``visitor:<id>`` for an anonymous session) is assigned by a hash of the experiment's name and
the subject: the same subject always sees the same arm, and subjects spread over the arms in
proportion to their shares. At most one experiment runs at a time.
"""

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

from recsvc.read.rule_format import DEFAULT_VARIANT

EXPERIMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
ARM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,19}")
"""Names travel inside rec_ids (``recsvc.http.attribution``): no dots."""
CURRENT = "current"
"""An arm's version that follows the served one."""
MAX_ARMS = 5


class ExperimentError(ValueError):
    """An experiment that cannot be started or changed; the message is one line for the operator."""


@dataclass(frozen=True)
class Arm:
    """One variant of an experiment."""

    name: str
    version: str = CURRENT  # a published version id, or ``current``
    rules: str = DEFAULT_VARIANT  # the rule set this arm's lists follow
    share: float = 0.5

    def describe(self) -> str:
        """``version`` and ``rules:<variant>`` as ``--arm`` takes them."""
        parts = [self.version] + ([f"rules:{self.rules}"] if self.rules != DEFAULT_VARIANT else [])
        return ",".join(parts)


@dataclass(frozen=True)
class Experiment:
    """An A/B test, running until ``stopped_at`` is set."""

    name: str
    arms: tuple[Arm, ...]
    started_at: float
    stopped_at: float | None = None
    promoted: str | None = None
    final: dict | None = field(default=None, compare=False)  # the report frozen when it stopped

    @property
    def running(self) -> bool:
        return self.stopped_at is None

    def arm_for(self, subject: str) -> Arm:
        """The arm ``subject`` sees: a stable hash of the experiment and the subject, cut by the shares."""
        digest = hashlib.blake2b(f"{self.name}\n{subject}".encode(), digest_size=8).digest()
        point = int.from_bytes(digest, "big") / 2.0**64
        total = 0.0
        for arm in self.arms:
            total += arm.share
            if point < total:
                return arm
        return self.arms[-1]  # rounding of the shares

    def arm(self, name: str) -> Arm:
        """The arm called ``name``; ExperimentError when there is none."""
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise ExperimentError(f"experiment {self.name!r} has no arm {name!r} (arms: {', '.join(self.arm_names)})")

    def state(self) -> dict:
        """Its name, whether it runs, when it started and stopped, and the arm it promoted."""
        return {
            "name": self.name,
            "running": self.running,
            "started_at": self.started_at,
            "stopped_at": self.stopped_at,
            "promoted": self.promoted,
        }

    @property
    def arm_names(self) -> list[str]:
        return [a.name for a in self.arms]

    def encode(self) -> str:
        """The JSON stored in ``keys.EXPERIMENTS``."""
        return json.dumps({**asdict(self), "arms": [asdict(a) for a in self.arms]}, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: bytes | str) -> "Experiment":
        data = json.loads(raw)
        return cls(**{**data, "arms": tuple(Arm(**a) for a in data["arms"])})


Assignment = tuple[Experiment, Arm]
"""The running experiment and the arm a user or visitor sees in it."""


def parse_arm(spec: str, share: float) -> Arm:
    """An arm from ``NAME=VERSION``, ``NAME=rules:VARIANT`` or ``NAME=VERSION,rules:VARIANT``
    (``VERSION`` may be ``current``: the served version)."""
    name, sep, value = spec.partition("=")
    if not sep or not ARM_NAME.fullmatch(name):
        raise ExperimentError(f"arm {spec!r}: give NAME=VERSION, NAME=rules:VARIANT or both, NAME of A-Z a-z 0-9 _ -")
    version, rules = CURRENT, DEFAULT_VARIANT
    for part in (p.strip() for p in value.split(",")):
        if part.startswith("rules:"):
            rules = part[len("rules:") :]
        elif part:
            version = part
    if not rules or not version:
        raise ExperimentError(f"arm {spec!r}: an empty version or rule set")
    return Arm(name, version, rules, share)


def parse_split(text: str | None, arms: int) -> list[float]:
    """Shares from ``50,50`` (percentages or weights; equal shares when None)."""
    if not 2 <= arms <= MAX_ARMS:
        raise ExperimentError(f"an experiment has 2 to {MAX_ARMS} arms, got {arms}")
    if text is None:
        return [1.0 / arms] * arms
    try:
        weights = [float(w) for w in text.split(",")]
    except ValueError:
        raise ExperimentError(f"split {text!r} must be numbers such as 50,50") from None
    if len(weights) != arms or any(not 0 < w < 1e9 for w in weights):
        raise ExperimentError(f"split {text!r} must give a positive share to each of the {arms} arms")
    total = sum(weights)
    return [w / total for w in weights]


def new_experiment(name: str, arms: list[Arm], started_at: float) -> Experiment:
    """A checked experiment (the arms' versions and rule sets are checked where they are stored)."""
    if not EXPERIMENT_NAME.fullmatch(name):
        raise ExperimentError(f"experiment name {name!r} must be 1-40 of A-Z a-z 0-9 _ - (no dots)")
    if not 2 <= len(arms) <= MAX_ARMS:
        raise ExperimentError(f"an experiment has 2 to {MAX_ARMS} arms, got {len(arms)}")
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise ExperimentError(f"arm names must differ: {', '.join(names)}")
    return Experiment(name, tuple(arms), started_at)


def experiment_tag(arm: Assignment | None) -> dict:
    """``{"experiment": {"name", "arm"}}`` for an answer to a user or visitor in a running experiment."""
    return {"experiment": {"name": arm[0].name, "arm": arm[1].name}} if arm is not None else {}
