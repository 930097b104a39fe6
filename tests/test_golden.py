"""The sample's feeds match the reviewed golden files byte for byte (`make golden` updates)."""

from __future__ import annotations

import pytest

from tests.golden import GOLDEN, expected_files

EXPECTED = expected_files()


def test_golden_files_and_rendered_feeds_are_the_same_set():
    on_disk = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file()}
    assert on_disk == set(EXPECTED), "run `make golden` and review the diff"


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_sample_feed_matches_its_golden_file(relative):
    assert (GOLDEN / relative).read_bytes() == EXPECTED[relative], (
        f"{relative} changed: run `make golden` and review the diff"
    )
