"""``htmkit demo``: the whole story on built-in data, in a couple of minutes.

An application at the top layer (it uses the benchmarks and the stream runner); the
command itself is :mod:`htmkit.cli.demo`.

1. Spatial Pooler on a built-in signal (a noisy sine wave through a ScalarEncoder): sparsity,
   stability of the output for a repeated input, and noise robustness before and after
   learning.
2. Spatial Pooler with topology on scikit-learn's bundled 8x8 digits: the same measurements,
   plus a PNG of the learned receptive fields.
3. The streaming model (encoders -> SP -> TM -> predictor + anomaly likelihood) on the
   built-in example stream with injected anomalies: prediction error and where the anomaly
   likelihood peaks, plus a PNG.
4. The vision hierarchy (:mod:`htmkit.vision.hierarchy`) on the bundled 8x8 digits: accuracy of
   raw kNN / raw linear / one SP level / the hierarchy / a CNN (when PyTorch is installed) under
   noise, shifts and occlusion, and PNGs of accuracy vs noise and vs shift, learned receptive
   fields per level and the stability of pooled representations over a movie
   (:func:`vision_demo`, with the models and protocols of ``htmkit bench vision``).

Every part is seeded; the figures printed are measured in this run.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..sdr import SDR

Printer = Callable[[str], None]


def _mean_overlap(a: list[SDR], b: list[SDR]) -> float:
    return float(np.mean([x.overlap(y) / max(x.num_active, 1) for x, y in zip(a, b,
                                                                               strict=True)]))


def sp_signal_demo(seed: int = 0, steps: int = 1500, echo: Printer = print) -> dict[str, Any]:
    """SP on a noisy sine wave: sparsity, stability and noise robustness (before/after)."""
    from ..encoders import ScalarEncoder
    from ..metrics import Metrics
    from ..spatial_pooler import SpatialPooler

    rng = np.random.default_rng(seed)
    enc = ScalarEncoder(minimum=-1.2, maximum=1.2, size=1024, active_bits=41, clip=True)
    sp = SpatialPooler(input_dimensions=enc.size, column_dimensions=1024,
                       potential_radius=enc.size, potential_pct=0.85, global_inhibition=True,
                       num_active_columns_per_inh_area=20, syn_perm_active_inc=0.04,
                       syn_perm_inactive_dec=0.008, syn_perm_connected=0.1, boost_strength=0.0,
                       seed=seed)
    probes = [enc.encode(float(np.sin(2 * np.pi * k / 20))) for k in range(20)]
    noisy = [p.add_noise(0.10, seed=seed + i) for i, p in enumerate(probes)]

    def robustness() -> float:
        clean_out = [sp.compute(p, learn=False) for p in probes]
        noisy_out = [sp.compute(p, learn=False) for p in noisy]
        return _mean_overlap(clean_out, noisy_out)

    before = robustness()
    metrics = Metrics(sp.num_columns, period=steps)
    t0 = time.perf_counter()
    for t in range(steps):
        x = np.sin(2 * np.pi * t / 100) + rng.normal(0, 0.05)
        metrics.add(sp.compute(enc.encode(float(x)), learn=True))
    ms = 1000 * (time.perf_counter() - t0) / steps
    after = robustness()
    first = [sp.compute(p, learn=False) for p in probes]
    second = [sp.compute(p, learn=False) for p in probes]
    stability = _mean_overlap(first, second)
    res = {"ms_per_step": ms, "sparsity": metrics.sparsity.mean, "entropy": metrics.entropy,
           "stability": stability, "noise_robustness_before": before,
           "noise_robustness_after": after}
    echo(f"  SP on a noisy sine ({steps} steps, {ms:.2f} ms/step): sparsity "
         f"{res['sparsity']:.4f} (target {20 / 1024:.4f}), activation entropy "
         f"{res['entropy']:.3f}, stability {stability:.3f}")
    echo(f"  noise robustness (output overlap, input with 10% bits moved): "
         f"{before:.3f} before learning -> {after:.3f} after")
    return res


def sp_digits_demo(out_dir: Path, seed: int = 0, epochs: int = 2,
                   echo: Printer = print) -> dict[str, Any]:
    """SP with local inhibition on the 8x8 digits; receptive-field picture."""
    from ..datasets import load_digits_dataset
    from ..encoders import ImageEncoder
    from ..metrics import Metrics
    from ..spatial_pooler import SpatialPooler

    images, labels = load_digits_dataset(scale=2)  # 16x16
    h, w = images.shape[1:]
    enc = ImageEncoder(image_shape=(h, w), threshold_mode="fixed", threshold=0.3)
    sp = SpatialPooler(input_dimensions=(h, w), column_dimensions=(h, w, 4), potential_radius=3,
                       potential_pct=0.8, global_inhibition=False, local_area_density=0.05,
                       syn_perm_active_inc=0.04, syn_perm_inactive_dec=0.04,
                       syn_perm_connected=0.2, boost_strength=1.0, wrap_around=False, seed=seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    train = order[:1000]
    probes = order[1000:1100]
    encoded = {i: enc.encode(images[i]) for i in np.concatenate([train, probes])}
    noisy = {i: encoded[i].add_noise(0.10, seed=int(i)) for i in probes}

    def robustness() -> float:
        return _mean_overlap([sp.compute(encoded[i], learn=False) for i in probes],
                             [sp.compute(noisy[i], learn=False) for i in probes])

    before = robustness()
    metrics = Metrics(sp.column_dimensions, period=len(train) * epochs)
    t0 = time.perf_counter()
    for _ in range(epochs):
        for i in train:
            metrics.add(sp.compute(encoded[i], learn=True))
    ms = 1000 * (time.perf_counter() - t0) / (len(train) * epochs)
    after = robustness()
    stability = _mean_overlap([sp.compute(encoded[i], learn=False) for i in probes],
                              [sp.compute(encoded[i], learn=False) for i in probes])
    png = out_dir / "receptive_fields.png"
    _plot_receptive_fields(sp, (h, w), png)
    echo(f"  SP with local inhibition on {h}x{w} digits, columns {sp.column_dimensions} "
         f"({ms:.2f} ms/step): sparsity {metrics.sparsity.mean:.4f} (local target 0.05; columns "
         f"that see only blank background stay off), entropy "
         f"{metrics.entropy:.3f}, stability {stability:.3f}")
    echo(f"  noise robustness: {before:.3f} before learning -> {after:.3f} after; receptive "
         f"fields: {png}")
    _ = labels
    return {"ms_per_step": ms, "sparsity": metrics.sparsity.mean, "entropy": metrics.entropy,
            "stability": stability, "noise_robustness_before": before,
            "noise_robustness_after": after, "receptive_fields_png": str(png)}


def _plot_receptive_fields(sp: Any, shape: tuple[int, int], path: Path, n: int = 64) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    duty = np.asarray(sp.active_duty_cycles).ravel()
    cols = np.argsort(-duty, kind="stable")[:n]
    side = int(np.ceil(np.sqrt(len(cols))))
    fig, axes = plt.subplots(side, side, figsize=(side * 1.1, side * 1.1))
    for ax in axes.ravel():
        ax.axis("off")
    for ax, c in zip(axes.ravel(), cols, strict=False):
        ax.imshow(np.asarray(sp.permanences(int(c))).reshape(shape), cmap="magma", vmin=0,
                  vmax=1)
    fig.suptitle("SP receptive fields (permanences) of the most active columns")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def streaming_demo(out_dir: Path, seed: int = 0, echo: Printer = print) -> dict[str, Any]:
    """The streaming model on the built-in example stream with injected anomalies; the
    AnomalyDetector's scores on it are pictured in ``stream.png``."""
    from ..streams import example_stream
    from .runner import stream_through_model

    _, starts = example_stream()
    png = out_dir / "stream.png"
    summary = stream_through_model(None, steps=(1,), out=out_dir / "stream.csv", seed=seed,
                                   progress=False)
    for line in summary.splitlines():
        echo("  " + line)
    echo(f"  (anomalies were injected at lines {', '.join(str(s + 2) for s in starts)})")
    detected = anomaly_detector_demo(seed, echo, plot=png)
    echo(f"  wrote {png}")
    return {"summary": summary, "plot": str(png), "detector": detected}


