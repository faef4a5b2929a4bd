"""Loading a file of N MB takes at most ``load_memory_bound(N)`` of memory (issue #18).

The bound (:func:`htmkit.serialization.load_memory_bound`) was fitted by
``tools/measure_load_memory.py`` (docs/experiments/load-memory.md); here it is checked, in
fresh processes, on the crafted worst case (a file whose members inflate to the loading limit,
checksums valid, refused only by the class) and on a real temporal memory grown by learning.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from htmkit.serialization import inflate_limit, load_memory_bound

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location(
        "measure_load_memory", ROOT / "tools" / "measure_load_memory.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_crafted_worst_case_stays_within_the_bound(tmp_path):
    tool = _tool()
    path = tmp_path / "bomb.htm"
    tool._bomb(path, 1.0)
    size = path.stat().st_size
    row = tool.measure("htmkit.spatial_pooler", "SpatialPooler",
                       tool.FIXTURES / "spatial_pooler.htm", path)
    assert row["outcome"].startswith("FormatError")
    # the file really is a worst case: it inflates to (nearly) the limit, and all was read
    assert row["inflated_mb"] * 2**20 > 0.95 * inflate_limit(size)
    assert row["peak_growth_mb"] * 2**20 > 0.9 * inflate_limit(size)
    assert row["peak_growth_mb"] * 2**20 <= load_memory_bound(size), row


@pytest.mark.slow
def test_learned_temporal_memory_stays_within_the_bound(tmp_path):
    tool = _tool()
    path = tmp_path / "tm.htm"
    tool._tm(500).save(path)
    row = tool.measure("htmkit.temporal_memory", "TemporalMemory",
                       tool.FIXTURES / "temporal_memory.htm", path)
    assert row["outcome"] == "loaded"
    assert row["peak_growth_mb"] * 2**20 <= load_memory_bound(path.stat().st_size), row
