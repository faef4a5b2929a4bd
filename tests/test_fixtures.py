"""Files saved by earlier htmkit releases keep loading and go on exactly where they stopped.

Each folder of ``tests/fixtures/`` holds files written by one release with
``tools/make_fixtures.py`` (its docstring names the commit) and ``expected.json``: for every
file, the outputs the saved object gave on a fixed stream of further inputs. Loading the file
with today's code and feeding the same stream must give the same outputs, bit for bit.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
RELEASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.json").exists())


def _make_fixtures():
    spec = importlib.util.spec_from_file_location("make_fixtures",
                                                  ROOT / "tools" / "make_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MAKER = _make_fixtures()


def _close(got, want, rel):
    """``got == want``, floats within ``rel`` (relative) when ``rel`` is not zero."""
    if isinstance(want, float) and isinstance(got, float) and rel:
        return math.isclose(got, want, rel_tol=rel, abs_tol=rel)
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(_close(g, w, rel) for g, w in zip(got, want,
                                                                                 strict=True))
    if isinstance(want, dict) and isinstance(got, dict):
        return got.keys() == want.keys() and all(_close(got[k], want[k], rel) for k in want)
    return got == want


def _same_numpy(written_by):
    """Whether this numpy is the minor release the fixtures were written with: only then are
    float results (numpy's own sums and exponentials) bit-identical."""
    return np.__version__.split(".")[:2] == written_by["numpy"].split(".")[:2]


def _cases():
    for release in RELEASES:
        expected = json.loads((FIXTURES / release / "expected.json").read_text())
        rel = 0.0 if _same_numpy(expected["__written_by__"]) else 1e-12
        for name, entry in expected.items():
            if not name.startswith("__"):
                yield pytest.param(release, name, entry, rel, id=f"{release}-{name}")


@pytest.mark.parametrize("release, name, entry, rel", list(_cases()))
def test_saved_file_loads_and_continues_exactly(release, name, entry, rel):
    """Bit-identical outputs (with another numpy minor release than the one that wrote the
    fixtures, floats may differ in their last bits: compared to 1e-12 then)."""
    cls_name, module, feed = MAKER.FEEDERS[name]
    assert cls_name == entry["class"]
    cls = getattr(importlib.import_module(module), cls_name)
    obj = cls.load(FIXTURES / release / entry["file"])
    assert type(obj).__name__ == cls_name
    got = json.loads(json.dumps(feed(obj)))
    want = entry["outputs"]
    assert len(got) == len(want)
    for step, (g, w) in enumerate(zip(got, want, strict=True)):
        assert _close(g, w, rel), f"{name}: step {step} differs: {g} != {w}"


def test_fixtures_are_small_and_cover_every_persistable_class():
    from htmkit.serialization import Persistable

    for release in RELEASES:
        total = sum(p.stat().st_size for p in (FIXTURES / release).iterdir())
        assert total < 2_000_000, (release, total)
    covered = {entry[0] for entry in MAKER.FEEDERS.values()}
    # every persistable class of the library that a user saves is covered
    for module, names in {
        "htmkit.encoders": ["ScalarEncoder", "RDSE", "DateEncoder", "CategoryEncoder",
                            "MultiEncoder", "ImageEncoder"],
        "htmkit.spatial_pooler": ["SpatialPooler"],
        "htmkit.temporal_memory": ["TemporalMemory"],
        "htmkit.backtracking_tm": ["BacktrackingTemporalMemory"],
        "htmkit.temporal_pooler": ["TemporalPooler"],
        "htmkit.predictor": ["Predictor", "ScalarPredictor"],
        "htmkit.anomaly": ["AnomalyLikelihood"],
        "htmkit.model": ["HTMModel"],
        "htmkit.detector": ["AnomalyDetector"],
        "htmkit.network": ["Network"],
        "htmkit.vision.hierarchy": ["VisionHierarchy"],
    }.items():
        for n in names:
            assert issubclass(getattr(importlib.import_module(module), n), Persistable)
            assert n in covered, n
