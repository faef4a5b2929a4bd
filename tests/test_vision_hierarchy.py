"""The vision hierarchy (htmkit.vision.hierarchy): movies in, pooled SDRs and labels out."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from htmkit.bench.vision_models import bench_params
from htmkit.datasets import load_digits_dataset
from htmkit.errors import InputError, ParameterError
from htmkit.vision.hierarchy import (
    HierarchyParams,
    VisionHierarchy,
    fixate,
    fixation_offsets,
    movie_offsets,
    movie_views,
)


def _hp(**kw):
    """HierarchyParams from the flat names of the first release, as old saved models hold them."""
    return HierarchyParams.from_dict(kw)


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    a, b = set(np.asarray(a).tolist()), set(np.asarray(b).tolist())
    return len(a & b) / max(len(a | b), 1)


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits_dataset()
    return x, y


#: a small hierarchy (16x16 retina) that trains on 700 digits in a few seconds
SMALL = dict(image_shape=(8, 8), upsample=2, l1_grid=(8, 8), l1_depth=12, l1_radius=3,
             l1_density=0.12, l1_stimulus=3, l2_grid=(4, 4), l2_depth=16, l2_radius=2,
             l2_density=0.05, pooling="count", boost_strength=2.0, n_learn=400, seed=0)


@pytest.fixture(scope="module")
def trained(digits):
    x, y = digits
    h = VisionHierarchy(_hp(**SMALL))
    h.fit(x[:700], y[:700])
    return h


# ----------------------------------------------------------------------------- movies
@pytest.mark.parametrize("mode", ["spiral", "jitter", "sweeps", "saccades"])
def test_movie_offsets_shapes_and_range(mode):
    off = movie_offsets(mode, n_views=6, step=1, seed=3)
    assert off.ndim == 2 and off.shape[1] == 2
    assert len(off) == (9 if mode == "spiral" else 6)
    assert np.abs(off).max() <= 1
    assert np.array_equal(off, movie_offsets(mode, n_views=6, step=1, seed=3))
    if mode == "spiral":
        assert tuple(off[0]) == (0, 0)
        assert len({tuple(o) for o in off}) == 9
        assert np.all(np.abs(np.diff(off, axis=0)).max(axis=1) == 1)  # moves by one pixel


def test_movie_views_match_translation():
    img = np.zeros((1, 5, 5), np.uint8)
    img[0, 2, 2] = 1
    v = movie_views(img, np.array([[0, 0], [1, -1], [-2, 0]]))
    assert v.shape == (1, 3, 5, 5)
    assert v[0, 0, 2, 2] == 1 and v[0, 1, 3, 1] == 1 and v[0, 2, 0, 2] == 1
    assert v.sum() == 3


def test_fixate_centres_the_ink():
    img = np.zeros((2, 9, 9), np.uint8)
    img[0, 0:2, 0:2] = 1  # top-left blob -> centre
    out = fixate(img)
    ys, xs = np.nonzero(out[0])
    assert abs(ys.mean() - 4) <= 0.5 and abs(xs.mean() - 4) <= 0.5
    assert out[1].sum() == 0  # empty image unchanged


def test_eye_movies_feed_the_hierarchy(digits):
    x, _ = digits
    h = VisionHierarchy(bench_params("hierarchy", (8, 8), seed=0))
    T = len(h.offsets)
    views = h.views(x[:4])
    assert views.shape == (4, T, *h.params.retina_shape) and views.dtype == np.uint8
    assert h.params.retina_shape == (24, 24)  # the 8x8 digits are zoomed 3x
    tr = h.run_movie(x[0])
    assert len(tr["a1"]) == T
    window = h.params.level1.window
    assert len(tr["a2"]) == T - window + 1 == len(tr["p1"])
    assert all(0 < len(a) <= h.n_l1 for a in tr["a1"])
    assert tr["pool1"].shape == (h.n_l1,) and tr["pool2"].shape == (h.n_l2,)
    feats = h.transform(x[:4])
    assert feats.shape == (4, h.n_features) and feats.dtype == np.float32
    assert h.timing["transform_ms_per_image"] > 0
    # a movie of random eye movements (an Eye's sweeps) feeds it the same way
    hs = VisionHierarchy(_hp(image_shape=(8, 8), movie="sweeps", n_views=5,
                                         l1_grid=(8, 8), l1_depth=4, l1_radius=2,
                                         l2_grid=(4, 4), l2_depth=8))
    assert hs.views(x[:2]).shape == (2, 5, 8, 8)
    assert hs.transform(x[:2]).shape == (2, hs.n_features)


def test_bad_inputs_and_params():
    with pytest.raises(ParameterError):
        _hp(image_shape=(8, 8), movie="blink")
    with pytest.raises(ParameterError):
        _hp(image_shape=(8, 8), levels=3)
    with pytest.raises(ParameterError):
        _hp(image_shape=(8, 8), movie="jitter", step=0)
    h = VisionHierarchy(_hp(**{**SMALL, "levels": 1, "step": 0}))
    with pytest.raises(InputError):
        h.transform(np.zeros((2, 9, 9), np.uint8))
    with pytest.raises(InputError):
        h.predict(np.zeros((2, 8, 8), np.uint8))


# ----------------------------------------------------------------------------- pooling
def test_pooled_representation_stable_within_movie_distinct_across_images(trained, digits):
    x, y = digits
    h = trained
    test = np.arange(1000, 1060)
    within_pooled, within_raw = [], []
    pooled = {}
    for i in test:
        tr = h.run_movie(x[i])
        # consecutive level-2 inputs (level-1 unions over a window of views) vs raw level 1
        within_pooled += [_jaccard(a, b) for a, b in zip(tr["p1"], tr["p1"][1:], strict=False)]
        within_raw += [_jaccard(a, b) for a, b in zip(tr["a1"], tr["a1"][1:], strict=False)]
        pooled[i] = np.flatnonzero(tr["pool2"] >= 0.5)  # active in at least half the steps
    across = [
        _jaccard(pooled[i], pooled[j]) for i in test for j in test if i < j and y[i] != y[j]
    ]
    s_within, s_raw, s_across = np.mean(within_pooled), np.mean(within_raw), np.mean(across)
    assert s_within > s_raw  # pooling over views is more stable than the views themselves
    assert s_within > 0.5
    assert s_across < s_within - 0.2  # and different images stay different


# ----------------------------------------------------------------------------- end to end
def test_end_to_end_digits_above_chance(trained, digits):
    x, y = digits
    pred = trained.predict(x[1000:1300])
    acc = float(np.mean(pred == y[1000:1300]))
    assert acc > 0.6, acc  # chance is 0.1


def test_single_level_sp_model(digits):
    x, y = digits
    assert bench_params("sp", (8, 8)).levels == 1
    h = VisionHierarchy(_hp(**{**SMALL, "levels": 1, "step": 0}))
    assert len(h.offsets) == 1 and h.sp2 is None
    h.fit(x[:600], y[:600])
    acc = float(np.mean(h.predict(x[1000:1200]) == y[1000:1200]))
    assert acc > 0.6, acc


def test_save_load_bit_identical(trained, digits, tmp_path):
    x, _ = digits
    path = trained.save(tmp_path / "hier.htm")
    back = VisionHierarchy.load(path)
    # saving the loaded copy gives the same arrays again
    path2 = back.save(tmp_path / "hier2.htm")
    with np.load(path) as f1, np.load(path2) as f2:
        keys = [k for k in f1.files if k != "__manifest__"]
        assert keys and all(np.array_equal(f1[k], f2[k]) for k in keys)
    a, b = trained.transform(x[1400:1450]), back.transform(x[1400:1450])
    assert np.array_equal(a, b)
    assert np.array_equal(trained.predict(x[1400:1450]), back.predict(x[1400:1450]))
    assert np.array_equal(trained.readout.W, back.readout.W)
    s1, s2 = trained.sp1.get_state(), back.sp1.get_state()
    assert np.array_equal(s1["boost_factors"], s2["boost_factors"])


def test_network_view_matches_fast_path(trained, digits):
    from htmkit.vision.hierarchy import build_network

    x, _ = digits
    net = build_network(trained)
    views = trained.views(x[1500:1501])[0]
    tr = trained.run_movie(x[1500])
    from htmkit.sdr import SDR

    pooled = SDR.from_dense(np.isin(np.arange(trained.n_l1), tr["p1"][0]).reshape(
        trained.sp1.column_dimensions).astype(np.uint8))
    out = net.run({"retina": views[0].ravel(), "level1_pooled": pooled}, learn=False)
    assert np.array_equal(np.sort(out["level1"].indices), np.sort(tr["a1"][0]))
    assert np.array_equal(np.sort(out["level2"].indices), np.sort(tr["a2"][0]))
    assert "level2" in net.summary()


def test_fractional_level1_network_view_and_save_load(digits, tmp_path):
    from htmkit.sdr import SDR
    from htmkit.vision.hierarchy import build_network

    assert bench_params("hierarchy", (28, 28)).level1.min_fraction == 0.4
    mnist_sp = bench_params("sp", (28, 28))
    assert (mnist_sp.level1.min_fraction, mnist_sp.level1.density) == (0.3, 0.08)
    digits_h = bench_params("hierarchy", (8, 8))
    assert (digits_h.level1.min_fraction, digits_h.level1.density) == (0.3, 0.15)
    assert bench_params("sp", (8, 8)).level1.min_fraction is None
    x, y = digits
    h = VisionHierarchy(_hp(**{**SMALL, "n_learn": 200, "l1_min_fraction": 0.3}))
    assert h.sp1.params.inference_min_fraction == 0.3
    h.fit(x[:300], y[:300])
    tr = h.run_movie(x[1500])
    views = h.views(x[1500:1501])[0]
    pooled = SDR.from_dense(np.isin(np.arange(h.n_l1), tr["p1"][0]).reshape(
        h.sp1.column_dimensions).astype(np.uint8))
    out = build_network(h).run({"retina": views[0].ravel(), "level1_pooled": pooled},
                               learn=False)
    assert np.array_equal(np.sort(out["level1"].indices), np.sort(tr["a1"][0]))
    # the fast path's level-1 step is the SP's own (fractional) inference
    plain = h.sp1.compute(SDR._trusted(h.params.retina_shape,
                                       np.flatnonzero(views[0]).astype(np.int32)), learn=False)
    assert plain.indices.tolist() == sorted(tr["a1"][0].tolist())
    back = VisionHierarchy.load(h.save(tmp_path / "frac.htm"))
    assert np.array_equal(back.transform(x[1000:1010]), h.transform(x[1000:1010]))


# ----------------------------------------------------------------------------- bench
def test_bench_registry_builds_htm_models():
    from htmkit.bench.vision import ModelContext, available_models, make_model

    assert {"sp", "hierarchy", "hierarchy-fixate", "hierarchy-eye"} <= set(available_models())
    ctx = ModelContext("digits", 0, True, (8, 8), 100)
    assert make_model("sp", ctx).name == "sp"
    m = make_model("hierarchy-fixate", ctx)
    assert m.name == "hierarchy-fixate" and m.hierarchy.params.eye.fixate
    eye = make_model("hierarchy-eye", ModelContext("digits", 0, True, (8, 8), 100, jobs=2))
    assert eye.hierarchy.params.eye.test_fixations == "cross" and eye.hierarchy.n_jobs == 2
    # MNIST-sized images: spatial dropout for "hierarchy", reading by parts for "-parts"
    big = ModelContext("mnist", 0, True, (28, 28), 100)
    assert make_model("hierarchy", big).hierarchy.params.readout.dropout == 0.5
    assert make_model("hierarchy", ctx).hierarchy.params.readout.dropout == 0.0
    parts = make_model("hierarchy-parts", big).hierarchy.params
    assert (parts.readout.dropout, parts.readout.test_ignore, parts.level2.grid) == (0.7, 4, (7, 7))
    parts_small = make_model("hierarchy-parts", ctx).hierarchy.params
    assert parts_small.readout.test_ignore == 3  # 6x6 grid


@pytest.mark.slow
def test_mnist_subset_runs():
    from htmkit.datasets import default_mnist_dir, load_mnist

    try:
        x, y = load_mnist(default_mnist_dir(), "train", 400)
    except Exception as exc:  # noqa: BLE001 - any missing/corrupt data set skips
        pytest.skip(f"MNIST not available ({exc})")
    h = VisionHierarchy(_hp(image_shape=(28, 28), levels=1, step=0, l1_depth=8,
                                        pooling="count", n_learn=0))
    h.fit(x[:300], y[:300])
    acc = float(np.mean(h.predict(x[300:400]) == y[300:400]))
    assert acc > 0.5, acc


def test_cnn_comparison_runs_when_torch_installed(digits):
    if importlib.util.find_spec("torch") is None:
        pytest.skip("PyTorch is not installed: the CNN comparison is skipped")
    from htmkit.bench.vision import ModelContext, make_model

    x, y = digits
    cnn = make_model("cnn", ModelContext("digits", 0, True, (8, 8), 300))
    cnn.min_steps = 50 if hasattr(cnn, "min_steps") else None
    cnn.fit(x[:300], y[:300])
    assert cnn.predict(x[1000:1010]).shape == (10,)


@pytest.mark.parametrize("readout", ["predictor", "knn"])
def test_other_readouts(readout, digits, tmp_path):
    x, y = digits
    h = VisionHierarchy(_hp(**{**SMALL, "levels": 1, "step": 0,
                                           "readout": readout}))
    h.fit(x[:500], y[:500])
    pred = h.predict(x[1000:1200])
    assert float(np.mean(pred == y[1000:1200])) > 0.5
    back = VisionHierarchy.load(h.save(tmp_path / "h.htm"))
    assert np.array_equal(back.predict(x[1000:1200]), pred)


def test_train_saccades_features_and_errors(digits):
    from htmkit.vision.transforms import translate

    x, y = digits
    h = VisionHierarchy(_hp(**{**SMALL, "n_learn": 150, "train_saccades": 2}))
    h.learn_unsupervised(x[:150])
    base = h.offsets.copy()
    imgs, labs = x[:40], y[:40]
    centred = h.transform(imgs)
    feats, labels = h._saccade_features(imgs, labs, centred)
    assert feats.shape == (120, h.n_features) and np.array_equal(labels, np.tile(labs, 3))
    assert np.array_equal(feats[:40], centred) and np.array_equal(h.offsets, base)
    again, _ = h._saccade_features(imgs, labs, centred)
    assert np.array_equal(again, feats)  # seeded
    # row i of an extra block is image i's movie with every view displaced by its own shift
    rng = np.random.default_rng([SMALL["seed"], 7])
    shifts = rng.choice(np.array([-1, 0, 1]), size=(40, 2))
    binary = h.encode(imgs)
    direct = np.stack([h._run(movie_views(binary[i : i + 1], base + shifts[i])[0], False,
                              False)[0] for i in range(40)])
    assert np.array_equal(feats[40:80, h.n_l2:], direct)
    assert not np.array_equal(feats[40:80], centred)
    # for a digit away from the border, adding s to the offsets is moving the image by s
    small = np.zeros((1, 8, 8), np.uint8)
    small[0, 3:5, 3:5] = 255
    b = h.encode(small)
    assert np.array_equal(movie_views(b, base + np.array([1, -1]))[0],
                          movie_views(translate(b, np.array([[1, -1]])), base)[0])
    with pytest.raises(ParameterError, match="train_saccades"):
        _hp(train_saccades=-1)


def test_cnn_shift_copies_errors():
    from htmkit.bench.cnn import CNNClassifier

    with pytest.raises(ParameterError, match="shift"):
        CNNClassifier(shift_copies=-1)


def test_forked_transform_gives_the_serial_features(trained, digits):
    x, _ = digits
    imgs = x[700:1300]  # 600 images: enough to share out to 2 processes
    serial = trained.transform(imgs)
    forked = VisionHierarchy.from_state(trained.get_state())
    forked.n_jobs = 2
    assert forked._jobs_for(len(imgs)) == 2
    assert np.array_equal(forked.transform(imgs), serial)
    assert forked._jobs_for(100) == 1  # small batches stay in one process
    with pytest.raises(InputError):
        forked.transform(np.zeros((600, 5, 5), np.uint8))
    with pytest.raises(ParameterError, match="n_jobs"):
        VisionHierarchy(_hp(**SMALL), n_jobs=0)


@pytest.mark.slow
def test_test_fixations_average_the_readout_over_fixation_points(digits):
    x, y = digits
    assert fixation_offsets("centre", 2).tolist() == [[0, 0]]
    cross = fixation_offsets("cross", 2)
    assert cross.shape == (5, 2) and cross[0].tolist() == [0, 0]
    assert sorted(map(tuple, cross[1:].tolist())) == [(-2, 0), (0, -2), (0, 2), (2, 0)]
    ring = fixation_offsets("ring", 1)
    assert ring.shape == (9, 2) and len({tuple(r) for r in ring.tolist()}) == 9
    h = VisionHierarchy(_hp(**{**SMALL, "n_learn": 150, "train_saccades": 1,
                                           "test_fixations": "cross"}))
    h.fit(x[:300], y[:300])
    imgs = x[300:400]
    prob = sum(h.readout.predict_proba(h.transform(imgs, None if not s.any() else s))
               for s in fixation_offsets("cross", 1))
    pred = h.predict(imgs)
    assert np.array_equal(pred, h.readout.classes_[np.argmax(prob, axis=1)])
    assert np.mean(pred == y[300:400]) > 0.5
    with pytest.raises(ParameterError, match="test_fixations"):
        _hp(test_fixations="spiral")
    with pytest.raises(ParameterError, match="readout"):
        _hp(test_fixations="cross", readout="knn")


@pytest.mark.slow
def test_readout_dropout_patches_and_errors(digits, tmp_path):
    x, y = digits
    h = VisionHierarchy(_hp(**{**SMALL, "n_learn": 150, "readout_dropout": 0.5}))
    g = h.feature_patches()
    # level 2 (4x4 grid, depth 16) first, then level 1 (8x8 grid, depth 12)
    assert g.shape == (h.n_features,) and g.max() == 15
    assert np.array_equal(g[: h.n_l2], np.repeat(np.arange(16), 16))
    l1 = g[h.n_l2 :].reshape(8, 8, 12)
    assert (l1 == l1[:, :, :1]).all()  # a grid position's mini-columns share their patch
    # level-1 position (r, c) lies under level-2 position (r // 2, c // 2)
    rr, cc = np.mgrid[0:8, 0:8]
    assert np.array_equal(l1[:, :, 0], (rr // 2) * 4 + cc // 2)
    top = VisionHierarchy(_hp(**{**SMALL, "features": "top"})).feature_patches()
    assert np.array_equal(top, g[: h.n_l2])
    one = VisionHierarchy(_hp(**{**SMALL, "levels": 1, "step": 0})).feature_patches()
    assert np.array_equal(one, np.repeat(np.arange(64), 12))
    h.fit(x[:300], y[:300])
    assert h.readout.dropout == 0.5 and np.array_equal(h.readout.dropout_groups, g)
    assert np.mean(h.predict(x[300:500]) == y[300:500]) > 0.5
    back = VisionHierarchy.load(h.save(tmp_path / "drop.htm"))
    assert back.params.readout.dropout == 0.5
    assert np.array_equal(back.predict(x[300:400]), h.predict(x[300:400]))
    with pytest.raises(ParameterError, match="dropout"):
        _hp(readout_dropout=1.0)
    with pytest.raises(ParameterError, match="dropout"):
        _hp(readout_dropout=0.3, readout="knn")


@pytest.mark.slow
def test_test_ignore_averages_readings_that_each_ignore_a_block(digits):
    x, y = digits
    h = VisionHierarchy(_hp(**{**SMALL, "n_learn": 150, "readout_dropout": 0.5,
                                           "test_ignore": 2}))
    h.fit(x[:300], y[:300])
    imgs = x[300:400]
    feats = h.transform(imgs)
    patch = h.feature_patches()  # 4x4 level-2 grid: patch = row * 4 + col
    prob = np.zeros((len(imgs), h.readout.classes_.size))
    for r in range(3):
        for c in range(3):
            block = [(r + i) * 4 + (c + j) for i in range(2) for j in range(2)]
            prob += h.readout.predict_proba(feats * ~np.isin(patch, block))
    prob /= 9
    assert np.allclose(h.readout_proba(feats), prob, atol=1e-5)
    assert np.array_equal(h.predict(imgs), h.readout.classes_[np.argmax(prob, axis=1)])
    assert np.mean(h.predict(imgs) == y[300:400]) > 0.5
    with pytest.raises(InputError, match="features"):
        h.readout_proba(feats[:, :10])
    with pytest.raises(ParameterError, match="test_ignore"):
        _hp(**{**SMALL, "test_ignore": 4})  # the 4x4 grid has no smaller block
    with pytest.raises(ParameterError, match="test_ignore"):
        _hp(**{**SMALL, "test_ignore": 1.5})
    with pytest.raises(ParameterError, match="test_ignore"):
        _hp(**{**SMALL, "test_ignore": 1, "readout": "knn"})


@pytest.mark.slow
def test_bench_plots_receptive_fields_and_stability_of_hierarchy_models(tmp_path):
    import io
    import json

    from rich.console import Console

    from htmkit.bench import vision as V
    from htmkit.bench.vision_models import HTMVisionModel

    small = {**SMALL, "n_learn": 100}
    V.register_model("test-small-hierarchy",
                     lambda ctx: HTMVisionModel("test-small-hierarchy", _hp(**small)),
                     replace=True)
    rep = V.run_vision_bench("digits", models=["raw-linear", "test-small-hierarchy"],
                             json_path=tmp_path / "r.json", plots_dir=tmp_path / "p",
                             few_shot=(), console=Console(file=io.StringIO(), width=120))
    stem = tmp_path / "p" / "vision_digits_test-small-hierarchy"
    assert Path(f"{stem}_receptive_fields.png").stat().st_size > 1000
    assert Path(f"{stem}_stability.png").stat().st_size > 1000
    assert not (tmp_path / "p" / "vision_digits_raw-linear_stability.png").exists()
    stab = json.loads((tmp_path / "r.json").read_text())["models"]["test-small-hierarchy"][
        "stability"]
    assert stab == rep["models"]["test-small-hierarchy"]["stability"]
    # pooling makes the representation steadier over a movie than single views
    assert stab["level-1 union window"] > stab["level 1 (per view)"]


def test_nested_params_dicts_and_flat_names():
    from htmkit.vision.hierarchy import EyeParams, LevelParams, ReadoutParams

    nested = HierarchyParams(eye=EyeParams(image_shape=(8, 8), upsample=2),
                             level1=LevelParams(grid=(8, 8), depth=12, radius=3, density=0.12,
                                                stimulus=3),
                             level2={"grid": (4, 4), "depth": 16, "radius": 2, "density": 0.05},
                             synapses={"boost_strength": 2.0}, pooling="count", n_learn=400,
                             seed=0)
    assert nested == _hp(**SMALL)                       # the flat names of the first release
    d = nested.to_dict()
    assert d["eye"]["image_shape"] == [8, 8] and d["level2"]["depth"] == 16
    assert HierarchyParams.from_dict(d) == nested       # YAML-like nested dict round trip
    assert nested.replace(readout={"dropout": 0.5}).readout == ReadoutParams(dropout=0.5)
    with pytest.raises(ParameterError, match="eye: unknown"):
        HierarchyParams(eye={"colour": 1})
    with pytest.raises(ParameterError, match="unknown HierarchyParams parameter 'bogus'"):
        HierarchyParams.from_dict({"bogus": 1})
    with pytest.raises(ParameterError, match="depth"):
        HierarchyParams(level1={"depth": 0})
