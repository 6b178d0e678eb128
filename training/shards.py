"""The state of a fitted model that sharded scoring reads: saved once by the coordinator, loaded by each shard.

``recsvc train --shards N --state DIR`` fits the model, stages everything but the user records
(``publish.stage``) and saves into DIR what scoring a shard's users needs and what a shard could not
compute from its own users alone, so a shard reads neither the input files nor the other users:

- ``state.json``: the run: its staged version and lock token, N, the parameters, the data's
  fingerprint, the summary and manifest part so far;
- ``model.npz``: what every shard shares: item factors, candidate pool, item-kNN neighbours, the
  similarities behind the reasons, EASE's weights, popularity, trend, prices and catalog codes;
- ``booster.txt``: the LightGBM model that orders the picks (``model_to_string``), when one was learned;
- ``shard-K.npz``: shard K's users (``shard_of``): their ids, their rows of the interaction matrices
  and of the event facts, and the ALS factors of those fitted.

Numpy arrays (no pickles), JSON and LightGBM's text format only. Everything a shard computes from
this is what a single process computes for the same users (``tests/test_shards.py`` holds it to that).
"""

import json
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recsvc.contract.summary import VersionSummary
from training import pipeline
from training.catalogue import CodedCatalog
from training.config import TrainConfig
from training.inputs.dataset import Dataset
from training.inputs.readers import USER_IDS, Events
from training.interactions import Interactions
from training.lists import pick_features, ranker
from training.model import Factors
from training.ragged import Ragged

FORMAT = 1
"""The layout of a state folder; a shard refuses a folder of another layout."""


class StateError(Exception):
    """The state folder cannot be used as asked: missing, of another run or layout, or the shards are not all done."""


@dataclass
class Run:
    """A sharded run, as ``state.json`` holds it."""

    version: str  # the staged version
    token: str  # the publish lock's token
    shards: int
    config: dict
    order: str  # "learned" (``booster.txt``) or the fixed order that ranks the picks
    fingerprint: dict  # of the data it was fitted on (``fingerprint``)
    summary: VersionSummary  # the version's summary so far
    part: dict  # what the coordinator wrote (``VersionWriter.part``)
    memory_before: int  # Redis's used memory before the run wrote
    started_at: float  # unix time the coordinator started
    chunk: int  # users scored at a time (``pipeline.PICKS_CHUNK``): the unit users are dealt to shards in
    last_streamed: str | None = None  # the newest stream entry the run learned from (trimmed by the finish)
    format: int = FORMAT

    def train_config(self) -> TrainConfig:
        return TrainConfig(**self.config)


@dataclass
class Shard:
    """One shard's users over their own codes (0..n-1), ready to score."""

    number: int
    user_ids: np.ndarray  # str per local code
    scorer: pipeline.Scorer


