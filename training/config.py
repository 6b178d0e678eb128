"""Every training parameter in one place, with the defaults."""

from dataclasses import asdict, dataclass, field

from recsvc.contract.content import BY_CATEGORY, BY_CONTENT, BY_SHOP, TAIL_SHRINK
from recsvc.contract.units import LIVE_SHARE_DEFAULT, PRICE_DROP_SHARE


def _default_weights() -> dict[str, float]:
    return {"view": 1.0, "wishlist": 2.0, "addtocart": 4.0, "purchase": 8.0}


NEW_ITEMS_ORDERS = ("chosen", BY_CONTENT, BY_CATEGORY, BY_SHOP)
"""The values of ``new_items_order``."""


@dataclass(frozen=True)
class TrainConfig:
    """How events become a model and what is precomputed from it."""

    # data weighting: an interaction's strength is its event weight, halved every half-life
    event_weights: dict[str, float] = field(default_factory=_default_weights)
    half_life_days: float = 60.0
    popular_half_life_days: float = 14.0

    # implicit ALS
    factors: int = 64
    regularization: float = 0.05
    alpha: float = 2.0
    iterations: int = 10  # NDCG@10 the same as 15 on the taobao and retailrocket samples, a third less fit time
    random_state: int = 42

    # users with fewer distinct items are not fitted; users with fewer than picks_min_items get no
    # precomputed picks: the service merges their items' similar and also-bought lists instead
    min_user_items: int = 2
    picks_min_items: int = 3
    # the ALS lists score the most active items only; cost grows with users x pool x factors
    candidate_pool: int = 15_000

    # the order of the personalized picks (training/lists/ranker.py): "learned" (a LightGBM lambdarank model
    # fitted on the newest ranker_label_days of each run; the blend where it cannot), "blend" or "als"
    picks_ranker: str = "learned"
    ranker_label_days: float = 14.0  # at most; and at most ranker_label_share of the history's span
    ranker_label_share: float = 0.2
    ranker_min_users: int = 50  # users who bought or carted a candidate in the label window
    ranker_max_users: int = 20_000  # labelled users the model learns from (a sample beyond this)
    ranker_fit_users: int = 50_000  # users the label window's ALS is fitted on (the labelled ones first)
    ranker_rounds: int = 60
    ranker_folds: int = 5  # cross-validated choice of learned order against the blend ...
    ranker_fold_below: int = 2_000  # ... when fewer labelled users than this (else one fifth held out)
    ranker_candidates: int = 20  # per generator and user (ALS, item-kNN, EASE); 30 measured no better, slower
    ranker_popular: int = 10  # popular items every user's candidates include
    ease_items: int = 2_000  # EASE candidates over this many of the most active items (its cost is cubic)
    # "because you bought/viewed X" only when X and the pick are this similar (cosine of their users)
    reason_min_similarity: float = 0.05

    # the fixed blend (the fallback order and a ranker feature); each part is scaled to 0..1
    blend_als: float = 1.0
    blend_knn: float = 1.0  # item-kNN (BM25) of the user's history
    blend_history: float = 3.0  # re-offer what the user viewed and did not buy (3: above the other parts)
    blend_popularity: float = 1.0  # a prior toward recently popular items
    knn_neighbours: int = 20

    # the share of a known user's picks and category offers their events since training take at the next request
    # (recsvc/read/live_picks.py): fixed from a measured sweep on the next-day task (docs/realtime.md)
    live_share: float = LIVE_SHARE_DEFAULT

    # what is kept per user and per item
    picks_per_user: int = 50
    neighbours_per_item: int = 30
    popular_items: int = 100
    offers_per_user: int = 5
    recent_per_user: int = 20
    bought_per_user: int = 200

    # also-bought: score of an item in the subject's category where its items are bought instead of each other
    # (a near-copy: training/lists/near_copies.py)
    same_category_factor: float = 0.5
    # also-bought counts what buyers bought within this many days after the item ...
    complement_days: float = 30.0
    complement_reach: int = 20  # ... among their next purchases
    complement_before_weight: float = 0.25  # bought before the item counts this much
    also_bought_next_weight: float = 0.3  # ... beside the item-kNN (BM25) neighbours of all events, scaled alike
    # the weights above are the fixed order; validated: the shop's newest window chooses among several
    # (training/lists/also_bought_order.py, ORDERS_TRIED), the fixed one where too few bought on both sides of it
    also_bought_validated: bool = True
    # ... and a learned order (training/lists/also_ranker.py) where it beats that choice beyond noise on the window
    also_bought_learned: bool = True
    # the also-bought use task (training/lists/use_tasks.py): what X's buyers buy new within this many days after
    # X, over the items with this many such buyers; the window chooses an order where it has this many items
    also_bought_horizon_days: float = 30.0
    also_bought_task_min_buyers: int = 5
    also_bought_min_subjects: int = 20
    # an entry is shown as bought together only with this many co-buyers and a rate above the item's base rate
    also_bought_min_co_buyers: int = 2
    # the strongest associations, which a learned or chosen order must keep in the top 10 as the fixed one does:
    # pairs of this many co-buyers that this share (at least) of the item's buyers bought next
    also_bought_strong_co_buyers: int = 5
    also_bought_strong_rate: float = 0.2
    # similar: neighbours in the item's own category (substitutes) score this much more
    substitute_boost: float = 2.0
    # ... and items with few events borrow from their content neighbours (catalog text): with n events, content
    # weighs shrink / (shrink + n) of the list (recsvc/contract/content.py; 0: collaborative neighbours alone)
    content_shrink: float = TAIL_SHRINK
    # the order of a new item's list (recsvc catalog update): "chosen" on the newest window
    # (training/lists/content_order.py), or set: "content" (content neighbours), "category_best_sellers" or
    # "best_sellers" (the shop's)
    new_items_order: str = "chosen"

    # retention: repurchase intervals, segments and trigger lists
    min_item_repeats: int = 3  # repeat purchases an item needs for its own interval, else its category's
    min_category_repeat_rate: float = 0.05  # share of a category's buyers who buy again to lend an interval
    buy_again_per_user: int = 50
    at_risk_factor: float = 1.5  # at risk: no order for this many times the user's usual interval
    lost_factor: float = 4.0  # lost: no order for this many usual intervals ...
    lost_days: float = 180.0  # ... or for this many days
    vip_share: float = 0.1  # the top spending share of buyers with two or more orders
    profile_categories: int = 3
    cart_days: float = 14.0  # carts older than this are no longer a trigger
    cart_items: int = 10
    interest_days: float = 14.0  # category interest: views on separate days within this window
    interest_min_views: int = 2
    interest_categories: int = 3
    # best time to contact: the shop's time zone (IANA name) for hours, weekdays and calendar months
    timezone: str = "UTC"
    contact_min_events: int = 5  # users with fewer events get the shop's peak hour and weekday
    # back-in-stock and price-drop: items a user wished for, carted, or viewed on separate days lately
    watch_days: float = 30.0
    watch_min_view_days: int = 2
    watched_per_user: int = 20
    price_drop_share: float = PRICE_DROP_SHARE  # a price drop counts when the price falls by at least this share

    versions_kept: int = 3

    def __post_init__(self) -> None:
        from training.analytics_time import zone

        zone(self.timezone)  # an unknown time zone fails before any work, with its name
        if self.new_items_order not in NEW_ITEMS_ORDERS:
            raise ValueError(f"new_items_order must be one of {', '.join(NEW_ITEMS_ORDERS)}")
        if not 0 <= self.live_share <= 1:
            raise ValueError(f"live_share must be from 0 to 1, not {self.live_share}")

    def to_dict(self) -> dict:
        return asdict(self)
