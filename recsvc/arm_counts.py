"""What each arm of an A/B test earned, counted in Redis as answers, reports and purchases come in.

Per arm: the users (or visitors) it answered (a set, so each counts once), its answers, the
impressions and clicks the browser reported on its rec_ids (a posted ``view`` carrying one of its
rec_ids is a click too), the purchases attributed to its answers by rec_id, and every purchase of
a user after the arm answered them (``all``): the retention team's question is whether customers
come back, not only whether they clicked. Revenue is the catalog price times the quantity.
``report`` turns the counts into rates and means with 95% intervals, each arm against the first.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import redis

from recsvc.contract import keys
from recsvc.read import significance
from recsvc.read.experiments import Experiment


@dataclass(frozen=True)
class Purchase:
    """A posted purchase: who bought, for how much, and the arm of the rec_id it carried (if any)."""

    user_id: str
    revenue: float
    attributed_arm: str | None = None


class ArmCounts:
    """Counts per arm, kept under each experiment's hash tag."""

    def __init__(self, r: redis.Redis):
        self._redis = r

    def answered(self, exposures: Sequence[tuple[str, str, str]]) -> None:
        """Count answers given as (experiment, arm, user or ``visitor:<id>``), in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for experiment, arm, subject in exposures:
            pipe.sadd(keys.experiment_users(experiment, arm), subject)
            pipe.hincrby(keys.experiment_counts(experiment, arm), "answers", 1)
        pipe.execute()

    def reported(self, experiment: str, arm: str, kind: str, n: int = 1) -> None:
        """Count browser reports (``impression``, ``click``) on an arm's answers."""
        self._redis.hincrby(keys.experiment_counts(experiment, arm), f"{kind}s", n)

    def purchased(self, experiment: Experiment, purchases: Sequence[Purchase]) -> None:
        """Count purchases: by the arm of their rec_id, and by the buyer's own arm when it answered them before."""
        if not purchases:
            return
        name = experiment.name
        arms = [experiment.arm_for(p.user_id).name for p in purchases]
        pipe = self._redis.pipeline(transaction=False)
        for purchase, arm in zip(purchases, arms):
            pipe.sismember(keys.experiment_users(name, arm), purchase.user_id)
        exposed = pipe.execute()
        for purchase, arm, seen in zip(purchases, arms, exposed):
            if purchase.attributed_arm is not None:
                self._count(pipe, name, purchase.attributed_arm, purchase, "attributed")
            if seen:
                self._count(pipe, name, arm, purchase, "all")
        pipe.execute()

    @staticmethod
    def _count(pipe, name: str, arm: str, purchase: Purchase, kind: str) -> None:
        prefix = "" if kind == "attributed" else "all_"
        pipe.hincrby(keys.experiment_counts(name, arm), f"{prefix}purchases", 1)
        pipe.hincrbyfloat(keys.experiment_counts(name, arm), f"{prefix}revenue", purchase.revenue)
        pipe.hincrbyfloat(keys.experiment_buyers(name, arm, kind), purchase.user_id, purchase.revenue)

    def report(self, experiment: Experiment) -> dict:
        """Each arm's figures with 95% intervals, and each arm against the first (the control)."""
        state = experiment.state()
        if experiment.final is not None:  # stopped: the figures as they were then
            return {**experiment.final, **state}
        pipe = self._redis.pipeline(transaction=False)
        for arm in experiment.arms:
            pipe.scard(keys.experiment_users(experiment.name, arm.name))
            pipe.hgetall(keys.experiment_counts(experiment.name, arm.name))
            pipe.hvals(keys.experiment_buyers(experiment.name, arm.name, "attributed"))
            pipe.hvals(keys.experiment_buyers(experiment.name, arm.name, "all"))
        replies = pipe.execute()
        raw = [replies[n : n + 4] for n in range(0, len(replies), 4)]
        figures = [_figures(users, counts, attributed, every) for users, counts, attributed, every in raw]
        arms = [
            {"name": arm.name, "version": arm.version, "rules": arm.rules, "share": round(arm.share, 4), **f.public()}
            for arm, f in zip(experiment.arms, figures)
        ]
        control = figures[0]
        comparisons = [
            {"arm": arm.name, "against": experiment.arms[0].name, **f.against(control)}
            for arm, f in zip(experiment.arms[1:], figures[1:])
        ]
        return {**state, "arms": arms, "comparisons": comparisons}

    def forget(self, experiment: Experiment) -> None:
        """Drop the per-user sets of a stopped experiment (its report is kept with it)."""
        names = []
        for arm in experiment.arms:
            names += [
                keys.experiment_users(experiment.name, arm.name),
                keys.experiment_buyers(experiment.name, arm.name, "attributed"),
                keys.experiment_buyers(experiment.name, arm.name, "all"),
            ]
        self._redis.delete(*names)  # one hash tag: one slot, so one command on a cluster too


