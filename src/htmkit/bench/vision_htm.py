"""Studies of the one hierarchical temporal model (:class:`htmkit.vision.Hierarchy`):

* :func:`hand_wired_movie`: the same regions as the model's network, called in a plain loop
  (numpy crops and tiles, the delayed apical input kept by hand) -- the baseline of
  :func:`network_overhead`, and a check that the network computes exactly this;
* :func:`network_overhead`: ms per image through ``Network.run`` and through the hand-wired
  loop, alternated, medians over repeats;
* :func:`glimpse_study`: accuracy against the number of glimpses, and with the stopping rule.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..sdr import SDR

__all__ = ["glimpse_study", "hand_wired_movie", "network_overhead"]


def _sdr(dense: np.ndarray) -> SDR:
    return SDR._trusted(dense.shape, np.flatnonzero(dense).astype(np.int64))


def hand_wired_movie(model: Any, image: np.ndarray, learn: bool | frozenset[str] = False,
                     label: int | None = None, glimpses: int | None = None) -> list[dict]:
    """One movie through the model's regions without :class:`~htmkit.network.Network`;
    returns each glimpse's main outputs ``{region: SDR}`` (as ``Network.run`` does)."""
    from ..vision.model import _grid, region_names

    net = model.network
    regions = net.regions
    spec = model.spec
    levels = spec["levels"]
    grids = [_grid(lv, i) for i, lv in enumerate(levels)]
    T = model.eye.n_glimpses if glimpses is None else int(glimpses)
    for r in regions.values():
        r.reset()

    def lrn(nm: str) -> bool:
        return learn if isinstance(learn, bool) else nm in learn

    names = [[[region_names(li + 1, r, c, g) for c in range(g[1])] for r in range(g[0])]
             for li, g in enumerate(grids)]
    feedback = bool(spec.get("feedback", True))
    prev_tp: dict[str, SDR] = {}
    out_all = []
    eye = regions["eye"]
    readout = regions["readout"]
    readout_sources = [lk.source for lk in net.links if lk.target == "readout"]
    for t in range(T):
        eye.set_value(image if t == 0 else None)
        now: dict[str, SDR] = {"eye": eye.compute({}, lrn("eye"))}
        motor = eye.named_output("motor")
        view = now["eye"].dense
        below: list[list[np.ndarray]] = []
        for li, (lv, (gr, gc)) in enumerate(zip(levels, grids, strict=True)):
            has_tm = lv.get("tm") is not None
            outs: list[list[np.ndarray]] = []
            for r in range(gr):
                row = []
                for c in range(gc):
                    nm = names[li][r][c]
                    if li == 0:
                        ph, pw = view.shape[0] // gr, view.shape[1] // gc
                        x = view[r * ph:(r + 1) * ph, c * pw:(c + 1) * pw]
                    else:
                        br, bc = grids[li - 1]
                        fr, fc = br // gr, bc // gc
                        x = np.block([[below[r * fr + i][c * fc + j] for j in range(fc)]
                                      for i in range(fr)]) if (fr, fc) != (1, 1) \
                            else below[r][c]
                    sp = regions[nm["sp"]]
                    a = now[nm["sp"]] = sp.compute({"feedforward": _sdr(x)}, lrn(nm["sp"]))
                    tp = regions[nm["tp"]]
                    if has_tm:
                        tm = regions[nm["tm"]]
                        ins = {"feedforward": a}
                        if "basal" in tm.input_shapes:
                            ins["basal"] = motor
                        if "apical" in tm.input_shapes and feedback:
                            gr2, gc2 = grids[li + 1]
                            fr2, fc2 = gr // gr2, gc // gc2
                            parent = names[li + 1][r // fr2][c // fc2]["tp"]
                            ins["apical"] = prev_tp.get(parent) or SDR._trusted(
                                regions[parent].output_shape, np.zeros(0, np.int64))
                        cells = now[nm["tm"]] = tm.compute(ins, lrn(nm["tm"]))
                        pred = tm.named_output("predicted_active_cells")
                        o = tp.compute({"feedforward": cells, "predicted": pred}, lrn(nm["tp"]))
                    else:
                        o = tp.compute({"feedforward": a, "predicted": a}, lrn(nm["tp"]))
                    now[nm["tp"]] = o
                    row.append(o.dense)
                outs.append(row)
            below = outs
        # as the network combines them: along the last axis when the shapes agree on the
        # others, else flat, in link order
        shapes = [now[s].shape for s in readout_sources]
        if len(shapes) > 1 and len({len(sh) for sh in shapes}) == 1 and len(shapes[0]) > 1 \
                and len({sh[:-1] for sh in shapes}) == 1:
            x = np.concatenate([now[s].dense for s in readout_sources], axis=-1)
        else:
            x = np.concatenate([now[s].dense.ravel() for s in readout_sources])
        if label is not None:
            readout.set_value(int(label))
        now["readout"] = readout.compute({"feedforward": _sdr(x.ravel())}, lrn("readout"))
        for s in list(prev_tp) + [nm["tp"] for lv in names[1:] for row in lv for nm in row]:
            prev_tp[s] = now[s]
        out_all.append(now)
    return out_all


def network_overhead(model: Any, images: np.ndarray, repeats: int = 3,
                     learn: bool = False) -> dict[str, Any]:
    """ms per image (median over ``repeats`` alternated runs) of the model's movies through
    ``Network.run`` and through :func:`hand_wired_movie`, and the overhead in percent."""
    imgs = np.asarray(images)
    net_ms, hand_ms = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for im in imgs:
            model.movie(im, learn=learn)
        net_ms.append((time.perf_counter() - t0) * 1000 / len(imgs))
        t0 = time.perf_counter()
        for im in imgs:
            hand_wired_movie(model, im, learn=learn)
        hand_ms.append((time.perf_counter() - t0) * 1000 / len(imgs))
    n, h = float(np.median(net_ms)), float(np.median(hand_ms))
    return {"network_ms_per_image": n, "hand_wired_ms_per_image": h,
            "overhead_pct": 100.0 * (n - h) / h, "repeats": repeats, "images": len(imgs),
            "glimpses": model.eye.n_glimpses}


def glimpse_study(model: Any, images: np.ndarray, labels: np.ndarray,
                  policies: tuple[str, ...] = ("fixed", "random", "separate")
                  ) -> dict[str, Any]:
    """Per inference policy: accuracy after 1..max glimpses, and with the stopping rule its
    accuracy and mean number of glimpses (:meth:`Hierarchy.evidence_curve`)."""
    return {p: model.evidence_curve(images, labels, policy=p) for p in policies}


def ablation_variants(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The model spec and its ablations: ``no-motor`` (no motor context in any TM),
    ``count-pooler`` (every learned pooler replaced by :class:`CountPoolerRegion` keeping
    the same fraction of the TM's cells that were active most often over the movie),
    ``learned-pooler`` (the poolers learn: Hebbian steps, synapse growth, boosting),
    ``no-level2`` (level 1 only, the readout on its poolers), ``no-feedback`` and ``no-tm``
    (the poolers pool the SP columns)."""
    import copy

    out = {"full": copy.deepcopy(spec)}
    v = copy.deepcopy(spec)
    for lv in v["levels"]:
        lv["motor"] = False
    out["no-motor"] = v
    v = copy.deepcopy(spec)
    for lv in v["levels"]:
        lv["tp"] = {"count": float(lv["tp"].get("active_sparsity", 0.05))}
    out["count-pooler"] = v
    v = copy.deepcopy(spec)
    for lv in v["levels"]:
        if "count" not in lv["tp"]:
            lv["tp"].update(permanence_increment=0.04, permanence_decrement=0.008,
                            max_new_synapses=16, boost_strength=2.0)
    out["learned-pooler"] = v
    v = copy.deepcopy(spec)
    v["levels"] = v["levels"][:1]
    out["no-level2"] = v
    v = copy.deepcopy(spec)
    v["feedback"] = False
    out["no-feedback"] = v
    v = copy.deepcopy(spec)
    for lv in v["levels"]:
        lv["tm"] = None
    out["no-tm"] = v
    return out


def tm_prediction(model: Any, images: np.ndarray) -> dict[str, float]:
    """Per TM: precision of its next-view prediction (share of the columns it predicts at
    glimpse t that are active at t + 1) and the chance level (share of active columns)."""
    out: dict[str, float] = {}
    for tm in model.tm_names:
        core = model.network[tm].core
        cpc, n_cols = core.params.cells_per_column, core.params.num_columns
        hits = predicted = active = steps = 0
        for im in images:
            rec = model.movie(im, record=[f"{tm}.predictive_cells", f"{tm}.columns"])["records"]
            for t in range(len(rec[f"{tm}.columns"]) - 1):
                pred = np.unique(rec[f"{tm}.predictive_cells"][t].flatten().indices // cpc)
                nxt = rec[f"{tm}.columns"][t + 1].flatten().indices
                hits += len(np.intersect1d(pred, nxt))
                predicted += len(pred)
                active += len(nxt)
                steps += 1
        out[f"{tm}.precision"] = hits / max(predicted, 1)
        out[f"{tm}.chance"] = active / max(steps, 1) / n_cols
    return out


def run_ablation(dataset: str = "digits", seeds: tuple[int, ...] = (0, 1, 2),
                 n_train: int = 600, n_test: int = 300, variants: tuple[str, ...] | None = None,
                 out: str | None = None, n_learn: int | None = None) -> dict[str, Any]:
    """Train every ablation variant per seed on ``n_train`` training images of the vision
    benchmark's split and test it on ``n_test`` images of each protocol; JSON to ``out``."""
    import json

    from ..vision.model import Hierarchy, load_spec
    from .vision import load_bench_data
    from .vision_protocols import make_protocols

    results: dict[str, Any] = {"dataset": dataset, "seeds": list(seeds), "n_train": n_train,
                               "n_test": n_test, "n_learn": n_learn, "runs": []}
    for seed in seeds:
        xtr, ytr, xte, yte = load_bench_data(dataset, seed=seed)
        xtr, ytr, xte, yte = xtr[:n_train], ytr[:n_train], xte[:n_test], yte[:n_test]
        tests = make_protocols(xte, seed)
        preset = "digits" if min(xtr.shape[1:]) < 16 else "mnist"
        base = load_spec(preset)
        if n_learn is not None:
            base["train"]["n_learn"] = int(n_learn)
        for name, spec in ablation_variants(base).items():
            if variants and name not in variants:
                continue
            t0 = time.perf_counter()
            model = Hierarchy(spec, seed=seed).fit(xtr, ytr)
            fit_s = time.perf_counter() - t0
            acc = {}
            glimpses = {}
            for proto, imgs in tests.items():
                c = model.evidence_curve(imgs, yte)
                acc[proto] = c["accuracy"]
                glimpses[proto] = c["mean_glimpses"]
                if proto == "clean":
                    acc["clean_by_glimpses"] = c["accuracy_by_glimpses"]
            run = {"variant": name, "seed": seed, "fit_s": fit_s, "accuracy": acc,
                   "mean_glimpses": glimpses,
                   "tm_prediction": tm_prediction(model, xte[:50])}
            results["runs"].append(run)
            print(json.dumps(run), flush=True)
            if out:
                Path(out).write_text(json.dumps(results, indent=1) + "\n")
    return results


if __name__ == "__main__":  # pragma: no cover - a study script
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--n-train", type=int, default=600)
    ap.add_argument("--n-test", type=int, default=300)
    ap.add_argument("--variants", default="")
    ap.add_argument("--out", default=None)
    ap.add_argument("--n-learn", type=int, default=None)
    a = ap.parse_args()
    run_ablation(a.dataset, tuple(int(s) for s in a.seeds.split(",")), a.n_train, a.n_test,
                 tuple(v for v in a.variants.split(",") if v) or None, a.out, a.n_learn)


def ablation_table(results: dict[str, Any]) -> str:
    """Markdown tables of :func:`run_ablation`'s results: mean accuracy (in points) per variant
    and protocol over the seeds, with the change against ``full``; the TMs' prediction."""
    runs = results["runs"]
    variants = list(dict.fromkeys(r["variant"] for r in runs))
    protos = [p for p in runs[0]["accuracy"] if p != "clean_by_glimpses"]

    def mean(v: str, p: str) -> float:
        vals = [r["accuracy"][p] for r in runs if r["variant"] == v]
        return 100.0 * float(np.mean(vals)) if vals else float("nan")

    lines = ["| variant | seeds | " + " | ".join(protos) + " | mean glimpses (clean) |",
             "|---" * (len(protos) + 3) + "|"]
    for v in variants:
        n = sum(r["variant"] == v for r in runs)
        cells = []
        for p in protos:
            m = mean(v, p)
            d = m - mean("full", p)
            cells.append(f"{m:.1f}" if v == "full" else f"{m:.1f} ({d:+.1f})")
        g = np.mean([r["mean_glimpses"]["clean"] for r in runs if r["variant"] == v])
        lines.append(f"| {v} | {n} | " + " | ".join(cells) + f" | {g:.2f} |")
    lines += ["", "| variant | clean accuracy after 1..9 glimpses (no stopping) |", "|---|---|"]
    for v in variants:
        curves = np.mean([r["accuracy"]["clean_by_glimpses"] for r in runs
                          if r["variant"] == v], axis=0)
        lines.append(f"| {v} | " + ", ".join(f"{100 * c:.1f}" for c in curves) + " |")
    lines += ["", "| variant | TM | next-view precision | chance |", "|---|---|---|---|"]
    for v in variants:
        tms = sorted({k.rsplit(".", 1)[0] for r in runs if r["variant"] == v
                      for k in r["tm_prediction"]})
        for tm in tms:
            prec = np.mean([r["tm_prediction"][f"{tm}.precision"] for r in runs
                            if r["variant"] == v])
            ch = np.mean([r["tm_prediction"][f"{tm}.chance"] for r in runs
                          if r["variant"] == v])
            lines.append(f"| {v} | {tm} | {prec:.3f} | {ch:.3f} |")
    return "\n".join(lines) + "\n"
