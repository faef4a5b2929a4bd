"""Fuzzing harness for saved model files (issue #18, deliverable 1).

Takes the small real files of every persistable class in ``tests/fixtures/v0_1_0`` and makes
broken copies of them, seeded:

* ``flip`` -- a few random bytes changed anywhere in the file;
* ``truncate`` -- the file cut at a random length;
* ``array`` -- one array replaced by a crafted one with its checksum recomputed (so only the
  validation of the loaded state stands between it and the kernels): out-of-range, negative
  or extreme values, another dtype, fewer or more elements, other dimensions, shuffled;
* ``field`` -- one number of the manifest's state (not a parameter) changed (checksums stay
  valid);
* ``param`` -- one parameter changed instead (the constructors' bounds must refuse it);
* ``header`` -- an array member whose ``.npy`` header claims a huge shape.

Besides the fixtures, two temporal memories the fixtures lack are built here (:data:`EXTRA`):
one with external basal input and one with no external input at all.

Each case is loaded and, when it loads, fed the fixture's stream of inputs
(``tools/make_fixtures.py``'s ``FEEDERS``). Cases run in a worker subprocess (one for a whole
batch, restarted after a crash), so a segfault or a hang is recorded against its case instead
of killing the test run. A case passes when it loads and runs, or raises an
:class:`~htmkit.errors.HTMKitError` (a ``FormatError`` for the load itself); anything else --
another exception type, a signal, a hang -- is a failure.

Run it by hand with ``python tests/fuzz_files.py --cases 200 --seed 1`` (cases per file);
``--json`` writes the counts per sample, kind and outcome, which ``tools/fuzz_campaign.py``
merges over the batches of a long campaign (docs/experiments/fuzz-files.md).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "v0_1_0"
KINDS = ("flip", "truncate", "array", "array", "array", "field", "param", "header")
MANIFEST = "__manifest__.npy"


def _maker() -> Any:
    spec = importlib.util.spec_from_file_location("make_fixtures",
                                                  ROOT / "tools" / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def samples() -> dict[str, Path]:
    """``{fixture name: file}`` for every fixture (one or more per persistable class)."""
    expected = json.loads((FIXTURES / "expected.json").read_text())
    return {name: FIXTURES / e["file"] for name, e in expected.items()
            if not name.startswith("__")}


# ------------------------------------------------------------------ samples built here
def _build_tm(external_basal: int) -> Any:
    from htmkit.temporal_memory import TemporalMemory

    mk = _maker()
    tm = TemporalMemory(column_dimensions=[mk.TM_COLUMNS], cells_per_column=4,
                        activation_threshold=3, min_threshold=2, max_new_synapse_count=5,
                        initial_permanence=0.3, connected_permanence=0.4,
                        external_basal_size=external_basal, seed=4)
    seq = mk.tm_sequence()
    ctx = mk._random_sdrs(23, (32,), len(seq), 4)
    for _ in range(6):
        for x, c in zip(seq, ctx, strict=True):
            tm.compute(x, learn=True, external_basal=c if external_basal else None)
        tm.reset()
    return tm


def _feed_tm_basal(tm: Any) -> list[Any]:
    mk = _maker()
    seq = mk.tm_sequence()
    ctx = mk._random_sdrs(23, (32,), len(seq), 4)
    out = []
    for i in range(mk.N_STEPS):
        j = (i + 3) % len(seq)
        tm.compute(seq[j], learn=True, external_basal=ctx[j])
        out.append(mk._ind(tm.active_cells))
    return out


def _feed_tm_plain(tm: Any) -> list[Any]:
    mk = _maker()
    seq = mk.tm_sequence()
    out = []
    for i in range(mk.N_STEPS):
        tm.compute(seq[(i + 3) % len(seq)], learn=True)
        out.append(mk._ind(tm.active_cells))
    return out


#: ``{name: (class, module, feeder, builder)}`` of the samples built by the harness
EXTRA: dict[str, tuple[str, str, Any, Any]] = {
    "tm_external_basal": ("TemporalMemory", "htmkit.temporal_memory", _feed_tm_basal,
                          lambda: _build_tm(32)),
    "tm_no_external": ("TemporalMemory", "htmkit.temporal_memory", _feed_tm_plain,
                       lambda: _build_tm(0)),
}
# Fixtures written by 0.1.0 reach today's layouts only through their upgrade; these classes
# changed their state layout since, so a sample saved by this code is fuzzed beside them.
for _name in ("backtracking_tm", "anomaly_detector", "htm_model"):
    EXTRA[f"{_name}_current"] = (*_maker().FEEDERS[_name],
                                 lambda _n=_name: _maker().build(_n))


def feeders() -> dict[str, tuple[str, str, Any]]:
    """``{sample name: (class name, module, feeder)}`` of the fixtures and :data:`EXTRA`."""
    return {**_maker().FEEDERS, **{k: v[:3] for k, v in EXTRA.items()}}


def all_samples(folder: Path) -> dict[str, Path]:
    """:func:`samples` and the :data:`EXTRA` samples, those saved into ``folder``."""
    out = samples()
    for name, (*_, build) in EXTRA.items():
        path = folder / f"sample-{name}.htm"
        build().save(path)
        out[name] = path
    return out


# ------------------------------------------------------------------ mutations
def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def _rezip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _unzip(data: bytes) -> tuple[dict[str, bytes], dict[str, Any]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    blob = np.lib.format.read_array(io.BytesIO(members[MANIFEST]), allow_pickle=False)
    return members, json.loads(blob.tobytes().decode("utf-8"))


def _with_manifest(members: dict[str, bytes], manifest: dict[str, Any]) -> bytes:
    blob = np.frombuffer(json.dumps(manifest).encode("utf-8"), dtype=np.uint8)
    return _rezip({**members, MANIFEST: _npy(blob)})


_DTYPES = (np.bool_, np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64, np.uint64,
           np.float32, np.float64)


def _bad_value(a: np.ndarray, rng: np.random.Generator) -> Any:
    n = max(a.size, 1)
    if a.dtype.kind == "f":
        return rng.choice([np.nan, np.inf, -np.inf, -1.0, 2.0, 1e30, -1e30, 0.5])
    if a.dtype.kind == "b":
        return rng.integers(0, 2)
    info = np.iinfo(a.dtype)
    choices = [-1, -2, n, n + 1, 2 * n, info.max, info.min, int(rng.integers(-1000, 1000)),
               int(rng.integers(0, n)), 0, 1]
    return int(np.clip(choices[int(rng.integers(len(choices)))], info.min, info.max))


def _craft_array(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    how = int(rng.integers(8))
    out = np.array(a)
    if how <= 2 and out.size:  # one to a few values out of range
        flat = out.reshape(-1)
        for _ in range(int(rng.integers(1, 4))):
            flat[int(rng.integers(flat.size))] = _bad_value(out, rng)
        return out
    if how == 3:  # another dtype
        return out.astype(_DTYPES[int(rng.integers(len(_DTYPES)))])
    if how == 4 and out.ndim and out.shape[0]:  # fewer elements
        return out[: int(rng.integers(out.shape[0]))]
    if how == 5:  # more elements
        return np.concatenate([out.reshape(-1), out.reshape(-1)[: int(rng.integers(1, 9))],
                               np.full(int(rng.integers(1, 5)), _bad_value(out, rng),
                                       dtype=out.dtype)])
    if how == 6:  # other dimensions
        return out.reshape(-1) if out.ndim != 1 else out.reshape(1, -1)
    rng.shuffle(out.reshape(-1))  # same values, other places
    return out


def _numbers(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of the plain numbers in a JSON state (not arrays, not class/version tags)."""
    out: list[tuple[Any, ...]] = []
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return out
        for k, v in obj.items():
            if k not in ("__class__",):
                out += _numbers(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _numbers(v, (*path, i))
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        out.append(path)
    return out


def mutate(data: bytes, kind: str, rng: np.random.Generator) -> bytes:
    """A broken copy of the file ``data`` (see the module docstring for the kinds)."""
    if kind == "flip":
        flipped = bytearray(data)
        for _ in range(int(rng.integers(1, 9))):
            flipped[int(rng.integers(len(flipped)))] ^= int(rng.integers(1, 256))
        return bytes(flipped)
    if kind == "truncate":
        return data[: int(rng.integers(len(data)))]
    members, manifest = _unzip(data)
    keys = sorted(manifest["checksums"])
    if kind in ("field", "param"):
        # "field": a number outside the parameters; "param": a parameter (their bounds are
        # the constructors' business, #18 deliverable 4: not in the default kinds)
        paths = [q for q in _numbers(manifest["state"]) if ("params" in q) == (kind == "param")]
        if paths:
            path = paths[int(rng.integers(len(paths)))]
            node = manifest["state"]
            for p in path[:-1]:
                node = node[p]
            old = node[path[-1]]
            new = [-1, 0, 1, 2**31, -(2**31), 10**12, old + 1, old * 2, old - 1, 1e308,
                   None, "x", [1]]
            node[path[-1]] = new[int(rng.integers(len(new)))]
        return _with_manifest(members, manifest)
    if not keys:
        return data
    key = keys[int(rng.integers(len(keys)))]
    if kind == "header":
        a = np.zeros(4, dtype=np.float64)
        head = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            head, {"descr": "<f8", "fortran_order": False,
                   "shape": (int(rng.choice([10**6, 10**9, 10**12, 2**62])),)})
        members[f"{key}.npy"] = head.getvalue() + a.tobytes()
        return _rezip(members)
    a = np.lib.format.read_array(io.BytesIO(members[f"{key}.npy"]), allow_pickle=False)
    b = _craft_array(a, rng)
    members[f"{key}.npy"] = _npy(b)
    manifest["checksums"][key] = _sha(b)
    return _with_manifest(members, manifest)


