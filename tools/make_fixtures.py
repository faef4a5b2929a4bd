"""Write the saved-file fixtures of ``tests/fixtures/<tag>/`` and their expected outputs.

The fixtures in ``tests/fixtures/v0_1_0/`` were written by this script at commit ``4e2415b``
(htmkit 0.1.0, numba 0.68.1, numpy as installed then), before per-class state versions
existed. They must keep loading in every later htmkit: ``tests/test_fixtures.py`` loads each
file and checks that feeding it the stream below gives exactly the recorded outputs.

For each persistable class the script builds a small object with a fixed seed, teaches it
for a few steps (:func:`build`), saves it, then feeds it a fixed stream of further inputs and
records the outputs that follow from its state (:data:`FEEDERS`): active cell indices,
predicted cells, anomaly scores, likelihoods, class probabilities. ``expected.json`` maps each
fixture's file name to its class and those outputs.

Do not re-run this script to refresh the ``v0_1_0`` files: they are the record of what that
release wrote. Run it (at the commit named above) only to write a new tag::

    PYTHONPATH=src python tools/make_fixtures.py --out tests/fixtures/<tag>

The feeders use keyword arguments and the objects' properties (not ``compute``'s return value)
so that they read the same in the code of later releases.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

#: how many further steps are fed to each loaded object
N_STEPS = 12


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _sdr(shape: tuple[int, ...], indices: Any) -> Any:
    from htmkit.sdr import SDR

    dense = np.zeros(int(np.prod(shape)), dtype=np.uint8)
    dense[np.asarray(indices, dtype=np.int64)] = 1
    return SDR.from_dense(dense.reshape(shape))


def _random_sdrs(seed: int, shape: tuple[int, ...], n: int, active: int) -> list[Any]:
    rng = _rng(seed)
    size = int(np.prod(shape))
    return [_sdr(shape, rng.choice(size, active, replace=False)) for _ in range(n)]


def _ind(sdr: Any) -> list[int]:
    return [int(i) for i in np.sort(np.asarray(sdr.indices).ravel())]


def _f(x: Any) -> Any:
    """A float as JSON can hold it exactly (repr round trip; NaN/inf as strings)."""
    x = float(x)
    return repr(x) if not math.isfinite(x) else x


# ----------------------------------------------------------------------------- streams
#: a repeating sequence of column SDRs (so that the memories learn to predict)
TM_COLUMNS = 64


def tm_sequence(seed: int = 5, n_patterns: int = 6) -> list[Any]:
    return _random_sdrs(seed, (TM_COLUMNS,), n_patterns, 6)


def _values(n: int, seed: int = 9) -> list[float]:
    rng = _rng(seed)
    t = np.arange(n)
    return [float(v) for v in 50 + 30 * np.sin(t / 8.0) + rng.normal(0, 2, n)]


def _stamps(n: int, start: int = 0) -> list[str]:
    base = np.datetime64("2026-01-05T00:00")
    return [str(base + np.timedelta64(15 * (start + i), "m")).replace("T", " ")
            for i in range(n)]


def _digits() -> np.ndarray:
    from htmkit.datasets import load_digits_dataset

    return load_digits_dataset()


# ----------------------------------------------------------------------------- builders
def build(name: str) -> Any:
    """The object of fixture ``name``, built and taught with today's code."""
    if name == "scalar_encoder":
        from htmkit.encoders import ScalarEncoder

        return ScalarEncoder(minimum=0, maximum=100, size=60, active_bits=7, clip=True)
    if name == "rdse":
        from htmkit.encoders import RDSE

        return RDSE(size=100, active_bits=9, resolution=0.5, seed=3)
    if name == "date_encoder":
        from htmkit.encoders import DateEncoder

        return DateEncoder(time_of_day_width=11, time_of_day_radius=4.0, weekend_width=5,
                           day_of_week_width=5)
    if name == "category_encoder":
        from htmkit.encoders import CategoryEncoder

        enc = CategoryEncoder(active_bits=4, grow=True, max_categories=6)
        for c in ["red", "green", "blue"]:
            enc.encode(c)
        return enc
    if name == "multi_encoder":
        from htmkit.encoders import RDSE, CategoryEncoder, MultiEncoder

        return MultiEncoder({"x": RDSE(size=60, active_bits=5, resolution=1.0, seed=1),
                             "c": CategoryEncoder(categories=["a", "b", "c"], active_bits=3)})
    if name == "image_encoder":
        from htmkit.encoders import ImageEncoder

        return ImageEncoder(image_shape=(8, 8), threshold=0.4, edges=True)
    if name == "spatial_pooler":
        from htmkit.spatial_pooler import SpatialPooler

        sp = SpatialPooler(input_dimensions=[100], column_dimensions=[64], potential_radius=100,
                           potential_pct=0.5, global_inhibition=True,
                           num_active_columns_per_inh_area=5, boost_strength=1.0, seed=7)
        for x in _random_sdrs(11, (100,), 40, 12):
            sp.compute(x, learn=True)
        return sp
    if name == "temporal_memory":
        from htmkit.temporal_memory import TemporalMemory

        tm = TemporalMemory(column_dimensions=[TM_COLUMNS], cells_per_column=4,
                            activation_threshold=3, min_threshold=2, max_new_synapse_count=5,
                            initial_permanence=0.3, connected_permanence=0.4,
                            external_apical_size=32, seed=4)
        seq, ap = tm_sequence(), _random_sdrs(21, (32,), 6, 4)
        for _ in range(8):
            for x, a in zip(seq, ap, strict=True):
                tm.compute(x, learn=True, external_apical=a)
            tm.reset()
        for x, a in zip(seq[:3], ap[:3], strict=True):
            tm.compute(x, learn=True, external_apical=a)
        return tm
    if name == "backtracking_tm":
        from htmkit.backtracking_tm import BacktrackingTemporalMemory

        tm = BacktrackingTemporalMemory(column_dimensions=[TM_COLUMNS], cells_per_column=4,
                                        activation_threshold=3, min_threshold=2,
                                        max_new_synapse_count=5, seed=4)
        seq = tm_sequence()
        for _ in range(8):
            for x in seq:
                tm.compute(x, learn=True)
        for x in seq[:3]:
            tm.compute(x, learn=True)
        return tm
    if name == "temporal_pooler":
        from htmkit.temporal_pooler import TemporalPooler

        tp = TemporalPooler(input_size=256, column_dimensions=[48], active_sparsity=0.1,
                            winner_sparsity=0.05, potential_pct=0.3, seed=2)
        act, pred = _random_sdrs(31, (256,), 30, 16), _random_sdrs(32, (256,), 30, 8)
        for a, p in zip(act, pred, strict=True):
            tp.compute(a, predicted_active_cells=p, learn=True)
        return tp
    if name == "predictor":
        from htmkit.predictor import Predictor

        pr = Predictor(steps=(0, 1), alpha=0.1)
        for i, x in enumerate(_random_sdrs(41, (80,), 20, 8)):
            pr.learn(x, i % 4)
        return pr
    if name == "scalar_predictor":
        from htmkit.predictor import ScalarPredictor

        pr = ScalarPredictor(steps=(1,), resolution=2.0, alpha=0.1)
        for x, v in zip(_random_sdrs(42, (80,), 20, 8), _values(20), strict=True):
            pr.learn(x, v)
        return pr
    if name == "anomaly_likelihood":
        from htmkit.anomaly import AnomalyLikelihood

        lk = AnomalyLikelihood(learning_period=20, estimation_samples=30,
                               reestimation_period=10, historic_window_size=100)
        rng = _rng(51)
        for v, ts in zip(_values(80), _stamps(80), strict=True):
            lk.update(float(rng.random() ** 3), v, ts)
        return lk
    if name in ("htm_model", "htm_model_backtracking"):
        from htmkit.model import HTMModel

        cfg: dict[str, Any] = {
            "value": {"encoder": {"size": 120, "active_bits": 9, "minimum": 0,
                                  "maximum": 100}},
            "timestamp": {"encoder": {"time_of_day_width": 9}},
            "sp": {"column_dimensions": [128], "num_active_columns_per_inh_area": 8},
            "tm": {"cells_per_column": 4, "activation_threshold": 4, "min_threshold": 3,
                   "max_new_synapse_count": 6},
            "likelihood": {"learning_period": 30, "estimation_samples": 30,
                           "reestimation_period": 20},
            "seed": 3,
        }
        if name == "htm_model_backtracking":
            cfg["tm"] = {"implementation": "backtracking", "cells_per_column": 4,
                         "activation_threshold": 4, "min_threshold": 3,
                         "max_new_synapse_count": 6}
        model = HTMModel(cfg)
        for v, ts in zip(_values(120), _stamps(120), strict=True):
            model.run({"value": v, "timestamp": ts})
        return model
    if name == "anomaly_detector":
        from htmkit.detector import AnomalyDetector

        det = AnomalyDetector(probationary_period=200, calibration_records=50, seed=5,
                              likelihood_window=300, config={
                                  "value": {"encoder": {"size": 120, "active_bits": 9}},
                                  "sp": {"column_dimensions": [128],
                                         "num_active_columns_per_inh_area": 8},
                                  "tm": {"cells_per_column": 4, "activation_threshold": 4,
                                         "min_threshold": 3, "max_new_synapse_count": 6}})
        for v, ts in zip(_values(300), _stamps(300), strict=True):
            det.update(ts, v)
        return det
    if name == "network":
        from htmkit.network import Network

        net = Network.from_config(network_config())
        for _ in range(3):
            for i, img in enumerate(network_images()):
                net.run({"eye": img, "clf": i % 2})
            net.reset()
        for i, img in enumerate(network_images()[:2]):
            net.run({"eye": img, "clf": i % 2})
        return net
    if name == "vision_hierarchy":
        from htmkit.vision.hierarchy import HierarchyParams, VisionHierarchy

        x, y = _digits()
        h = VisionHierarchy(HierarchyParams(
            image_shape=(8, 8), upsample=2, l1_grid=(6, 6), l1_depth=8, l1_radius=3,
            l1_density=0.12, l1_stimulus=3, l2_grid=(3, 3), l2_depth=8, l2_radius=2,
            l2_density=0.08, pooling="count", boost_strength=2.0, n_learn=60, seed=0))
        h.fit(x[:120], y[:120])
        return h
    raise KeyError(name)


