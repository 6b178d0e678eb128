"""The ruled lists of a batch, judged together (``Answers.batch``).

Under the shop's rules a list ranks a pool of candidates (``recsvc.read.listing``): it judges each one, grows the
pool a list's length at a time while a later candidate could still make the cut, reorders the pool and cuts it.
One list at a time, that costs a batch of 1,000 users more than the lists the rules change. Here the users of a
batch are judged as one, from their stored picks or, for users without picks, the lists of their history
(``recsvc.read.history_rows``): every candidate's verdict, the users' pools, their growth and their cuts are
arrays; only the lists' items are made one user at a time, and the pins are column operations over all the lists
(``recsvc.read.batch_pins``). The answers are ``Listing``'s to the byte, the names of the rules included
(``tests/test_batch_pools.py`` holds the two equal over random rules, users and limits).

After a user's candidates come the shop's popular items, as ``Listing.fill_popular`` adds them: first as many as
the pool most likely takes, then, for the lists that read them all, up to twice the pool and a list more. A user
whose list needs more goes through ``Listing``: ``judged_lists`` gives None for a user whose candidates and those
popular items do not fill the pool; ``Answers.batch`` sends there the users with events since training or new
items to place, and every user of a request with a category or exclude filter.
"""

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from recsvc.contract.records import ItemRecord, UserRecord
from recsvc.read import shown_scores
from recsvc.read.batch_pins import PinnedRows, place_pins
from recsvc.read.flat_rows import (
    FlatRows,
    heads,
    held,
    joined,
    known_or_repeated,
    occurrence,
    running,
    seen_before,
    within,
)
from recsvc.read.history_rows import Candidates, from_histories, stored
from recsvc.read.listing import POPULAR, PROMOTED, Pin, showable_pins, shown_entry
from recsvc.read.pool_rows import DONE, SHORT, PoolRows
from recsvc.read.rules import ListRules, Verdict
from recsvc.store.cache import ShownItem
from recsvc.store.model import ModelStore

Reasons = Callable[[UserRecord, Sequence[int]], Callable[[int, int], dict]]
"""``reasons(record, causes)``: the reason of a pick of the user (its item, its cause), for picks of these causes."""
UNFIT = Candidates(b"", b"", b"", complete=False)
"""A user the batch leaves to ``Listing``: no candidates of its own, and not all of them."""
POPULAR_CAUSE = -1
"""The cause of a popular item that follows a user's picks (reason ``popular``)."""


def judged_lists(
    store: ModelStore,
    version: str,
    rules: ListRules,
    limit: int,
    records: Sequence[UserRecord],
    viewed_cap: int | None,
    reasons: Reasons,
    item_records: Mapping[int, ItemRecord] | None = None,
) -> list[dict | None]:
    """Each user's ``{"source", "items", "rules"}`` from their stored picks (users without: from the lists of their
    history, ``item_records``) under ``rules`` (None: a user whose list needs more candidates); ``viewed_cap``: the
    viewed items a list may offer again (None: all)."""
    want = rules.pool_size(limit)
    most = 2 * want + limit  # candidates read at most, and popular items after them
    light = [record for record in records if not record.picks]
    made = iter(from_histories(light, item_records or {}, most) if light else ())
    candidates = [stored(record) if record.picks else next(made) or UNFIT for record in records]
    own = np.fromiter((len(c.items) for c in candidates), np.int64, len(records))
    # the popular items a pool most likely takes: where the boosts can lift an item from the pool's end into the
    # list (the pool fills, however many items the diversity rule turns away), as many as the pool holds and a list
    # more; else those the user's own leave of the pool and a list more
    if rules.lift * (limit + 1) >= want:
        popular = np.full(len(records), min(most, want + limit))
    else:
        popular = np.minimum(most, np.maximum(want - own, 0) + limit)
    out = _judged(store, version, rules, limit, records, candidates, viewed_cap, reasons, popular)
    again = [n for n, answer in enumerate(out) if answer is None and popular[n] < most]
    if again:  # lists that read all the popular items they had: read on, up to ``most``
        more = [candidates[n] for n in again]
        up_to = np.full(len(again), most)
        redone = _judged(store, version, rules, limit, [records[n] for n in again], more, viewed_cap, reasons, up_to)
        for n, answer in zip(again, redone):
            out[n] = answer
    return out


