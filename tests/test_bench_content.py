"""The benchmark's generated content stays valid as the loader gets stricter (a DST rule
once made `make bench` fail on it, unnoticed by `make test`)."""

from __future__ import annotations

import json
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


def test_the_large_catalog_measure_runs_and_reports_a_cheap_edit(tmp_path):
    """bench/large.py on a small generated catalog: it runs, and its one-item edit renders
    a few representations, not all of them."""
    subprocess.run(
        [sys.executable, "bench/generate.py", str(tmp_path), "--items", "400", "--topics", "5"],
        cwd=ROOT, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    result = subprocess.run([sys.executable, "bench/large.py", str(tmp_path)], cwd=ROOT,
                            check=True, capture_output=True, text=True, timeout=120)  # fmt: skip
    found = json.loads(result.stdout)
    assert found["items"] == 400 and found["topics"] == 5
    assert 0 < found["rendered"] < found["representations"] / 4
    assert found["edit"] < found["build"]
