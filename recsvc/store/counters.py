"""What the service appends and counts as things happen: posted events, sends of trigger messages, and what each
arm of an A/B test earned.

Per arm: the users (or visitors) it answered (a set, so each counts once), its answers, the impressions and
clicks the browser reported on its rec_ids, the purchases attributed to its answers by rec_id, and every purchase
of a user after the arm answered them (``all``). ``recsvc.read.arm_report`` turns the counts into a report.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass

from recsvc.contract import keys
from recsvc.contract.events import EVENTS
from recsvc.contract.live import LIVE_LENGTH, LIVE_TTL_S
from recsvc.contract.live import entry as live_entry
from recsvc.store.wire import Wire, guarded


class EventsAndSends:
    """The writes of the service's model store (a part of ``ModelStore``): events as they come, sends of triggers."""

    _wire: Wire

    @guarded
    def append_events(self, events: Sequence[dict[str, str]], maxlen: int) -> None:
        """Add events (stream fields, canonical names) to the stream and their users' live lists, in one round trip.

        The stream keeps about ``maxlen`` entries; each live list keeps ``LIVE_LENGTH`` and expires
        ``LIVE_TTL_S`` after its user's last event.
        """
        pipe = self._wire.pipeline()
        arrived = int(time.time())
        for fields in events:
            pipe.xadd(keys.EVENTS_STREAM, fields, maxlen=maxlen, approximate=True)
            code = EVENTS.index(fields["event"])
            pipe.lpush(keys.live(fields["user_id"]), live_entry(code, fields["item_id"], arrived))
        for user_id in {fields["user_id"] for fields in events}:
            pipe.ltrim(keys.live(user_id), 0, LIVE_LENGTH - 1)
            pipe.expire(keys.live(user_id), LIVE_TTL_S)
        pipe.execute()

    @guarded
    def sent_at(self, kind: str, user_ids: Sequence[str]) -> list[float | None]:
        """When a message of ``kind`` was last sent to each user (None: never, or long ago)."""
        if not user_ids:
            return []
        return list(self._wire.client.zmscore(keys.sent(kind), list(user_ids)))

    @guarded
    def record_sends(self, kind: str, user_ids: Sequence[str], at: float, forget_before: float) -> None:
        """Note that ``kind`` was sent to the users at ``at`` (a later send wins);
        forget sends before ``forget_before``."""
        pipe = self._wire.pipeline()
        pipe.zadd(keys.sent(kind), {u: at for u in user_ids}, gt=True)
        pipe.zremrangebyscore(keys.sent(kind), "-inf", f"({forget_before}")
        pipe.execute()


@dataclass(frozen=True)
class Purchase:
    """A posted purchase: who bought, for how much, the buyer's own arm, and the arm of the rec_id it carried."""

    user_id: str
    revenue: float
    arm: str
    attributed_arm: str | None = None


@dataclass(frozen=True)
class ArmTally:
    """An arm's counts as stored: users answered, the counts hash, and the revenue of each buyer (attributed,
    and every purchase)."""

    users: int
    counts: dict[bytes, bytes]
    attributed: list[bytes]
    every: list[bytes]


class ArmCounts:
    """Counts per arm, kept under each experiment's hash tag."""

    def __init__(self, wire: Wire):
        self._wire = wire

    @guarded
    def answered(self, exposures: Sequence[tuple[str, str, str]]) -> None:
        """Count answers given as (experiment, arm, user or ``visitor:<id>``), in one round trip."""
        per_arm: dict[tuple[str, str], list[str]] = {}
        for experiment, arm, subject in exposures:
            per_arm.setdefault((experiment, arm), []).append(subject)
        pipe = self._wire.pipeline()
        for (experiment, arm), subjects in per_arm.items():  # a batch's thousand answers: two commands an arm
            pipe.sadd(keys.experiment_users(experiment, arm), *subjects)
            pipe.hincrby(keys.experiment_counts(experiment, arm), "answers", len(subjects))
        pipe.execute()

    @guarded
    def reported(self, experiment: str, arm: str, kind: str, n: int = 1) -> None:
        """Count browser reports (``impression``, ``click``) on an arm's answers."""
        self._wire.client.hincrby(keys.experiment_counts(experiment, arm), f"{kind}s", n)

    @guarded
    def purchased(self, experiment: str, purchases: Sequence[Purchase]) -> None:
        """Count purchases: by the arm of their rec_id, and by the buyer's own arm when it answered them before."""
        if not purchases:
            return
        pipe = self._wire.pipeline()
        for purchase in purchases:
            pipe.sismember(keys.experiment_users(experiment, purchase.arm), purchase.user_id)
        exposed = pipe.execute()
        for purchase, seen in zip(purchases, exposed):
            if purchase.attributed_arm is not None:
                _count(pipe, experiment, purchase.attributed_arm, purchase, "attributed")
            if seen:
                _count(pipe, experiment, purchase.arm, purchase, "all")
        pipe.execute()

    @guarded
    def tallies(self, experiment: str, arms: Sequence[str]) -> list[ArmTally]:
        """Each arm's counts, in one round trip."""
        pipe = self._wire.pipeline()
        for arm in arms:
            pipe.scard(keys.experiment_users(experiment, arm))
            pipe.hgetall(keys.experiment_counts(experiment, arm))
            pipe.hvals(keys.experiment_buyers(experiment, arm, "attributed"))
            pipe.hvals(keys.experiment_buyers(experiment, arm, "all"))
        replies = pipe.execute()
        return [ArmTally(int(replies[n]), *replies[n + 1 : n + 4]) for n in range(0, len(replies), 4)]

    @guarded
    def forget(self, experiment: str, arms: Sequence[str]) -> None:
        """Drop the per-user sets of a stopped experiment (its report is kept with it)."""
        names = []
        for arm in arms:
            names += [
                keys.experiment_users(experiment, arm),
                keys.experiment_buyers(experiment, arm, "attributed"),
                keys.experiment_buyers(experiment, arm, "all"),
            ]
        self._wire.client.delete(*names)  # one hash tag: one slot, so one command on a cluster too


def _count(pipe, name: str, arm: str, purchase: Purchase, kind: str) -> None:
    prefix = "" if kind == "attributed" else "all_"
    pipe.hincrby(keys.experiment_counts(name, arm), f"{prefix}purchases", 1)
    pipe.hincrbyfloat(keys.experiment_counts(name, arm), f"{prefix}revenue", purchase.revenue)
    pipe.hincrbyfloat(keys.experiment_buyers(name, arm, kind), purchase.user_id, purchase.revenue)