def anomaly_detector_demo(seed: int = 0, echo: Printer = print, threshold: float = 0.5,
                          plot: Path | None = None) -> dict[str, Any]:
    """The ready AnomalyDetector on the same stream: which injected anomalies it flags. With
    ``plot``, the picture of :func:`htmkit.apps.plots.plot_anomalies` is written there (the
    flagged records, the probationary period, the scores and threshold, the injected
    anomalies)."""
    from ..detector import AnomalyDetector
    from ..streams import example_stream
    from .plots import flagged_records, plot_anomalies

    frame, starts = example_stream()
    values = frame["value"].to_numpy(float)
    prob = min(int(0.15 * len(values)), 750)
    det = AnomalyDetector(float(values.min()), float(values.max()), prob, seed=seed)
    scores = np.array([det.update(t, float(v)) for t, v in zip(frame["timestamp"], values,
                                                                  strict=True)])
    flagged = np.flatnonzero(flagged_records(scores, threshold, prob))
    hits = [bool(np.any((flagged >= s) & (flagged < s + 24))) for s in starts]
    false_alarms = int(sum(not np.any((f >= starts) & (f < starts + 24)) for f in flagged))
    echo(f"  AnomalyDetector (score >= {threshold}): flagged {len(flagged)} rows; injected "
         f"anomalies found within a day: {sum(hits)} of {len(starts)}; other flagged rows: "
         f"{false_alarms}")
    if plot is not None:
        plot_anomalies(frame["timestamp"].to_numpy(), values, scores, threshold=threshold,
                       probation=prob, known=starts, path=plot,
                       title="built-in example stream, AnomalyDetector")
    return {"flagged_rows": flagged.tolist(), "hits": hits, "false_alarms": false_alarms}