def network_config() -> dict[str, Any]:
    """Two SP+TM children over the halves of a 6x12 image under an SP+TM parent whose cells
    feed back (apical); a temporal pooler over the children's cells; a classifier on top."""
    regions: dict[str, Any] = {"eye": {"type": "SDRSensor", "params": {"shape": [6, 12]}}}
    links: list[dict[str, Any]] = []
    for i in range(2):
        regions[f"sp{i}"] = {"type": "SpatialPooler", "params": {
            "column_dimensions": [3, 3, 4], "local_area_density": 0.1, "seed": i,
            "potential_radius": 3}}
        regions[f"tm{i}"] = {"type": "TemporalMemory", "params": {
            "cells_per_column": 4, "activation_threshold": 3, "min_threshold": 2,
            "max_new_synapse_count": 6, "seed": i}}
        links += [
            {"source": "eye", "target": f"sp{i}", "crop": [[0, 6], [6 * i, 6 * i + 6]]},
            {"source": f"sp{i}", "target": f"tm{i}"},
            {"source": f"tm{i}", "target": "sp_top", "tile": [1, 2]},
            {"source": f"tm{i}", "target": "tp", "tile": [1, 2]},
            {"source": f"tm{i}", "target": "tp", "kind": "predicted",
             "output": "predicted_active_cells", "tile": [1, 2]},
            {"source": "tm_top", "target": f"tm{i}", "kind": "apical"},
        ]
    regions["sp_top"] = {"type": "SpatialPooler", "params": {
        "column_dimensions": [64], "local_area_density": 0.08}}
    regions["tm_top"] = {"type": "TemporalMemory", "output": "active_cells", "params": {
        "cells_per_column": 2, "activation_threshold": 3, "min_threshold": 2,
        "max_new_synapse_count": 6}}
    regions["tp"] = {"type": "TemporalPooler", "params": {
        "column_dimensions": [64], "active_sparsity": 0.1, "winner_sparsity": 0.05,
        "potential_pct": 0.3}}
    regions["clf"] = {"type": "Classifier", "params": {"max_classes": 2, "steps": [0],
                                                       "alpha": 0.2}}
    links += [{"source": "sp_top", "target": "tm_top"}, {"source": "tp", "target": "clf"}]
    return {"name": "two-level", "regions": regions, "links": links}