def make_cases(folder: Path, per_file: int, seed: int, only: list[str] | None = None,
               kinds: tuple[str, ...] = KINDS) -> list[dict[str, Any]]:
    """Write ``per_file`` broken copies of each sample file into ``folder``; return the
    cases (name of the fixture, kind, path)."""
    cases: list[dict[str, Any]] = []
    known = samples()
    wanted = set(only or [*known, *EXTRA])
    every = all_samples(folder) if wanted & set(EXTRA) else known
    for i, (name, path) in enumerate(sorted(every.items())):
        if name not in wanted:
            continue
        data = path.read_bytes()
        rng = np.random.default_rng([seed, i])
        for j in range(per_file):
            kind = kinds[int(rng.integers(len(kinds)))]
            out = folder / f"{name}-{j}-{kind}.htm"
            out.write_bytes(mutate(data, kind, rng))
            cases.append({"id": len(cases), "name": name, "kind": kind, "path": str(out),
                          "sample": str(path)})
    return cases


# ------------------------------------------------------------------ running
def _worker(case_file: str) -> None:
    """Run the cases of ``case_file`` (JSON list), reporting each on stdout as it goes."""
    import resource

    limit = 4 * 2**30  # a case that tries to take more memory fails instead of swapping
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from htmkit.errors import FormatError, HTMKitError

    feeding = feeders()
    cases = json.loads(Path(case_file).read_text())
    out = sys.stdout
    # warm up: load and run each intact sample once (numba caches, imports), so that the
    # time limit of a case measures the case
    paths = {c["name"]: c["sample"] for c in cases}
    for name in sorted(paths):
        cls_name, module, feed = feeding[name]
        feed(getattr(importlib.import_module(module), cls_name).load(paths[name]))
    for case in cases:
        out.write(f"S {case['id']}\n")
        out.flush()
        cls_name, module, feed = feeding[case["name"]]
        cls = getattr(importlib.import_module(module), cls_name)
        try:
            obj = cls.load(case["path"])
        except FormatError:
            result = "format"
        except HTMKitError as exc:
            result = f"bad-load:{type(exc).__name__}: {str(exc)[:200]}"
        except BaseException as exc:  # noqa: BLE001 - recorded as a failure
            result = f"bad-load:{type(exc).__name__}: {str(exc)[:200]}"
        else:
            try:
                feed(obj)
                result = "ok"
            except HTMKitError as exc:
                result = f"run-htmkit:{type(exc).__name__}"
            except BaseException as exc:  # noqa: BLE001 - recorded as a failure
                result = f"bad-run:{type(exc).__name__}: {str(exc)[:200]}"
        out.write(f"R {case['id']} {result}\n")
        out.flush()