def shard_of(inter: Interactions, config: TrainConfig, shards: int, chunk: int) -> np.ndarray:
    """The shard of each user code.

    The users with picks are dealt in the chunks a single process scores them in (``chunk`` of them in code
    order, ``pipeline.Scorer``), the chunks in turn to the shards: a shard's own chunks are then exactly the
    single process's, so it computes the same picks to the last bit. The others (their record is their history
    and offers) are dealt one by one."""
    owner = np.arange(inter.strength.shape[0]) % shards
    active = pipeline.active_users(inter, config)
    owner[active] = (np.arange(len(active)) // chunk) % shards
    return owner


def fingerprint(data: Dataset) -> dict:
    """What identifies the data a model was fitted on: its counts, newest event and a checksum of its codes."""
    events, crc = data.events, 0
    for column in (events.timestamp, events.user, events.item, events.event, data.catalogue.category):
        crc = zlib.crc32(np.ascontiguousarray(column).tobytes(), crc)
    return {
        "events": len(events),
        "users": len(events.user_ids),
        "items": len(data.item_ids),
        "newest_event": int(events.timestamp.max()) if len(events) else None,
        "crc32": f"{crc:08x}",
    }


def save_arrays(folder: Path, run: Run, fitted: pipeline.Fitted, scorer: pipeline.Scorer) -> None:
    """Write everything the run's shards need into ``folder`` (created; an earlier run's files removed) but the run
    itself, which ``save_run`` writes last: a folder without ``state.json`` is not a state."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in ("state.json", "booster.txt", *(p.name for p in folder.glob("shard-*.npz"))):
        (folder / old).unlink(missing_ok=True)
    gens, facts, data = scorer.gens, scorer.facts, fitted.dataset
    catalogue = data.catalogue
    model = {
        "version": np.array(run.version),
        "item_factors": fitted.factors.item_factors,
        "pool": fitted.pool,
        "popularity": fitted.inter.popularity,
        "now": np.array(fitted.inter.now),
        "trend": facts.trend,
        "prices": data.prices,
        "category": catalogue.category,
        "available": catalogue.available,
        "category_parent": catalogue.category_parent,
        "ease_items": gens.ease_items,
        "ease_weights": gens.ease_weights,
        **_sparse("neighbours", fitted.neighbours),
        **_sparse("strong", scorer.strong.tocsr()),
    }
    _save(folder / "model.npz", [model])
    if not isinstance(scorer.order, str):
        (folder / "booster.txt").write_text(scorer.order.model_to_string())  # type: ignore[attr-defined]
    owner = shard_of(fitted.inter, fitted.config, run.shards, run.chunk)
    n_items = fitted.inter.strength.shape[1]
    pairs = _by_shard(facts.pair_keys, n_items, owner, run.shards)
    carts = _by_shard(facts.cart_keys, n_items, owner, run.shards)
    for k in range(run.shards):
        _save(folder / f"shard-{k}.npz", _shard_arrays(run.version, fitted, facts, owner, k, pairs[k], carts[k]))


def _shard_arrays(
    version: str,
    fitted: pipeline.Fitted,
    facts: pick_features.EventFacts,
    owner: np.ndarray,
    k: int,
    pairs: tuple[np.ndarray, np.ndarray],
    carts: tuple[np.ndarray, np.ndarray],
) -> Iterator[dict[str, np.ndarray]]:
    """Shard k's arrays, a few at a time (``_save`` writes each group before the next is made)."""
    inter, factors, n_items = fitted.inter, fitted.factors, fitted.inter.strength.shape[1]
    users = np.flatnonzero(owner == k)
    local = np.full(len(owner), -1, np.int64)
    local[users] = np.arange(len(users))
    (pair_rows, pair_keys), cart_keys = pairs, carts[1]
    yield {"version": np.array(version), "user_ids": _text(fitted.dataset.events.user_ids[users])}
    yield _sparse("strength", inter.strength[users])
    yield _sparse("purchases", inter.purchases[users])
    yield _ragged("recent", _rows(inter.recent, users))
    yield _ragged("bought", _rows(inter.bought, users))
    yield {"pair_keys": _local_keys(pair_keys, local, n_items), "pair_last": facts.pair_last[pair_rows]}
    yield {"cart_keys": _local_keys(cart_keys, local, n_items), "idle_days": facts.idle_days[users]}
    in_shard = np.flatnonzero(owner[factors.users] == k)
    yield {"fitted": local[factors.users[in_shard]], "user_factors": factors.user_factors[in_shard]}


def save_run(folder: Path, run: Run) -> None:
    """Write ``state.json``: the run, once its arrays are saved."""
    (folder / "state.json").write_text(json.dumps({**asdict(run), "summary": run.summary.to_json()}))


def load_run(folder: Path) -> Run:
    """The run a state folder belongs to; StateError when there is none or it is of another layout."""
    try:
        raw = json.loads((folder / "state.json").read_text())
    except FileNotFoundError:
        raise StateError(f"no sharded run in {folder} (no state.json): run recsvc train --shards N first") from None
    except (OSError, ValueError) as e:
        raise StateError(f"cannot read {folder / 'state.json'}: {e}") from None
    if raw.get("format") != FORMAT:
        raise StateError(f"{folder} holds a state of layout {raw.get('format')}, this trainer reads {FORMAT}")
    return Run(**{**raw, "summary": VersionSummary.from_json(raw.get("summary"))})


def load_shard(folder: Path, run: Run, number: int) -> Shard:
    """Shard ``number``'s users and the shared model, ready to score; StateError when a file is missing or of
    another run."""
    model, arrays = _load(folder / "model.npz", run), _load(folder / f"shard-{number}.npz", run)
    config = run.train_config()
    n_items = len(model["item_factors"])
    user_ids = _untext(arrays["user_ids"])
    n_users = len(user_ids)
    inter = Interactions(
        strength=_unsparse(arrays, "strength", (n_users, n_items)),
        purchases=_unsparse(arrays, "purchases", (n_users, n_items)),
        recent=_unragged(arrays, "recent"),
        bought=_unragged(arrays, "bought"),
        popularity=model["popularity"],
        now=int(model["now"]),
    )
    factors = Factors(users=arrays["fitted"], user_factors=arrays["user_factors"], item_factors=model["item_factors"])
    catalogue = CodedCatalog(model["category"], model["available"], model["category_parent"])
    neighbours = _unsparse(model, "neighbours", (n_items, n_items))
    # EASE is fitted on every user's history, which a shard does not hold: its weights come from the state
    gens = ranker.generators_for(
        inter, factors, model["pool"], catalogue, replace(config, ease_items=0), neighbours=neighbours
    )
    gens.ease_items, gens.ease_weights = model["ease_items"], model["ease_weights"]
    facts = pick_features.EventFacts(
        arrays["pair_keys"], arrays["pair_last"], arrays["cart_keys"], model["trend"], arrays["idle_days"]
    )
    strong = _unsparse(model, "strong", (n_items, n_items)).tocsc()
    data = _users_only(user_ids, catalogue, model["prices"])
    scorer = pipeline.Scorer(data, gens, facts, strong, _order(folder, run), config, chunk=run.chunk)
    return Shard(number, user_ids, scorer)


def _order(folder: Path, run: Run) -> object:
    """The learned booster of the run, else the name of the fixed order it chose."""
    if run.order != "learned":
        return run.order
    import lightgbm

    try:
        return lightgbm.Booster(model_str=(folder / "booster.txt").read_text())
    except FileNotFoundError:
        raise StateError(f"{folder / 'booster.txt'} is missing: the state folder is incomplete") from None


def _users_only(user_ids: np.ndarray, catalogue: CodedCatalog, prices: np.ndarray) -> Dataset:
    """A dataset of the shard's users: catalog codes and prices, no events (their history is in the matrices)."""
    none = np.zeros(0, np.int64)
    events = Events(none, none.astype(np.int32), none.astype(np.int32), none.astype(np.int8), none, user_ids, none)
    return Dataset(events, np.zeros(len(prices), object), [], catalogue, [], prices)


def _save(path: Path, groups: Iterable[dict[str, np.ndarray]]) -> None:
    """Write the arrays as ``np.savez`` does (uncompressed: a shard reads it at disk speed), a group at a time, so
    only one group is in memory beside what the caller holds."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for group in groups:
            for name, array in group.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)


def _load(path: Path, run: Run) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = dict(f)
    except FileNotFoundError:
        raise StateError(f"{path} is missing: the state folder is incomplete") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise StateError(f"cannot read {path}: {e}") from None
    if str(arrays.get("version")) != run.version:
        raise StateError(f"{path} belongs to version {arrays.get('version')}, not to this run's {run.version}")
    return arrays


def _by_shard(keys: np.ndarray, n_items: int, owner: np.ndarray, shards: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sorted pair keys (user * n_items + item) split by their user's shard: (positions, keys) per shard, in order."""
    shard = owner[keys // n_items]
    order = np.argsort(shard, kind="stable")
    bounds = np.searchsorted(shard[order], np.arange(shards + 1))
    return [(order[lo:hi], keys[order[lo:hi]]) for lo, hi in zip(bounds[:-1], bounds[1:])]


def _local_keys(keys: np.ndarray, local: np.ndarray, n_items: int) -> np.ndarray:
    """Pair keys over the shard's own user codes (still sorted: the codes keep their order)."""
    out = local[keys // n_items]
    out *= n_items
    out += keys % n_items
    return out


def _rows(ragged: Ragged, rows: np.ndarray) -> Ragged:
    """The given rows of a ragged array, in that order."""
    lengths = ragged.lengths()[rows]
    starts = np.repeat(ragged.indptr[rows], lengths)
    at = starts + np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    return Ragged(indptr, ragged.values[at], ragged.scores[at])


def _sparse(name: str, m: sp.spmatrix) -> dict[str, np.ndarray]:
    m = m.tocsr()
    return {f"{name}.data": m.data, f"{name}.indices": m.indices, f"{name}.indptr": m.indptr}


def _unsparse(arrays: dict[str, np.ndarray], name: str, shape: tuple[int, int]) -> sp.csr_matrix:
    parts = (arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"])
    return sp.csr_matrix(parts, shape=shape)


def _ragged(name: str, r: Ragged) -> dict[str, np.ndarray]:
    return {f"{name}.indptr": r.indptr, f"{name}.values": r.values, f"{name}.scores": r.scores}


def _unragged(arrays: dict[str, np.ndarray], name: str) -> Ragged:
    return Ragged(arrays[f"{name}.indptr"], arrays[f"{name}.values"], arrays[f"{name}.scores"])


def _text(ids: np.ndarray) -> np.ndarray:
    """Ids as UTF-8 bytes joined by newlines (ids are printable: no newline in one)."""
    return np.frombuffer("\n".join(ids.tolist()).encode(), np.uint8)


def _untext(blob: np.ndarray) -> np.ndarray:
    return np.array(blob.tobytes().decode().split("\n") if len(blob) else [], dtype=USER_IDS)
