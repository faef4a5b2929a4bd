"""Broken and crafted model files never crash, hang or raise anything but HTMKitError.

The harness is :mod:`fuzz_files` (see its docstring). The default tier runs a short seeded
batch over the saved files of every persistable class; the slow tier a long one. Crafted
cases that used to crash the interpreter or compute garbage are pinned below as well.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fuzz_files as F  # noqa: E402

from htmkit.errors import FormatError  # noqa: E402
from htmkit.serialization import load_state  # noqa: E402


def _run(per_file: int, seed: int) -> None:
    cases, results = F.fuzz(per_file, seed)
    report = F.summary(cases, results)
    print(f"\n{len(cases)} cases\n{report}")
    assert len(results) == len(cases)
    assert not [c for c in cases if F.is_failure(results[c["id"]])], report
    # the mutations reach both outcomes: refused files and files that load and run
    kinds = {r.split(":", 1)[0] for r in results.values()}
    assert {"ok", "format"} <= kinds


def test_fuzz_short():
    """About 250 cases (14 per sample file), seeded."""
    _run(14, seed=18)


@pytest.mark.slow
def test_fuzz_long():
    """Over 10,000 cases (600 per sample file, about 1,000 per class)."""
    _run(600, seed=1800)


# ------------------------------------------------------------------ crafted cases
def _craft(src: Path, dst: Path, fn) -> None:
    """Copy ``src`` to ``dst`` with the array chosen and changed by ``fn(key, array)``
    (returning the new array, or None to keep it), checksums recomputed."""
    members, manifest = F._unzip(src.read_bytes())
    for key in manifest["checksums"]:
        a = np.lib.format.read_array(io.BytesIO(members[f"{key}.npy"]))
        b = fn(key, a, manifest)
        if b is not None:
            members[f"{key}.npy"] = F._npy(b)
            manifest["checksums"][key] = F._sha(b)
    dst.write_bytes(F._with_manifest(members, manifest))


def _store_key(manifest, *path):
    node = manifest["state"]
    for p in path:
        node = node[p]
    return node["__array__"]


@pytest.mark.parametrize("value", [10**6, -1, -(2**31)])
@pytest.mark.parametrize("name, store", [("spatial_pooler", "synapses"),
                                         ("temporal_memory", "basal"),
                                         ("temporal_pooler", "store")])
def test_out_of_range_presynaptic_index_is_refused(tmp_path, name, store, value):
    cls_name, module, _ = F._maker().FEEDERS[name]
    import importlib

    cls = getattr(importlib.import_module(module), cls_name)

    def change(key, a, manifest):
        if key == _store_key(manifest, store, "arrays", "presyn"):
            a = a.copy()
            a[np.flatnonzero(a >= 0)[0]] = value
            return a
        return None

    _craft(F.samples()[name], tmp_path / "x.htm", change)
    with pytest.raises(FormatError, match="presyn"):
        cls.load(tmp_path / "x.htm")


def test_btm_out_of_range_source_is_refused(tmp_path):
    from htmkit.backtracking_tm import BacktrackingTemporalMemory

    def change(key, a, manifest):
        if key == _store_key(manifest, "arrays", "syn_src"):
            a = a.copy()
            a[0] = 10**6
            return a
        return None

    _craft(F.samples()["backtracking_tm"], tmp_path / "x.htm", change)
    with pytest.raises(FormatError, match="syn_src"):
        BacktrackingTemporalMemory.load(tmp_path / "x.htm")


def test_zip_bomb_is_refused_before_inflating(tmp_path):
    path = tmp_path / "bomb.htm"
    blob = np.frombuffer(json.dumps({"format": "htmkit", "format_version": 1, "class": "X",
                                     "state": {}, "checksums": {}}).encode(), dtype=np.uint8)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("__manifest__.npy", F._npy(blob))
        zf.writestr("a0.npy", F._npy(np.zeros(2**27, dtype=np.float64)))  # 1 GiB of zeros
    assert path.stat().st_size < 2 * 2**20
    with pytest.raises(FormatError, match="inflate"):
        load_state(path)


def test_deep_manifest_is_a_format_error(tmp_path):
    path = tmp_path / "deep.htm"
    text = '{"format": "htmkit", "format_version": 1, "state": ' + "[" * 100_000 + "]" * (
        100_000) + ', "checksums": {}}'
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("__manifest__.npy", F._npy(np.frombuffer(text.encode(), dtype=np.uint8)))
    with pytest.raises(FormatError, match="deep"):
        load_state(path)


def test_lying_npy_header_is_refused(tmp_path):
    src = F.samples()["spatial_pooler"]
    dst = tmp_path / "x.htm"
    rng = np.random.default_rng(0)
    dst.write_bytes(F.mutate(src.read_bytes(), "header", rng))
    with pytest.raises(FormatError, match="needs"):
        load_state(dst)