def run_cases(cases: list[dict[str, Any]], folder: Path, case_timeout: float = 60.0,
              ) -> dict[int, str]:
    """Run ``cases`` in worker subprocesses; ``{case id: result}`` where a result is
    ``ok``, ``format``, ``run-htmkit:<type>`` (passes) or ``bad-load:...``, ``bad-run:...``,
    ``crash:<return code>``, ``hang`` (failures)."""
    results: dict[int, str] = {}
    todo = list(cases)
    env = dict(os.environ)
    # HTMKIT_FUZZ_SRC: another source tree to fuzz (e.g. an older commit, to compare)
    src = os.environ.get("HTMKIT_FUZZ_SRC", str(ROOT / "src"))
    env["PYTHONPATH"] = os.pathsep.join(
        [src, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    failed_starts = 0
    while todo:
        case_file = folder / "cases.json"
        case_file.write_text(json.dumps(todo))
        proc = subprocess.Popen([sys.executable, __file__, "--worker", str(case_file)],
                                stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        started: int | None = None
        deadline = time.monotonic() + 900.0  # start-up (imports, numba caches: cold, slow)
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        hung = False
        while True:
            wait = deadline - time.monotonic()
            if wait <= 0:
                hung = True
                break
            if not sel.select(timeout=wait):
                continue
            line = proc.stdout.readline()
            if not line:
                break
            tag, _, rest = line.rstrip("\n").partition(" ")
            if tag == "S":
                started = int(rest)
                deadline = time.monotonic() + case_timeout
            elif tag == "R":
                cid, _, result = rest.partition(" ")
                results[int(cid)] = result
                started = None
        sel.close()
        if hung:
            proc.kill()
        rc = proc.wait()
        if started is not None:
            results[started] = "hang" if hung else f"crash:{rc}"
        elif hung or rc != 0:
            failed_starts += 1
            if failed_starts > 2:
                raise RuntimeError(f"fuzz worker failed outside any case (return code {rc})")
        todo = [c for c in todo if c["id"] not in results]
    return results


def is_failure(result: str) -> bool:
    return not (result in ("ok", "format") or result.startswith("run-htmkit:"))


def fuzz(per_file: int, seed: int, only: list[str] | None = None,
         kinds: tuple[str, ...] = KINDS) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """Make and run ``per_file`` cases for each sample file; (cases, results)."""
    with tempfile.TemporaryDirectory(prefix="htmkit-fuzz-") as tmp:
        cases = make_cases(Path(tmp), per_file, seed, only, kinds)
        return cases, run_cases(cases, Path(tmp))


def summary(cases: list[dict[str, Any]], results: dict[int, str]) -> str:
    """Counts of the results per fixture and the failing cases."""
    lines = []
    per: dict[str, Counter[str]] = {}
    for c in cases:
        r = results[c["id"]]
        key = r.split(":", 1)[0] if not is_failure(r) else "FAIL"
        per.setdefault(c["name"], Counter())[key] += 1
    for name, cnt in sorted(per.items()):
        lines.append(f"{name}: {dict(cnt)}")
    for c in cases:
        if is_failure(results[c["id"]]):
            lines.append(f"FAIL {c['name']} {c['kind']} {c['path']}: {results[c['id']]}")
    return "\n".join(lines)


def outcome(result: str) -> str:
    """The outcome class of a result: ``ok``, ``FormatError`` (refused at load), the
    HTMKitError type raised while running, or ``FAIL:<what>``."""
    if result == "format":
        return "FormatError"
    if result.startswith("run-htmkit:"):
        return result.split(":", 1)[1]
    if is_failure(result):
        return "FAIL:" + result.split(":", 2)[0] + ":" + result.split(":", 2)[1].strip()
    return result


def record(cases: list[dict[str, Any]], results: dict[int, str]) -> dict[str, Any]:
    """JSON-able counts: per sample, per kind, per outcome, and the failing cases."""
    feeding = feeders()
    per: dict[str, dict[str, Any]] = {}
    for c in cases:
        r = results[c["id"]]
        entry = per.setdefault(c["name"], {"class": feeding[c["name"]][0], "cases": 0,
                                           "kinds": {}, "outcomes": {}})
        entry["cases"] += 1
        entry["kinds"][c["kind"]] = entry["kinds"].get(c["kind"], 0) + 1
        o = outcome(r)
        entry["outcomes"][o] = entry["outcomes"].get(o, 0) + 1
    return {"samples": per,
            "failures": [{"name": c["name"], "kind": c["kind"], "result": results[c["id"]]}
                         for c in cases if is_failure(results[c["id"]])]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--cases", type=int, default=100, help="cases per sample file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", help="fixture names (default: all)")
    ap.add_argument("--keep", help="folder to keep the failing files in")
    ap.add_argument("--kinds", nargs="*", default=list(KINDS),
                    help="mutation kinds (flip truncate array field param header)")
    ap.add_argument("--json", help="write the counts (see record()) to this file")
    args = ap.parse_args(argv)
    if args.worker:
        _worker(args.worker)
        return 0
    if os.environ.get("HTMKIT_FUZZ_SRC"):
        # the samples built here (EXTRA) are written by the code the workers will read
        sys.path.insert(0, os.environ["HTMKIT_FUZZ_SRC"])
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="htmkit-fuzz-") as tmp:
        cases = make_cases(Path(tmp), args.cases, args.seed, args.only, tuple(args.kinds))
        results = run_cases(cases, Path(tmp))
        print(summary(cases, results))
        bad = [c for c in cases if is_failure(results[c["id"]])]
        if args.keep and bad:
            keep = Path(args.keep)
            keep.mkdir(parents=True, exist_ok=True)
            for c in bad:
                Path(keep / Path(c["path"]).name).write_bytes(Path(c["path"]).read_bytes())
    elapsed = time.monotonic() - t0
    print(f"{len(cases)} cases, {len(bad)} failures, {elapsed:.1f} s")
    if args.json:
        rec = {"seed": args.seed, "cases_per_sample": args.cases, "kinds": list(args.kinds),
               "cases": len(cases), "n_failures": len(bad), "seconds": round(elapsed, 1),
               **record(cases, results)}
        Path(args.json).write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
