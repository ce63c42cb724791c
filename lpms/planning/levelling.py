"""Levelling inside a period (heijunka): sequence a final-assembly mix so each product's
cumulative output stays close to its ideal rate.

Product-rate variation: minimise sum_k sum_p (x_pk - k * r_p)^2, where x_pk is the number of
units of p among the first k of the D units and r_p = d_p / D.

* exact: Kubiak & Sethi's assignment formulation -- copy j of product p costs C_pjk at
  position k, measured from its ideal position Z*_pj = ceil((2j - 1) / (2 r_p)); the
  assignment LP is totally unimodular, so HiGHS returns an integral optimum;
* fast: goal chasing (always make the product furthest behind its ideal), with the gap to a
  lower bound that rounds each product's ideal cumulative output independently.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lpms.domain.errors import InvalidInput
from lpms.planning.solver import LinearModel, Runner, SolverOptions


@dataclass(frozen=True)
class LevelledSequence:
    sequence: tuple[str, ...]
    cost: float  # sum of squared deviations of the sequence
    lower_bound: float
    exact: bool

    @property
    def gap_rel(self) -> float:
        return 0.0 if self.exact else (self.cost - self.lower_bound) / max(self.cost, 1e-12)


def _clean(mix: Mapping[str, float]) -> dict[str, int]:
    out = {}
    for p, q in sorted(mix.items()):
        n = int(round(q))
        if abs(q - n) > 1e-6 or n < 0:
            raise InvalidInput(f"levelling needs whole, non-negative quantities: {p} has {q}")
        if n:
            out[p] = n
    return out


def sequence_cost(sequence: tuple[str, ...] | list[str], mix: Mapping[str, int]) -> float:
    """Sum over positions and products of (cumulative count - ideal cumulative count)^2."""
    total_units = len(sequence)
    rates = {p: n / total_units for p, n in mix.items()}
    counts = {p: 0 for p in mix}
    cost = 0.0
    for k, p in enumerate(sequence, start=1):
        counts[p] += 1
        cost += sum((counts[q] - k * r) ** 2 for q, r in rates.items())
    return cost


def lower_bound(mix: Mapping[str, int]) -> float:
    """Each product on its own rounds k * r_p to the nearest whole number: a valid bound."""
    total_units = sum(mix.values())
    lb = 0.0
    for n in mix.values():
        r = n / total_units
        ideal = np.arange(1, total_units + 1) * r
        lb += float(np.sum((ideal - np.round(ideal)) ** 2))
    return lb


def level_exact(mix: Mapping[str, float], options: SolverOptions = SolverOptions()) -> LevelledSequence:
    """Optimal sequence by the assignment formulation (sizes up to a few hundred units)."""
    demand = _clean(mix)
    total_units = sum(demand.values())
    if total_units == 0:
        return LevelledSequence((), 0.0, 0.0, True)
    copies = [(p, j) for p, n in demand.items() for j in range(1, n + 1)]
    positions = np.arange(1, total_units + 1)
    cost = np.zeros((len(copies), total_units))
    for c, (p, j) in enumerate(copies):
        r = demand[p] / total_units
        ideal = math.ceil((2 * j - 1) / (2 * r))
        psi = np.abs((j - positions * r) ** 2 - (j - 1 - positions * r) ** 2)  # psi[l-1] for position l
        for k in range(1, total_units + 1):
            if k < ideal:
                cost[c, k - 1] = psi[k - 1:ideal - 1].sum()
            elif k > ideal:
                cost[c, k - 1] = psi[ideal - 1:k - 1].sum()
    lm = LinearModel()
    n_c = len(copies)
    y = lm.add_cols([f"y[{p}#{j},{k}]" for p, j in copies for k in positions], 0.0, 1.0).reshape(n_c, total_units)
    rows = lm.add_rows([f"copy[{p}#{j}]" for p, j in copies], 1.0, 1.0)
    lm.add_coefs(np.repeat(rows, total_units), y.ravel(), 1.0)
    rows = lm.add_rows([f"position[{k}]" for k in positions], 1.0, 1.0)
    lm.add_coefs(np.tile(rows, n_c), y.ravel(), 1.0)
    runner = Runner(lm.compile(), options)
    runner.set_cost(cost.ravel())
    x = runner.solve().x.reshape(n_c, total_units)
    at = np.argmax(x, axis=0)  # copy placed at each position (integral by total unimodularity)
    sequence = tuple(copies[c][0] for c in at)
    return LevelledSequence(sequence, sequence_cost(sequence, demand), lower_bound(demand), True)


def level_heuristic(mix: Mapping[str, float]) -> LevelledSequence:
    """Goal chasing: at each position make the product furthest behind its ideal output."""
    demand = _clean(mix)
    total_units = sum(demand.values())
    counts = {p: 0 for p in demand}
    rates = {p: n / total_units for p, n in demand.items()}
    sequence = []
    for k in range(1, total_units + 1):
        best = min((p for p in demand if counts[p] < demand[p]), key=lambda p: (counts[p] - k * rates[p], -rates[p], p))
        counts[best] += 1
        sequence.append(best)
    seq = tuple(sequence)
    return LevelledSequence(seq, sequence_cost(seq, demand), lower_bound(demand), False)


def level_period(mix: Mapping[str, float], exact_up_to: int = 120, options: SolverOptions = SolverOptions()) -> LevelledSequence:
    """Exact for mixes up to ``exact_up_to`` units, goal chasing (with its gap) above."""
    demand = _clean(mix)
    if sum(demand.values()) <= exact_up_to:
        return level_exact(demand, options)
    return level_heuristic(demand)