def network_images() -> list[Any]:
    from htmkit.sdr import SDR

    rng = _rng(0)
    return [SDR.from_dense(rng.random((6, 12)) < 0.3) for _ in range(4)]


# ----------------------------------------------------------------------------- feeders
def _feed_encoder(values: list[Any]) -> Callable[[Any], list[Any]]:
    return lambda enc: [_ind(enc.encode(v)) for v in values]


def _feed_sp(sp: Any) -> list[Any]:
    out = []
    for i, x in enumerate(_random_sdrs(12, (100,), N_STEPS, 12)):
        learn = i % 4 != 3
        out.append(_ind(sp.compute(x, learn=learn)))
    return out


def _feed_tm(tm: Any) -> list[Any]:
    seq, ap = tm_sequence(), _random_sdrs(21, (32,), 6, 4)
    out = []
    for i in range(N_STEPS):
        j = (i + 3) % len(seq)
        tm.compute(seq[j], learn=True, external_apical=ap[j])
        out.append({"active": _ind(tm.active_cells), "winner": _ind(tm.winner_cells),
                    "predictive": _ind(tm.predictive_cells), "anomaly": _f(tm.anomaly)})
    return out


def _feed_btm(tm: Any) -> list[Any]:
    seq = tm_sequence()
    noise = _random_sdrs(22, (TM_COLUMNS,), N_STEPS, 6)
    out = []
    for i in range(N_STEPS):
        x = noise[i] if i == 7 else seq[(i + 3) % len(seq)]
        tm.compute(x, learn=True)
        out.append({"active": _ind(tm.active_cells), "predictive": _ind(tm.predictive_cells),
                    "anomaly": _f(tm.anomaly)})
    return out