def _judged(
    store: ModelStore,
    version: str,
    rules: ListRules,
    limit: int,
    records: Sequence[UserRecord],
    candidates: Sequence[Candidates],
    viewed_cap: int | None,
    reasons: Reasons,
    popular: np.ndarray,
) -> list[dict | None]:
    """``judged_lists`` for users of these ``candidates``, each followed by the first ``popular[user]`` popular
    items (None: a user whose list needs more)."""
    picks = _Picks(store, version, rules, records, candidates, viewed_cap, popular)
    picks.admit(rules)
    pools = PoolRows(picks, rules, limit)
    state, consumed = pools.grow()
    state[picks.partial & (consumed >= picks.own_picks)] = SHORT  # it read all it had: it might read more
    done = np.flatnonzero(state == DONE)
    sizes = pools.size(done, consumed[done])
    if rules.reorders:
        order, kept = pools.cut(done, sizes)
        nth, place = np.nonzero(kept)
        ranks = order[nth, place]
    else:
        nth, ranks = np.nonzero(np.arange(pools.want) < np.minimum(sizes, limit)[:, None])
    fired = picks.fired(consumed, rules)
    pins = showable_pins(store, version, rules, limit) if rules.pins else []
    lengths = np.bincount(nth, minlength=len(done))
    lists, placed = picks.entries(done, pools.at[done[nth], ranks], lengths, rules, reasons, pins, limit)
    for k, (rule, _, _) in enumerate(pins):
        fired.marks[done[placed[:, k]], fired.code[rule.name]] = True
    out: list[dict | None] = [None] * len(records)
    for row, items, named in zip(done.tolist(), lists, fired.named(done)):
        out[row] = {"source": "personalized", "items": items, **({"rules": named} if named else {})}
    return out


class _Fired:
    """Which rules changed each user's list: a mark per user and rule name."""

    def __init__(self, users: int, names: Sequence[str], rules: ListRules):
        self.names = sorted({*names, *([rules.diversity.name] if rules.diversity is not None else [])})
        self.code = {name: n for n, name in enumerate(self.names)}
        self.marks = np.zeros((users, len(self.names)), bool)

    def named(self, rows: np.ndarray) -> list[list[str]]:
        """The names for users ``rows``, in order."""
        marks = self.marks[rows]
        names = np.array(self.names, dtype=object)[np.nonzero(marks)[1]].tolist()
        ends = np.cumsum(marks.sum(axis=1)).tolist()
        return [names[start:end] for start, end in zip([0, *ends], ends)]


