"""htmkit.vision.Hierarchy: the network its spec builds, the eye, save/load, learning."""

from __future__ import annotations

import numpy as np
import pytest

from htmkit.errors import InputError, ParameterError
from htmkit.network import Network
from htmkit.vision.model import EyeRegion, Hierarchy, build_config, load_spec


def _tiny_spec(**changes):
    spec = load_spec("digits")
    spec["levels"][0]["sp"].update(column_dimensions=[64])
    spec["levels"][0]["tm"].update(cells_per_column=2)
    spec["levels"][0]["tp"].update(column_dimensions=[8, 8])
    spec["levels"][1]["sp"].update(column_dimensions=[64], local_area_density=0.1)
    spec["levels"][1]["tm"].update(cells_per_column=2)
    spec["levels"][1]["tp"].update(column_dimensions=[8, 8], active_sparsity=0.1,
                                   winner_sparsity=0.05)
    spec.update(changes)
    return spec


def _blobs(n=24, seed=0):
    """Small synthetic 8x8 images (two random bars each) and labels, without scikit-learn."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 8, 8), np.uint8)
    for im in X:
        for _ in range(2):
            r, c = rng.integers(0, 6, size=2)
            if rng.random() < 0.5:
                im[r, c:c + 3] = 255
            else:
                im[r:r + 3, c] = 255
    return X, rng.integers(0, 10, size=n)


@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn", reason="the digits come from scikit-learn")
    from htmkit.datasets import load_digits_dataset

    X, y = load_digits_dataset()
    p = np.random.default_rng(0).permutation(len(X))
    return X[p], y[p]


def test_preset_config_regions_and_links():
    cfg = build_config(load_spec("digits"))
    types = {nm: rc["type"] for nm, rc in cfg["regions"].items()}
    assert sum(t == "SpatialPooler" for t in types.values()) == 5
    assert sum(t == "TemporalPooler" for t in types.values()) == 5
    kinds = [(lk["source"], lk["target"], lk.get("kind", "feedforward"), lk.get("output"))
             for lk in cfg["links"]]
    assert ("eye", "tm1_01", "basal", "motor") in kinds
    assert ("tp2", "tm1_01", "apical", None) in kinds
    assert sum(k[1] == "readout" for k in kinds) == 5     # readout.inputs: all


@pytest.mark.slow
def test_preset_network_regions_links_shapes_delays():
    model = Hierarchy("digits")
    net = model.network
    types = {nm: r.type_name for nm, r in net.regions.items()}
    assert types["eye"] == "Eye" and types["readout"] == "Classifier"
    assert sorted(nm for nm, t in types.items() if t == "TemporalMemory") == [
        "tm1_00", "tm1_01", "tm1_10", "tm1_11", "tm2"]
    assert net["eye"].output_shapes == {"output": (16, 16), "motor": (2, 7)}
    assert net.input_shape("sp1_01") == (8, 8)
    assert net.input_shape("sp2") == (32, 32)           # 2 x 2 tile of 16 x 16 poolers
    links = {(lk.source, lk.target, lk.kind): lk for lk in net.links}
    assert links[("eye", "sp1_01", "feedforward")].crop == ((0, 8), (8, 16))
    assert links[("eye", "tm1_10", "basal")].output == "motor"
    assert links[("tm1_10", "tp1_10", "predicted")].output == "predicted_active_cells"
    assert links[("tp1_11", "sp2", "feedforward")].position == (1, 1)
    for tm in model.tm_names[:4]:
        assert links[("tp2", tm, "apical")].delay == 1
    assert net.input_shape("tm2", "basal") == (14,)
    assert model.top == ["tp1_00", "tp1_01", "tp1_10", "tp1_11", "tp2"]
    # the YAML round trip gives the same network
    again = Network.from_config(net.to_config())
    assert again.to_config() == net.to_config()
    assert "tp2 -> tm1_00  [apical, delay 1]" in str(model)


@pytest.mark.slow
def test_yaml_file_and_depth_three(tmp_path):
    import yaml

    spec = _tiny_spec()
    spec["eye"]["upsample"] = 2                          # 16 x 16 view: 4 x 4 patches
    spec["levels"][0]["grid"] = [4, 4]
    spec["levels"].insert(1, {**spec["levels"][1], "grid": [2, 2]})
    path = tmp_path / "three.yaml"
    path.write_text(yaml.safe_dump(spec))
    model = Hierarchy(path)
    assert model.levels == 3
    net = model.network
    assert net.input_shape("sp1_00") == (4, 4)
    assert net.input_shape("sp2_00") == (16, 16) and net.input_shape("sp3") == (16, 16)
    assert {lk.target for lk in net.links if lk.source == "tp3" and lk.kind == "apical"} == {
        "tm2_00", "tm2_01", "tm2_10", "tm2_11"}
    model.movie(np.zeros((8, 8), np.uint8), glimpses=2)


def test_bad_specs_are_named():
    with pytest.raises(ParameterError, match="unknown key"):
        load_spec({**load_spec("digits"), "levls": []})
    bad = load_spec("digits")
    bad["levels"][0]["grid"] = [3, 3]
    with pytest.raises(ParameterError, match="grid"):
        build_config(bad)
    with pytest.raises(ParameterError, match="no preset or file"):
        Hierarchy("no-such-preset")
    with pytest.raises(ParameterError, match="policy"):
        EyeRegion((8, 8), policy="sideways")


def test_eye_motor_output_matches_its_movement():
    eye = EyeRegion((8, 8), upsample=1, reach=1, stride=2, policy="random", n_glimpses=9)
    img = np.zeros((8, 8), np.uint8)
    img[2:6, 3] = 255
    net = Network()
    net.add_region("eye", eye)
    offsets, motors = [], []
    for t in range(9):
        net.run({"eye": img if t == 0 else None})
        offsets.append(eye.offset)
        motors.append(net._named_output("eye", "motor"))
        view = eye.output.dense
        dy, dx = eye.offset
        expected = np.roll(np.roll(np.pad(img >= 128, 2), -2 * dy, 0), -2 * dx, 1)[2:10, 2:10]
        assert np.array_equal(view.astype(bool), expected)
    assert offsets[0] == (0, 0) and len(set(offsets)) == 9    # centre first, every position
    assert motors[0].indices.size == 0
    for t in range(1, 9):
        move = np.subtract(offsets[t], offsets[t - 1])
        assert motors[t] == eye.motor_sdr(move)
        dense = motors[t].dense                          # one block of 3 bits per axis
        for axis in (0, 1):
            assert np.flatnonzero(dense[axis])[0] == move[axis] + 2
    with pytest.raises(InputError, match="eye"):
        net.run({"eye": np.zeros((7, 8))})
    with pytest.raises(InputError, match="outside the grid"):
        eye.look_at((2, 0))


def test_save_load_bit_identical_mid_movie(tmp_path):
    X, y = _blobs()
    model = Hierarchy(_tiny_spec(train={"n_learn": 4}), seed=3)
    model.fit(X[:6], y[:6])
    net = model.network
    net.reset()
    net.run({"eye": X[10]})
    net.run({"eye": None})
    path = model.save(tmp_path / "h.htm")
    other = Hierarchy.load(path)
    assert other.network.to_config() == net.to_config()
    for _ in range(3):
        a = net.run({"eye": None, "readout": 1})
        b = other.network.run({"eye": None, "readout": 1})
        assert a == b
        assert np.array_equal(model.readout.inference[0], other.readout.inference[0])
    assert np.array_equal(model.predict(X[20:24]), other.predict(X[20:24]))


@pytest.mark.slow
def test_same_seed_same_model(digits):
    X, y = digits
    a = Hierarchy(_tiny_spec(train={"n_learn": 3}), seed=5).fit(X[:4], y[:4])
    b = Hierarchy(_tiny_spec(train={"n_learn": 3}), seed=5).fit(X[:4], y[:4])
    ea = a.infer(X[30], confidence=2.0)["evidence"]
    eb = b.infer(X[30], confidence=2.0)["evidence"]
    assert np.array_equal(ea, eb)


# ------------------------------------------------------------------ learning (slow tier)
@pytest.fixture(scope="module")
def trained(digits):
    X, y = digits
    spec = load_spec("digits")
    spec["train"]["n_learn"] = 150
    return Hierarchy(spec, seed=0).fit(X[:400], y[:400])


def _overlap(a, b):
    a, b = a.flatten().indices, b.flatten().indices
    return len(np.intersect1d(a, b)) / max(1, min(len(a), len(b)))


@pytest.mark.slow
def test_pooler_is_more_stable_over_a_movie_than_between_images(trained, digits):
    X, _ = digits
    for name in ("tp1_00", "tp2"):
        within, finals = [], []
        for im in X[1400:1420]:
            rec = trained.movie(im, record=[name])["records"][name]
            within += [_overlap(rec[t], rec[t + 1]) for t in range(3, 8)]
            finals.append(rec[-1])
        between = [_overlap(finals[i], finals[j]) for i in range(20) for j in range(i)]
        assert np.mean(within) > np.mean(between) + 0.1, (name, np.mean(within),
                                                           np.mean(between))


@pytest.mark.slow
def test_tm_predicts_the_next_view_above_chance(trained, digits):
    X, _ = digits
    cpc = trained.network["tm1_00"].core.params.cells_per_column
    n_cols = trained.network["tm1_00"].core.params.num_columns
    hits = predicted = active = steps = 0
    for im in X[1400:1440]:
        rec = trained.movie(im, record=["tm1_00.predictive_cells", "tm1_00.columns"])["records"]
        for t in range(8):
            pred = np.unique(rec["tm1_00.predictive_cells"][t].flatten().indices // cpc)
            nxt = rec["tm1_00.columns"][t + 1].flatten().indices
            hits += len(np.intersect1d(pred, nxt))
            predicted += len(pred)
            active += len(nxt)
            steps += 1
    precision = hits / max(predicted, 1)
    chance = active / steps / n_cols
    assert predicted > 0 and precision > 2 * chance, (precision, chance)


@pytest.mark.slow
def test_end_to_end_on_digits_clearly_above_chance(trained, digits):
    X, y = digits
    curve = trained.evidence_curve(X[1400:1600], y[1400:1600])
    assert curve["accuracy"] > 0.3, curve
    assert 1 <= curve["mean_glimpses"] <= 9


def test_network_computes_what_the_hand_wired_loop_computes():
    from htmkit.bench.vision_htm import hand_wired_movie

    X, y = _blobs()
    a = Hierarchy(_tiny_spec(train={"n_learn": 2}), seed=1).fit(X[:3], y[:3])
    b = Hierarchy(_tiny_spec(train={"n_learn": 2}), seed=1).fit(X[:3], y[:3])
    learn = a.unsupervised | {"readout"}
    for im, lab in zip(X[5:7], y[5:7], strict=True):
        hand = hand_wired_movie(b, im, learn=learn, label=int(lab))
        net = a.network
        net.reset()
        for t in range(9):
            out = net.run({"eye": im if t == 0 else None, "readout": int(lab)}, learn=learn)
            assert out == hand[t]


@pytest.mark.slow
def test_hierarchy_pictures(tmp_path, digits):
    pytest.importorskip("matplotlib", reason="the pictures need matplotlib (viz extra)")
    from htmkit.vision.plots import (
        hierarchy_stability,
        plot_hierarchy_fields,
        plot_hierarchy_stability,
        plot_movie_strip,
    )

    X, y = digits
    model = Hierarchy(_tiny_spec(train={"n_learn": 5}), seed=2).fit(X[:6], y[:6])
    stab = hierarchy_stability(model, X[10:14])
    assert set(stab) == {"SP level 1", "SP level 2", "pooler level 1", "pooler level 2"}
    assert all(0.0 <= v <= 1.0 for d in stab.values() for v in d.values())
    for f in (plot_hierarchy_stability(stab, tmp_path / "s.png"),
              plot_movie_strip(model, X[10], tmp_path / "m.png"),
              plot_hierarchy_fields(model, tmp_path / "f.png")):
        assert f.stat().st_size > 1000


@pytest.mark.slow
def test_htm_is_a_vision_bench_model(digits):
    from htmkit.bench.vision import ModelContext, available_models, make_model

    X, y = digits
    assert "htm" in available_models()
    model = make_model("htm", ModelContext("digits", 0, True, (8, 8), 30))
    model.model.spec["train"]["n_learn"] = 10
    pred = model.fit(X[:30], y[:30]).predict(X[40:50])
    assert pred.shape == (10,) and set(pred) <= set(range(10))
    info = model.describe()
    assert info["preset"] == "digits" and 1 <= info["mean_glimpses"] <= 9