@dataclass(frozen=True)
class _ArmFigures:
    users: int
    answers: int
    impressions: int
    clicks: int
    purchases: int
    revenue: float
    all_purchases: int
    all_revenue: float
    buyers: int
    all_buyers: int
    squares: float  # the sum of squared revenue per user, attributed
    all_squares: float

    def public(self) -> dict:
        shown = self.impressions or self.answers  # without the widget's reports, CTR is over answers
        rpu, _ = significance.mean(self.revenue, self.squares, self.users)
        all_rpu, _ = significance.mean(self.all_revenue, self.all_squares, self.users)
        return {
            "users": self.users,
            "answers": self.answers,
            "impressions": self.impressions,
            "clicks": self.clicks,
            "ctr": significance.rate(self.clicks, shown).as_dict(),
            "ctr_basis": "impressions" if self.impressions else "answers",
            "purchases": self.purchases,
            "revenue": round(self.revenue, 2),
            "conversion": significance.rate(self.buyers, self.users).as_dict(),
            "revenue_per_user": rpu.as_dict(),
            "all_purchases": self.all_purchases,
            "all_revenue": round(self.all_revenue, 2),
            "all_conversion": significance.rate(self.all_buyers, self.users).as_dict(),
            "all_revenue_per_user": all_rpu.as_dict(),
        }

    def against(self, control: "_ArmFigures") -> dict:
        """Differences from the control arm, each with its test."""
        shown, control_shown = self.impressions or self.answers, control.impressions or control.answers

        def means(total: float, squares: float, other_total: float, other_squares: float) -> dict:
            mine, v2 = significance.mean(total, squares, self.users)
            theirs, v1 = significance.mean(other_total, other_squares, control.users)
            if mine.value is None or theirs.value is None:
                return significance.welch(0, 0, 0, 0, 0, 0).as_dict()
            return significance.welch(theirs.value, v1, control.users, mine.value, v2, self.users).as_dict()

        rates = significance.two_proportions
        return {
            "ctr": rates(control.clicks, control_shown, self.clicks, shown).as_dict(),
            "conversion": rates(control.buyers, control.users, self.buyers, self.users).as_dict(),
            "revenue_per_user": means(self.revenue, self.squares, control.revenue, control.squares),
            "all_conversion": rates(control.all_buyers, control.users, self.all_buyers, self.users).as_dict(),
            "all_revenue_per_user": means(self.all_revenue, self.all_squares, control.all_revenue, control.all_squares),
        }


def _figures(users: int, counts: dict, attributed: list, every: list) -> _ArmFigures:
    def count(name: str) -> float:
        return float(counts.get(name.encode(), 0))

    spent = [float(v) for v in attributed]
    all_spent = [float(v) for v in every]
    return _ArmFigures(
        users=int(users),
        answers=int(count("answers")),
        impressions=int(count("impressions")),
        clicks=int(count("clicks")),
        purchases=int(count("purchases")),
        revenue=count("revenue"),
        all_purchases=int(count("all_purchases")),
        all_revenue=count("all_revenue"),
        buyers=len(spent),
        all_buyers=len(all_spent),
        squares=sum(v * v for v in spent),
        all_squares=sum(v * v for v in all_spent),
    )
