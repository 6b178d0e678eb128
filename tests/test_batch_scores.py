"""The array forms the batch uses are the one-list forms to the bit: ``round(score, 4)`` and the boosted score
(``recsvc.read.shown_scores``), and the pins (``recsvc.read.batch_pins`` against ``listing.pin_places``)."""

import math
import random

import numpy as np
import pytest

from recsvc.read.batch_pins import place_pins
from recsvc.read.listing import boosted_score, pin_places
from recsvc.read.rule_format import Rule
from recsvc.read.rules import Verdict
from recsvc.read.shown_scores import boosted, rounded
from recsvc.store.cache import ShownItem


def awkward_scores(rng: random.Random, count: int) -> list[float]:
    """Scores of every size and sign, many of them on or next to a tie of the 4th decimal, and not numbers."""
    out = [0.03125, -0.03125, 0.00005, 0.00015, 2.5e-5, 1.00005, -0.0, 0.0, math.inf, -math.inf, math.nan]
    for _ in range(count):
        kind = rng.randrange(6)
        if kind == 0:
            out.append(rng.random())
        elif kind == 1:
            tie = (rng.randrange(-(10**6), 10**6) + 0.5) / 1e4  # a half at the 4th decimal, as decimal text says
            out.append(math.nextafter(tie, rng.choice((math.inf, -math.inf))) if rng.random() < 0.5 else tie)
        elif kind == 2:
            out.append(rng.uniform(-1, 1) * 10 ** rng.uniform(-8, 16))
        elif kind == 3:
            out.append(rng.randrange(1, 2**20) / 2 ** rng.randrange(1, 25))  # exact binary fractions: real ties
        elif kind == 4:
            out.append(round(rng.uniform(0, 3), 4) * round(rng.uniform(0.001, 100), 2))  # a boosted product
        else:
            out.append(float(np.float32(rng.random())))  # a stored pick's score
    return out


def same_bits(found: list[float], wanted: list[float]) -> bool:
    return [repr(x) for x in found] == [repr(x) for x in wanted]


def test_rounding_many_scores_is_pythons_round_to_the_bit():
    scores = awkward_scores(random.Random(1), 200_000)
    assert same_bits(rounded(np.array(scores)).tolist(), [round(s, 4) for s in scores])
    rows = np.array(scores[:100_000]).reshape(1000, 100)  # a list a row
    assert same_bits(rounded(rows).ravel().tolist(), [round(s, 4) for s in scores[:100_000]])


def test_a_rounded_score_rounds_to_itself():
    """What the batch leaves out: a pin copies a shown score and ``listing.entry`` rounds a shown score again, and
    ``round`` of a rounded score is that score, of any size (the 4-decimal number nearest to the double is the one
    it was made from, or else the double is the nearest one to it)."""
    once = [round(s, 4) for s in awkward_scores(random.Random(3), 100_000)]
    assert same_bits([round(s, 4) for s in once], once)


def test_a_boosted_score_is_the_one_list_score_to_the_bit():
    rng = random.Random(2)
    scores = [float(np.float32(rng.random() * 10 ** rng.randrange(-3, 3))) for _ in range(50_000)]
    factors = [rng.choice((1.0, 0.5, 1.5, 3.0, 0.3, 1e12, 1e-12, round(rng.uniform(0.1, 5), 2))) for _ in scores]
    named = [rng.random() < 0.6 for _ in scores]
    verdicts = [Verdict(None, ("r",) if b else (), f) for f, b in zip(factors, named)]
    wanted = [boosted_score(s, v) for s, v in zip(scores, verdicts)]
    found = boosted(np.array(scores, np.float32), np.array(factors), np.array(named)).tolist()
    assert same_bits(found, wanted)


def shown_item(index: int) -> ShownItem:
    return ShownItem(f"item-{index}", "c", {"item_id": f"item-{index}"}, {})


@pytest.mark.parametrize("limit", [1, 2, 5, 10, 20])
def test_pins_placed_in_many_lists_are_placed_as_in_one(limit):
    """Random lists (some short, some empty) and pins at random places, some of one item twice, some of an item
    the list has, some the user bought: each list's places, scores and placed pins are ``pin_places``'."""
    rng = random.Random(limit)
    users = 400
    pin_items = [rng.randrange(30) for _ in range(rng.randrange(1, 6))]
    pin_items += rng.sample(pin_items, min(2, len(pin_items)))  # the same item pinned twice
    pins = [
        (Rule(name=f"pin-{k}", kind="pin", item_id=f"item-{i}", position=rng.randrange(1, limit + 1)), i, shown_item(i))
        for k, i in enumerate(pin_items)
    ]
    lists = [rng.sample(range(30), rng.choice((0, limit // 2, limit, limit))) for _ in range(users)]
    scores = [sorted((round(rng.random(), 4) for _ in row), reverse=True) for row in lists]
    bought = [set(rng.sample(range(30), rng.randrange(4))) for _ in range(users)]
    grid, grid_scores = np.full((users, limit), -1), np.zeros((users, limit))
    for n, (row, row_scores) in enumerate(zip(lists, scores)):
        grid[n, : len(row)], grid_scores[n, : len(row)] = row, row_scores
    shows = np.array([[index not in mine for _, index, _ in pins] for mine in bought])
    positions = np.array([rule.position for rule, _, _ in pins])
    lengths = np.array([len(row) for row in lists])
    pin_of = {id(item): k for k, (_, _, item) in enumerate(pins)}  # each pin its own item: which pin a place is
    placed = place_pins(grid, grid_scores, lengths, np.array(pin_items), positions, shows, limit)
    for n, (row, row_scores, mine) in enumerate(zip(lists, scores, bought)):
        ids = [f"item-{i}" for i in row]
        places, names = pin_places(ids, row_scores, pins, limit, lambda index, _, __, mine=mine: index not in mine)
        length = placed.lengths[n]
        wanted = [p if isinstance(p, int) else -1 - pin_of[id(p[0])] for p in places]
        assert placed.tokens[n, :length].tolist() == wanted
        wanted_scores = [row_scores[p] if isinstance(p, int) else p[1] for p in places]
        assert same_bits(placed.scores[n, :length].tolist(), wanted_scores)
        assert [pins[k][0].name for k in np.flatnonzero(placed.placed[n])] == names
