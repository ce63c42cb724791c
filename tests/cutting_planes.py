"""Force the balance term onto cutting planes, for tests of what a time limit does.

The exact methods (basis faces, the face SOCP) can prove even a 1e-15 gap on small models, so a
test that needs the clock to stop a run takes them away: the cutting planes that remain cannot
reach such a gap and run until the time limit."""
from __future__ import annotations

from typing import Any

import pytest

from lpms.planning import conic, optimize


def cutting_planes_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def numerical_error(*args: Any, **kw: Any) -> conic.FaceResult:
        return conic.FaceResult(None, None, "NumericalError", 0, 0.0, 0)

    monkeypatch.setattr(optimize, "BASIS_FACES", False)
    monkeypatch.setattr(optimize, "solve_face", numerical_error)
    monkeypatch.setattr(optimize, "solve_reduced_face", numerical_error)
