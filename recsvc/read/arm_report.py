"""An A/B test's report: each arm's rates and means with 95% intervals, each arm against the first (the control).

The counts are the store's (``recsvc.store.counters``): the retention team's question is whether customers come
back, not only whether they clicked, so every purchase of an arm's users after it answered them is reported beside
the purchases attributed to its answers. Revenue is the catalog price times the quantity.
"""

from dataclasses import dataclass

from recsvc.read import significance
from recsvc.read.experiments import Experiment
from recsvc.store.counters import ArmCounts, ArmTally


def report(counts: ArmCounts, experiment: Experiment) -> dict:
    """Each arm's figures with 95% intervals, and each arm against the first (the control)."""
    state = experiment.state()
    if experiment.final is not None:  # stopped: the figures as they were then
        return {**experiment.final, **state}
    tallies = counts.tallies(experiment.name, [arm.name for arm in experiment.arms])
    figures = [_figures(tally) for tally in tallies]
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


def _figures(tally: ArmTally) -> _ArmFigures:
    def count(name: str) -> float:
        return float(tally.counts.get(name.encode(), 0))

    spent = [float(v) for v in tally.attributed]
    all_spent = [float(v) for v in tally.every]
    return _ArmFigures(
        users=tally.users,
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