def vision_demo(out_dir: Path, seed: int = 0, quick: bool = False,
                echo: Printer = print) -> dict[str, Any]:
    """The hierarchy on the bundled digits: benchmark table, receptive fields, stability.

    The models and protocols are those of ``htmkit bench vision --dataset digits`` (same
    split, same seeded test images; few-shot runs left out); ``quick`` shortens the CNN.
    """
    from rich.console import Console

    from ..bench.vision import (
        ModelContext,
        ModelUnavailableError,
        load_bench_data,
        make_model,
        plot_report,
        render_table,
    )
    from ..bench.vision_protocols import make_protocols, protocol_specs
    from ..vision.plots import movie_stability, plot_receptive_fields, plot_stability

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    xtr, ytr, xte, yte = load_bench_data("digits", seed=seed)
    shape = (int(xtr.shape[1]), int(xtr.shape[2]))
    specs = protocol_specs(shape)
    tests = make_protocols(xte, seed)
    ctx = ModelContext("digits", seed, bool(quick), shape, len(xtr))
    results: dict[str, Any] = {}
    hierarchy = None
    t_all = time.perf_counter()
    for name in ("raw-knn", "raw-linear", "sp", "hierarchy", "cnn"):
        try:
            model = make_model(name, ctx)
        except ModelUnavailableError as exc:
            results[name] = {"skipped": str(exc), "accuracy": {}}
            echo(f"  {name}: skipped ({exc})")
            continue
        t0 = time.perf_counter()
        model.fit(xtr, ytr)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        acc = {sp.name: float(np.mean(model.predict(tests[sp.name]) == yte)) for sp in specs}
        results[name] = {"accuracy": acc, "train_time_s": train_s,
                         "test_time_s": time.perf_counter() - t0}
        if name == "hierarchy":
            hierarchy = cast(Any, model).hierarchy
    report = {
        "dataset": "digits", "image_shape": list(shape), "n_train": len(xtr),
        "n_test": len(xte), "seed": seed, "quick": bool(quick),
        "protocols": [{"name": s.name, "kind": s.kind, "param": s.param} for s in specs],
        "models": results,
    }
    buf = io.StringIO()
    render_table(report, Console(file=buf, width=110))
    for line in buf.getvalue().splitlines():
        echo("  " + line)
    plots = plot_report(report, out_dir)
    bench_s = time.perf_counter() - t_all
    assert hierarchy is not None
    rf_png = plot_receptive_fields(hierarchy, out_dir / "vision_receptive_fields.png")
    n = 40 if quick else 80
    stab = movie_stability(hierarchy, xte[:n], yte[:n])
    st_png = plot_stability(stab, out_dir / "vision_stability.png")
    echo("  stability (mean Jaccard of consecutive steps of a movie; last: pooled level 2 of "
         "different digits): " + ", ".join(f"{k} {v:.2f}" for k, v in stab.items()))
    echo(f"  models trained and tested in {bench_s:.0f} s; hierarchy "
         f"{hierarchy.timing['transform_ms_per_image']:.1f} ms/image; pictures: "
         + ", ".join(p.name for p in [*plots, rf_png, st_png]))
    return {"accuracy": {m: e["accuracy"] for m, e in results.items()}, "stability": stab,
            "seconds": bench_s, "pictures": [str(p) for p in [*plots, rf_png, st_png]]}


def run_demo(out_dir: Path, seed: int = 0, quick: bool = False,
             echo: Printer = print) -> dict[str, Any]:
    """Run every part of the demo; returns the measured figures."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    t0 = time.perf_counter()
    echo("[1/4] Spatial Pooler on a built-in signal")
    results["sp_signal"] = sp_signal_demo(seed, steps=400 if quick else 1500, echo=echo)
    echo("[2/4] Spatial Pooler with topology on the bundled 8x8 digits (upsampled to 16x16)")
    results["sp_digits"] = sp_digits_demo(out_dir, seed, epochs=1 if quick else 2, echo=echo)
    echo("[3/4] Streaming model on the built-in example stream")
    results["streaming"] = streaming_demo(out_dir, seed, echo=echo)
    echo("[4/4] Vision hierarchy on the bundled 8x8 digits (raw / SP / hierarchy / CNN)")
    results["vision"] = vision_demo(out_dir, seed, quick=quick, echo=echo)
    echo(f"done in {time.perf_counter() - t0:.0f} s; pictures in {out_dir}/")
    return results