def _feed_tp(tp: Any) -> list[Any]:
    act, pred = _random_sdrs(33, (256,), N_STEPS, 16), _random_sdrs(34, (256,), N_STEPS, 8)
    return [_ind(tp.compute(a, predicted_active_cells=p, learn=True))
            for a, p in zip(act, pred, strict=True)]


def _feed_predictor(pr: Any) -> list[Any]:
    out = []
    for i, x in enumerate(_random_sdrs(43, (80,), N_STEPS, 8)):
        inf = pr.infer(x)
        out.append({str(k): [_f(p) for p in v] for k, v in sorted(inf.items())})
        pr.learn(x, (i * 3) % 5)
    return out


def _feed_scalar_predictor(pr: Any) -> list[Any]:
    out = []
    for x, v in zip(_random_sdrs(44, (80,), N_STEPS, 8), _values(N_STEPS, seed=10), strict=True):
        inf = pr.infer(x)
        out.append({str(k): [_f(p.value), _f(p.confidence)] for k, p in sorted(inf.items())})
        pr.learn(x, v)
    return out


def _feed_likelihood(lk: Any) -> list[Any]:
    rng = _rng(52)
    return [_f(lk.update(float(rng.random() ** 3), v, ts))
            for v, ts in zip(_values(N_STEPS, seed=11), _stamps(N_STEPS, start=80), strict=True)]


def _feed_model(model: Any) -> list[Any]:
    out = []
    for v, ts in zip(_values(N_STEPS, seed=12), _stamps(N_STEPS, start=120), strict=True):
        r = model.run({"value": v, "timestamp": ts})
        out.append({"anomaly_score": _f(r.anomaly_score),
                    "anomaly_likelihood": _f(r.anomaly_likelihood),
                    "predictions": {str(k): _f(p) for k, p in sorted(r.predictions.items())}})
    return out


def _feed_detector(det: Any) -> list[Any]:
    return [_f(det.update(ts, v))
            for v, ts in zip(_values(N_STEPS, seed=13), _stamps(N_STEPS, start=300), strict=True)]