class _Picks:
    """Each user's picks and then the popular items, as flat arrays user after user: those a list reads (not bought,
    not read before, not hidden, not a viewed item over the cap) and what the rules say of them."""

    def __init__(
        self,
        store: ModelStore,
        version: str,
        rules: ListRules,
        records: Sequence[UserRecord],
        candidates: Sequence[Candidates],
        viewed_cap: int | None,
        popular: np.ndarray,
    ):
        self.records = records
        top, top_scores = (np.asarray(part[: int(popular.max(initial=0))]) for part in store.popular(version))
        picks = np.fromiter((len(c.items) for c in candidates), np.int64, len(records))
        self.partial = np.fromiter((not c.complete for c in candidates), bool, len(records))
        counts = picks + np.minimum(popular, len(top))
        rows = np.repeat(np.arange(len(records)), counts)
        head = heads(counts)[rows]
        place = np.arange(len(rows)) - head
        from_picks = place < picks[rows]  # each row: the user's picks, then the popular items
        after = ~from_picks
        nth = place[after] - picks[rows[after]]  # a popular item's place in ``top``
        items, causes = np.empty(len(rows), np.int64), np.full(len(rows), POPULAR_CAUSE)
        scores = np.empty(len(rows), np.float32)
        items[from_picks] = joined(c.items for c in candidates)
        causes[from_picks] = joined(c.causes for c in candidates)
        scores[from_picks] = joined((c.scores for c in candidates), np.float32)
        items[after], scores[after] = top[nth], top_scores[nth]
        viewed = causes == items  # offered again: a list takes at most ``viewed_cap`` (``UserCandidates.capped``)
        capped = viewed & (running(viewed, head) > viewed_cap) if viewed_cap is not None else np.zeros_like(viewed)
        lengths = [len(r.bought) for r in records]
        self.owned = owned = FlatRows(
            np.repeat(np.arange(len(records)), lengths),
            within(lengths),
            joined(r.bought for r in records),
        )
        picked = FlatRows(rows[from_picks], place[from_picks], items[from_picks])
        blocked = capped  # a list reads no pick the user bought nor one it read before, nor any hidden item
        blocked[from_picks] |= seen_before(len(records), owned, picked)
        blocked[after] = known_or_repeated(len(records), top, owned, picked)[rows[after], nth]
        unavailable = store.unavailable(version)
        if unavailable:
            hidden = np.zeros(int(items.max(initial=0)) + 1, bool)
            hidden[[i for i in unavailable if i < len(hidden)]] = True
            blocked |= hidden[items]
        self.at = np.flatnonzero(~blocked)  # the candidates a list reads, in order: index into the flat arrays
        self.rows = rows[self.at]
        self.counts = np.bincount(self.rows, minlength=len(records))
        self.head = heads(self.counts)[self.rows]
        self.place = np.arange(len(self.at)) - self.head  # each read candidate's place among its user's
        self.items, self.causes, self.scores = items[self.at], causes[self.at], scores[self.at]
        own = self.causes != POPULAR_CAUSE
        self.own_picks = np.bincount(self.rows, own, len(records)).astype(np.int64)  # read before the popular items
        self._judge(store, version, rules)

    def _judge(self, store: ModelStore, version: str, rules: ListRules) -> None:
        """Each read pick's item, category and verdict (judged once per item)."""
        distinct, which = np.unique(self.items, return_inverse=True)
        self.which = which
        self.shown: list[ShownItem | None] = store.shown(version, distinct.tolist())
        self.verdicts: list[Verdict | None] = []
        factors, dropped, categories = np.ones(len(distinct)), np.full(len(distinct), -1), np.zeros(len(distinct), int)
        self.dropped_names: list[str] = []
        codes: dict[str | None, int] = {}
        drop_codes: dict[str, int] = {}
        ancestors = lambda category: store.ancestors(version, category)  # noqa: E731
        for k, item in enumerate(self.shown):
            if item is None:
                self.verdicts.append(None)
                continue
            verdict = rules.verdict(item.facts, item.category_id, ancestors)
            self.verdicts.append(verdict)
            factors[k] = verdict.factor
            categories[k] = codes.setdefault(item.category_id, len(codes))
            if verdict.dropped_by is not None:
                dropped[k] = drop_codes.setdefault(verdict.dropped_by, len(drop_codes))
        self.dropped_names = list(drop_codes)
        self.category_count = max(1, len(codes))
        shows = np.array([item is not None for item in self.shown], bool)
        boosted = np.array([bool(v and v.boosted_by) for v in self.verdicts], bool)
        self.factor, self.category = factors[which], categories[which]
        self.drop, self.boosted = dropped[which], boosted[which]
        self.passes = shows[which] & (self.drop < 0)  # what the list's own filters and the shop's keep

    def fired(self, consumed: np.ndarray, rules: ListRules) -> "_Fired":
        """The rules that changed each user's list while it read its first ``consumed`` candidates: filters that
        dropped one, the diversity rule if it turned one away, and (a list that reorders) the boosts and buries of
        the pool (``Listing.fired``); the pins mark theirs as they are placed."""
        fired = _Fired(len(self.records), [*self.dropped_names, *(r.name for r in rules.boosts + rules.pins)], rules)
        read = self.place < consumed[self.rows]
        dropping = read & (self.drop >= 0)
        codes = np.array([fired.code[name] for name in self.dropped_names] or [0], np.int64)
        fired.marks[self.rows[dropping], codes[self.drop[dropping]]] = True
        if rules.diversity is not None:
            fired.marks[self.rows[read & self.turned_away], fired.code[rules.diversity.name]] = True
        if rules.reorders:
            pooled = np.flatnonzero(read & self.admitted & self.boosted)
            matched = [[fired.code[name] for name in (v.boosted_by if v else ())] for v in self.verdicts]
            lengths = np.array([len(m) for m in matched], np.int64)
            flat = np.array([c for m in matched for c in m] or [0], np.int64)
            counts = lengths[self.which[pooled]]
            starts = np.repeat((np.cumsum(lengths) - lengths)[self.which[pooled]], counts)
            offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            fired.marks[np.repeat(self.rows[pooled], counts), flat[starts + offsets]] = True
        return fired

    def admit(self, rules: ListRules) -> None:
        """Which read picks enter their user's pool: those the filters keep, and under the diversity rule those of
        a category with room (the first ``max_per_category`` kept of it) or boosted (``Listing._admits``)."""
        self.admitted = self.passes.copy()
        self.turned_away = np.zeros_like(self.passes)
        if rules.diversity is None:
            return
        kept = np.flatnonzero(self.passes)
        seen = occurrence(self.rows[kept] * self.category_count + self.category[kept])
        away = (seen >= rules.diversity.max_per_category) & ~(self.factor[kept] > 1)
        self.admitted[kept[away]] = False
        self.turned_away[kept[away]] = True

    def entries(
        self,
        rows: np.ndarray,
        at: np.ndarray,
        lengths: np.ndarray,
        rules: ListRules,
        reasons: Reasons,
        pins: Sequence[Pin],
        limit: int,
    ) -> tuple[list[list[dict]], np.ndarray]:
        """The lists of users ``rows`` (read candidates ``at``, ``lengths`` a list, in order) as answers show them,
        with their pins, and which pins went into each; in a list that reorders, a boosted item's score is boosted
        too (``Listing._reorder``)."""
        which, items, causes = self.which[at].tolist(), self.items[at].tolist(), self.causes[at].tolist()
        shown = self.shown
        if rules.reorders:  # the score as ``Listing._reorder`` shows it
            scores = shown_scores.boosted(self.scores[at], self.factor[at], self.boosted[at])
        else:
            scores = shown_scores.rounded(self.scores[at])
        starts = heads(lengths).tolist()
        if pins:
            pinned = self._pinned(rows, lengths, self.items[at], scores, pins, limit)
            tokens, lengths, placed = pinned.tokens.tolist(), pinned.lengths, pinned.placed
            scores_after = pinned.scores.tolist()
        else:
            tokens = [range(length) for length in lengths.tolist()]
            flat = scores.tolist()
            scores_after = [flat[start : start + length] for start, length in zip(starts, lengths.tolist())]
            placed = np.zeros((len(rows), 0), bool)
        lists = []
        for row, start, length, places, row_scores in zip(
            rows.tolist(), starts, lengths.tolist(), tokens, scores_after
        ):
            own = [start + p for p in places[:length] if p >= 0]
            reason = reasons(self.records[row], [causes[n] for n in own if causes[n] != POPULAR_CAUSE])
            listed = []
            for p, score in zip(places[:length], row_scores):
                if p < 0:
                    listed.append(shown_entry(pins[-1 - p][2], score, PROMOTED))
                    continue
                n = start + p
                own_reason = POPULAR if causes[n] == POPULAR_CAUSE else reason(items[n], causes[n])
                listed.append(shown_entry(shown[which[n]], score, own_reason))
            lists.append(listed)
        return lists, placed

    def _pinned(
        self,
        rows: np.ndarray,
        lengths: np.ndarray,
        items: np.ndarray,
        scores: np.ndarray,
        pins: Sequence[Pin],
        limit: int,
    ) -> PinnedRows:
        """The lists of users ``rows`` (their ``items`` and shown ``scores``, flat) with their pins: a pin shows in
        the lists of users who did not buy its item (``Listing._shows_pinned``)."""
        flat_rows, places = np.repeat(np.arange(len(rows)), lengths), within(lengths.tolist())
        grid_items = np.full((len(rows), limit), -1, np.int64)
        grid_scores = np.zeros((len(rows), limit))
        grid_items[flat_rows, places], grid_scores[flat_rows, places] = items, scores
        pinned = np.array([index for _, index, _ in pins], np.int64)
        shows = ~held(len(self.records), pinned, self.owned)[rows]
        positions = np.array([rule.position for rule, _, _ in pins], np.int64)
        return place_pins(grid_items, grid_scores, lengths, pinned, positions, shows, limit)
