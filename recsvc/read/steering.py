"""What the shop steers its lists with, apart from the model: its rules and its running A/B test.

``ModelStore`` reads ``keys.STEERING_REV`` with every request and loads a new ``Steering`` only when
that revision moved, so a rule or an experiment takes effect at the next request.
"""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from recsvc.read.experiments import Arm, Experiment
from recsvc.read.rules import RuleError, RuleSet, parse

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

    def assignment(self, subject: str | None) -> tuple[Experiment, Arm] | None:
        """The running experiment and the arm ``subject`` sees (None: no experiment, or no subject)."""
        experiment = self.running
        if experiment is None or subject is None:
            return None
        return experiment, experiment.arm_for(subject)

    def experiment(self, name: str) -> Experiment | None:
        return next((e for e in self.experiments if e.name == name), None)


NO_STEERING = Steering()


def decode(rev: bytes | None, rules: Mapping[bytes, bytes], experiments: Mapping[bytes, bytes]) -> Steering:
    """A ``Steering`` from the stored hashes; a stored rule that no longer parses is logged and left out."""
    parsed = []
    for key, raw in sorted(rules.items()):
        try:
            parsed.append(parse(json.loads(raw)))
        except (RuleError, ValueError) as e:
            log.warning("stored rule %s is left out: %s", key.decode(errors="replace"), e)
    found = sorted((Experiment.decode(raw) for raw in experiments.values()), key=lambda e: e.started_at)
    return Steering(rev, RuleSet(tuple(parsed)), tuple(found))
