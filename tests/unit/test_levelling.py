from __future__ import annotations

import itertools

import pytest

from lpms.domain.errors import InvalidInput
from lpms.planning.levelling import level_exact, level_heuristic, level_period, lower_bound, sequence_cost


def brute_force(mix: dict[str, int]) -> float:
    units = [p for p, n in mix.items() for _ in range(n)]
    return min(sequence_cost(seq, mix) for seq in set(itertools.permutations(units)))


@pytest.mark.parametrize("mix", [
    {"A": 2, "B": 1}, {"A": 3, "B": 2, "C": 1}, {"A": 4, "B": 2, "C": 1}, {"A": 2, "B": 2, "C": 2, "D": 1},
    {"A": 5, "B": 3}, {"A": 1, "B": 1, "C": 1, "D": 1, "E": 1, "F": 2}, {"A": 6, "B": 1, "C": 1},
])
def test_exact_levelling_is_optimal_against_brute_force(mix: dict[str, int]) -> None:
    result = level_exact(mix)
    assert sorted(result.sequence) == sorted(p for p, n in mix.items() for _ in range(n))
    assert result.cost == pytest.approx(brute_force(mix), abs=1e-9)
    assert result.lower_bound <= result.cost + 1e-9


def test_exact_levelling_keeps_every_product_within_one_unit_of_its_ideal_rate() -> None:
    mix = {"A": 4, "B": 2, "C": 2}
    result = level_exact(mix)
    total = sum(mix.values())
    for product, count in mix.items():
        made = 0
        for k, unit in enumerate(result.sequence, start=1):
            made += unit == product
            assert abs(made - k * count / total) < 1, (product, k, result.sequence)
    # batching the mix (AAAABBCC) is far from level; the exact sequence beats it
    assert result.cost < sequence_cost(tuple("AAAABBCC"), mix) - 1


def test_heuristic_reports_its_gap_to_a_lower_bound_on_large_mixes() -> None:
    mix = {"MON-24": 140, "MON-27": 75, "TV-32": 60, "PANEL-15": 30, "X": 7}
    result = level_period(mix, exact_up_to=100)
    assert not result.exact
    assert len(result.sequence) == 312
    assert lower_bound(mix) <= result.cost
    assert 0 <= result.gap_rel < 0.5
    assert result.cost == pytest.approx(sequence_cost(result.sequence, mix))


def test_heuristic_is_never_better_than_exact() -> None:
    mix = {"A": 7, "B": 5, "C": 3, "D": 2}
    assert level_exact(mix).cost <= level_heuristic(mix).cost + 1e-9


def test_fractional_quantities_are_rejected_by_name() -> None:
    with pytest.raises(InvalidInput, match="B has 2.5"):
        level_exact({"A": 1, "B": 2.5})
