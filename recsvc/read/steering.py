"""What the shop steers its lists with, apart from the model: its rules and its running A/B test.

``ModelStore`` reads ``keys.STEERING_REV`` with every request and decodes a new ``Steering`` (``decode``) only
when that revision moved, so a rule or an experiment takes effect at the next request.
"""

import json
import logging
from dataclasses import dataclass, field, replace

from recsvc.read.experiments import CURRENT, Assignment, Experiment
from recsvc.read.rule_format import RuleError, parse
from recsvc.read.rules import RuleSet
from recsvc.store.steering import StoredSteering

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Steering:
    """The rules and experiments stored at one revision."""

    rev: bytes | None = None
    rules: RuleSet = field(default_factory=RuleSet)
    experiments: tuple[Experiment, ...] = ()

    @property
    def running(self) -> Experiment | None:
        """The experiment that assigns arms now, if any."""
        return next((e for e in self.experiments if e.running), None)

    def assignment(self, subject: str | None) -> Assignment | None:
        """The running experiment and the arm ``subject`` sees (None: no experiment, or no subject)."""
        experiment = self.running
        if experiment is None or subject is None:
            return None
        return experiment, experiment.arm_for(subject)

    @staticmethod
    def pinned(assignment: Assignment | None) -> str | None:
        """The version an arm serves (None: no arm, or the served version)."""
        if assignment is None or assignment[1].version == CURRENT:
            return None
        return assignment[1].version

    def experiment(self, name: str) -> Experiment | None:
        return next((e for e in self.experiments if e.name == name), None)


def decode(stored: StoredSteering) -> Steering:
    """A ``Steering`` from the stored hashes; a stored rule that no longer parses is logged and left out. With the
    published versions known, an arm whose version is no longer published serves the current one."""
    parsed = []
    for key, raw in sorted(stored.rules.items()):
        try:
            parsed.append(parse(json.loads(raw)))
        except (RuleError, ValueError) as e:
            log.warning("stored rule %s is left out: %s", key.decode(errors="replace"), e)
    found = sorted((Experiment.decode(raw) for raw in stored.experiments.values()), key=lambda e: e.started_at)
    known = stored.published
    running = next((e for e in found if e.running), None)
    if known is not None and running is not None and any(a.version not in known | {CURRENT} for a in running.arms):
        arms = tuple(a if a.version in known else replace(a, version=CURRENT) for a in running.arms)
        found = [replace(e, arms=arms) if e is running else e for e in found]
    return Steering(stored.rev, RuleSet(tuple(parsed)), tuple(found))
