"""Write the model-file part of the bad-input corpus: ``tests/data/bad/models/``.

Each file is a small crafted or broken copy of a fixture from ``tests/fixtures/v0_1_0`` (or a
zip written from scratch); ``models.json`` lists, for each, the class it is loaded as and a
fragment of the :class:`~htmkit.errors.FormatError` message it must get
(``tests/test_bad_input.py`` checks them). Crafted arrays get their checksums recomputed, so
only the validation of the loaded state stands between them and the kernels. The output is
deterministic: re-running the script rewrites the same files.

    PYTHONPATH=src python tools/make_bad_models.py [--out tests/data/bad/models]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "v0_1_0"
MANIFEST = "__manifest__.npy"
#: a fixed date for every zip member, so that the files do not change between runs
DATE = (2026, 1, 1, 0, 0, 0)


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, DATE), data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _open(name: str) -> tuple[dict[str, bytes], dict[str, Any]]:
    with zipfile.ZipFile(FIXTURES / f"{name}.htm") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    blob = np.lib.format.read_array(io.BytesIO(members[MANIFEST]), allow_pickle=False)
    return members, json.loads(blob.tobytes().decode("utf-8"))


def _close(members: dict[str, bytes], manifest: dict[str, Any]) -> bytes:
    blob = np.frombuffer(json.dumps(manifest).encode("utf-8"), dtype=np.uint8)
    return _zip({**members, MANIFEST: _npy(blob)})


def _array_key(manifest: dict[str, Any], *path: str) -> str:
    node = manifest["state"]
    for p in path:
        node = node[p]
    return str(node["__array__"])


def _set_array(members: dict[str, bytes], manifest: dict[str, Any], key: str,
               a: np.ndarray) -> None:
    members[f"{key}.npy"] = _npy(a)
    manifest["checksums"][key] = hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def _get_array(members: dict[str, bytes], key: str) -> np.ndarray:
    return np.array(np.lib.format.read_array(io.BytesIO(members[f"{key}.npy"])))


def _presyn(value: int) -> bytes:
    """The spatial pooler fixture with one presynaptic index set to ``value``."""
    members, manifest = _open("spatial_pooler")
    key = _array_key(manifest, "synapses", "arrays", "presyn")
    a = _get_array(members, key)
    a[np.flatnonzero(a >= 0)[0]] = value
    _set_array(members, manifest, key, a)
    return _close(members, manifest)


def _btm_source() -> bytes:
    members, manifest = _open("backtracking_tm")
    key = _array_key(manifest, "arrays", "syn_src")
    a = _get_array(members, key)
    a[0] = 10**6
    _set_array(members, manifest, key, a)
    return _close(members, manifest)


def _tm_counts() -> bytes:
    """The temporal memory fixture claiming more active cells than its list holds."""
    members, manifest = _open("temporal_memory")
    key = _array_key(manifest, "counts")
    a = _get_array(members, key)
    a[0] = 10**6
    _set_array(members, manifest, key, a)
    return _close(members, manifest)


def _truncated() -> bytes:
    data = (FIXTURES / "spatial_pooler.htm").read_bytes()
    return data[: len(data) // 2]


def _zip_bomb() -> bytes:
    """A few hundred bytes (bzip2) that inflate to 1 GiB of zeros."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": "<f8", "fortran_order": False, "shape": (2**27,)})
    blob = np.frombuffer(json.dumps({"format": "htmkit", "format_version": 1,
                                     "class": "SpatialPooler", "state": {},
                                     "checksums": {}}).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_BZIP2) as zf:
        zf.writestr(zipfile.ZipInfo(MANIFEST, DATE), _npy(blob),
                    compress_type=zipfile.ZIP_BZIP2)
        info = zipfile.ZipInfo("a0.npy", DATE)
        info.compress_type = zipfile.ZIP_BZIP2
        with zf.open(info, "w", force_zip64=True) as member:
            member.write(head.getvalue())
            zeros = bytes(2**24)
            for _ in range(2**30 // 2**24):
                member.write(zeros)
    return buf.getvalue()


def _huge_columns() -> bytes:
    members, manifest = _open("spatial_pooler")
    manifest["state"]["params"]["column_dimensions"] = [10**9]
    return _close(members, manifest)


def _format_version() -> bytes:
    members, manifest = _open("spatial_pooler")
    manifest["format_version"] = 99
    return _close(members, manifest)


def _state_version() -> bytes:
    members, manifest = _open("spatial_pooler")
    manifest["state"]["__version__"] = 99
    return _close(members, manifest)


def _checksum() -> bytes:
    """A crafted array whose checksum was not recomputed."""
    members, manifest = _open("spatial_pooler")
    key = _array_key(manifest, "synapses", "arrays", "presyn")
    a = _get_array(members, key)
    a[np.flatnonzero(a >= 0)[0]] = 10**6
    members[f"{key}.npy"] = _npy(a)
    return _close(members, manifest)


def _not_a_zip() -> bytes:
    return b"timestamp,value\n2020-01-01 00:00,1.0\n"


#: (file, class loaded as, module, message fragment, what it is, writer)
CASES: list[tuple[str, str, str, str, str, Any]] = [
    ("sp_presyn_out_of_range.htm", "SpatialPooler", "htmkit.spatial_pooler", "presyn",
     "a presynaptic index past the inputs, checksum recomputed", lambda: _presyn(10**6)),
    ("sp_presyn_negative.htm", "SpatialPooler", "htmkit.spatial_pooler", "presyn",
     "a negative presynaptic index, checksum recomputed", lambda: _presyn(-1)),
    ("btm_source_out_of_range.htm", "BacktrackingTemporalMemory", "htmkit.backtracking_tm",
     "syn_src", "a presynaptic cell past the cells, checksum recomputed", _btm_source),
    ("tm_count_too_long.htm", "TemporalMemory", "htmkit.temporal_memory", "counts[0]",
     "a scratch count longer than its list, checksum recomputed", _tm_counts),
    ("sp_checksum_mismatch.htm", "SpatialPooler", "htmkit.spatial_pooler",
     "checksum mismatch", "a changed array whose checksum was not recomputed", _checksum),
    ("sp_truncated.htm", "SpatialPooler", "htmkit.spatial_pooler",
     "unreadable or corrupted htmkit file", "the first half of a saved file", _truncated),
    ("zip_bomb.htm", "SpatialPooler", "htmkit.spatial_pooler", "inflate to",
     "a tiny bzip2 zip whose member inflates to 1 GiB", _zip_bomb),
    ("sp_huge_columns.htm", "SpatialPooler", "htmkit.spatial_pooler", "column_dimensions",
     "column_dimensions = [10**9] in the manifest, arrays unchanged", _huge_columns),
    ("format_version_99.htm", "SpatialPooler", "htmkit.spatial_pooler",
     "format version 99 is not supported", "a format version from the future",
     _format_version),
    ("state_version_99.htm", "SpatialPooler", "htmkit.spatial_pooler", "state version",
     "a state version from the future", _state_version),
    ("sp_loaded_as_tm.htm", "TemporalMemory", "htmkit.temporal_memory",
     "holds a 'SpatialPooler', not a 'TemporalMemory'", "a file of another class",
     lambda: (FIXTURES / "spatial_pooler.htm").read_bytes()),
    ("csv_not_a_model.htm", "SpatialPooler", "htmkit.spatial_pooler",
     "unreadable or corrupted htmkit file", "a CSV file named like a model", _not_a_zip),
]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "bad" / "models")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    listed = []
    for file, cls, module, fragment, about, write in CASES:
        data = write()
        (args.out / file).write_bytes(data)
        listed.append({"file": file, "class": cls, "module": module, "expect": fragment,
                       "about": about})
        print(f"{file:32s} {len(data):8d} bytes")
    (args.out / "models.json").write_text(json.dumps(
        {"_about": "Crafted model files (tools/make_bad_models.py): each loaded as 'class' "
                   "must raise FormatError with 'expect' in its message.",
         "cases": listed}, indent=1) + "\n")


if __name__ == "__main__":
    main()