def _feed_network(net: Any) -> list[Any]:
    out = []
    imgs = network_images()
    for img in imgs + imgs[::-1]:
        res = net.run({"eye": img}, learn=True)
        out.append({k: _ind(v) for k, v in sorted(res.items())
                    if hasattr(v, "indices")})
    return out


def _feed_hierarchy(h: Any) -> list[Any]:
    x, _ = _digits()
    feats = np.asarray(h.transform(x[1400:1406]))
    return [{"transform": [_f(v) for v in feats.ravel()],
             "predict": [int(p) for p in np.asarray(h.predict(x[1400:1406]))]}]


#: fixture name -> (class, module of the class, feeder)
FEEDERS: dict[str, tuple[str, str, Callable[[Any], list[Any]]]] = {
    "scalar_encoder": ("ScalarEncoder", "htmkit.encoders",
                       _feed_encoder([0, 3.5, 50, 99.9, 120, -4, None])),
    "rdse": ("RDSE", "htmkit.encoders", _feed_encoder([0, 0.4, 0.6, 10, -300.25, 1e6, None])),
    "date_encoder": ("DateEncoder", "htmkit.encoders",
                     _feed_encoder(_stamps(6, start=3) + ["2026-07-04 23:59", None])),
    "category_encoder": ("CategoryEncoder", "htmkit.encoders",
                         _feed_encoder(["red", "blue", "green", "violet", "red", None])),
    "multi_encoder": ("MultiEncoder", "htmkit.encoders",
                      _feed_encoder([{"x": 1.0, "c": "a"}, {"x": 7.5, "c": "c"},
                                     {"x": -3.0, "c": "b"}])),
    "image_encoder": ("ImageEncoder", "htmkit.encoders",
                      _feed_encoder([np.asarray(_rng(61).random((8, 8))),
                                     np.asarray(_rng(62).random((8, 8)))])),
    "spatial_pooler": ("SpatialPooler", "htmkit.spatial_pooler", _feed_sp),
    "temporal_memory": ("TemporalMemory", "htmkit.temporal_memory", _feed_tm),
    "backtracking_tm": ("BacktrackingTemporalMemory", "htmkit.backtracking_tm", _feed_btm),
    "temporal_pooler": ("TemporalPooler", "htmkit.temporal_pooler", _feed_tp),
    "predictor": ("Predictor", "htmkit.predictor", _feed_predictor),
    "scalar_predictor": ("ScalarPredictor", "htmkit.predictor", _feed_scalar_predictor),
    "anomaly_likelihood": ("AnomalyLikelihood", "htmkit.anomaly", _feed_likelihood),
    "htm_model": ("HTMModel", "htmkit.model", _feed_model),
    "htm_model_backtracking": ("HTMModel", "htmkit.model", _feed_model),
    "anomaly_detector": ("AnomalyDetector", "htmkit.detector", _feed_detector),
    "network": ("Network", "htmkit.network", _feed_network),
    "vision_hierarchy": ("VisionHierarchy", "htmkit.vision.hierarchy", _feed_hierarchy),
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder for the .htm files")
    ap.add_argument("--only", nargs="*", help="fixture names (default: all)")
    args = ap.parse_args(argv)
    import subprocess

    import numba

    import htmkit

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    args.out.mkdir(parents=True, exist_ok=True)
    expected: dict[str, Any] = {"__written_by__": {
        "script": "tools/make_fixtures.py", "commit": commit,
        "htmkit": htmkit.__version__, "numpy": np.__version__, "numba": numba.__version__,
        "n_steps": N_STEPS}}
    for name in args.only or list(FEEDERS):
        cls, _module, feed = FEEDERS[name]
        obj = build(name)
        assert type(obj).__name__ == cls, (name, type(obj).__name__)
        path = args.out / f"{name}.htm"
        obj.save(path)
        outputs = feed(obj)
        again = feed(type(obj).load(path))  # today's code reloads its own file exactly
        assert json.dumps(again) == json.dumps(outputs), name
        expected[name] = {"class": cls, "file": path.name, "outputs": outputs}
        print(f"{name:24s} {path.stat().st_size / 1024:8.1f} KiB")
    (args.out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
