"""Retention data -> Redis values: buy-again records, profiles and trigger scores, for ``training.publish``."""

from collections.abc import Iterator

import numpy as np

from recsvc.contract import keys
from recsvc.contract.records import Profile, encode_buy_again, encode_profile
from training.lists.retention import BuyAgain, Profiles
from training.orders import AT_RISK, SEGMENTS


def buy_again_records(version: str, user_ids: np.ndarray, buy: BuyAgain) -> Iterator[tuple[str, bytes]]:
    """(key, record) for every user with a repeatable purchase."""
    indptr = buy.items.indptr.tolist()
    last = buy.items.scores.astype(np.uint32)
    for u in np.flatnonzero(buy.items.lengths()).tolist():
        lo, hi = indptr[u], indptr[u + 1]
        yield (
            keys.buy_again(version, user_ids[u]),
            encode_buy_again(buy.items.values[lo:hi], last[lo:hi], buy.counts[lo:hi], buy.interval_days[lo:hi]),
        )


def profile_records(
    version: str, user_ids: np.ndarray, p: Profiles, category_ids: list[str]
) -> Iterator[tuple[str, bytes]]:
    """(key, encoded ``Profile``) for every user with a purchase, an open cart, a category interest or watched items."""
    cart_n, interest_n, watched_n = p.cart.lengths(), p.interest.lengths(), p.watched.items.lengths()
    contact, watched_at = p.contact, p.watched.items.indptr
    for u in np.flatnonzero((p.orders > 0) | (cart_n > 0) | (interest_n > 0) | (watched_n > 0)).tolist():
        cats, _ = p.top_categories.row(u)
        cart, cart_t = p.cart.row(u)
        interest, interest_t = p.interest.row(u)
        ordered = bool(p.orders[u])
        profile = Profile(
            segment=SEGMENTS[p.segment[u]],
            at_risk=bool(p.at_risk[u]),
            orders=int(p.orders[u]),
            spend=round(float(p.spend[u]), 2),
            spend_unit=p.spend_unit,
            top_categories=tuple(category_ids[c] for c in cats.tolist()),
            first_order=int(p.first_order[u]) if ordered else None,
            last_order=int(p.last_order[u]) if ordered else None,
            usual_interval_days=(
                round(float(p.usual_interval_days[u]), 1) if np.isfinite(p.usual_interval_days[u]) else None
            ),
            at_risk_since=int(p.at_risk_since[u]) if p.at_risk[u] else None,
            cart=tuple(cart.tolist()),
            cart_at=int(cart_t.max()) if len(cart) else None,
            interest=tuple(category_ids[c] for c in interest.tolist()),
            interest_at=int(interest_t.max()) if len(interest) else None,
            contact_hour=int(contact.hour[u]),
            contact_weekday=int(contact.weekday[u]),
            contact_own=bool(contact.own[u]),
            watched=tuple(p.watched.items.values[watched_at[u] : watched_at[u + 1]].tolist()),
            watched_reasons=tuple(p.watched.reasons[watched_at[u] : watched_at[u + 1]].tolist()),
        )
        yield keys.profile(version, user_ids[u]), encode_profile(profile)


def watcher_records(version: str, user_ids: np.ndarray, item_ids: np.ndarray, p: Profiles) -> Iterator[tuple[str, str]]:
    """(``keys.watchers`` key, user ids joined by newlines) for every watched item."""
    w = p.watched.items
    users = np.repeat(np.arange(w.rows), w.lengths())
    order = np.argsort(w.values, kind="stable")
    items, users = w.values[order], users[order]
    starts = np.flatnonzero(np.r_[True, items[1:] != items[:-1]]) if len(items) else np.zeros(0, np.int64)
    for lo, hi in zip(starts.tolist(), np.r_[starts[1:], len(items)].tolist()):
        yield keys.watchers(version, item_ids[items[lo]]), "\n".join(user_ids[users[lo:hi]].tolist())


def trigger_scores(buy: BuyAgain, p: Profiles) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per trigger kind: (user codes, unix-time scores) as ``keys.trigger`` describes."""
    due = buy.due_time()
    rows = np.repeat(np.arange(buy.items.rows), buy.items.lengths())
    first_due = np.full(buy.items.rows, np.inf)
    np.minimum.at(first_due, rows, due)
    has_due = np.isfinite(first_due)
    win_back = (p.segment == AT_RISK) & p.at_risk

    def latest(r):
        users = np.flatnonzero(r.lengths())
        return users, np.maximum.reduceat(r.scores, r.indptr[users]) if len(users) else np.zeros(0)

    return {
        "replenishment": (np.flatnonzero(has_due), first_due[has_due]),
        "win-back": (np.flatnonzero(win_back), p.at_risk_since[win_back]),
        "abandoned-cart": latest(p.cart),
        "category-interest": latest(p.interest),
    }
