"""`make mutants` stays runnable: every deliberate bug still names code that is there, once
(a refactor that moves the code must move the mutant with it)."""

from __future__ import annotations

import pytest

from tests.live import ROOT
from tests.mutants import MUTANTS


@pytest.mark.parametrize(
    ("what", "name", "original", "mutated"), MUTANTS, ids=[m[0] for m in MUTANTS]
)
def test_each_mutant_applies_to_exactly_one_place(what, name, original, mutated):
    assert (ROOT / name).read_text(encoding="utf-8").count(original) == 1
    assert mutated != original
