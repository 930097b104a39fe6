"""The benchmark's generated content stays valid as the loader gets stricter (a DST rule
once made `make bench` fail on it, unnoticed by `make test`)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from syndicate.loader import load_catalog
from tests.conftest import ROOT


def test_the_generated_benchmark_content_is_valid(tmp_path):
    subprocess.run(
        [sys.executable, "bench/generate.py", str(tmp_path), "--items", "500", "--topics", "5"],
        cwd=ROOT, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    catalog = load_catalog(tmp_path, datetime.now(UTC))
    assert len(catalog.items) == 500 and len(catalog.topics) == 5
