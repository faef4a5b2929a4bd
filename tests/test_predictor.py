"""The SDR classifier (Predictor), scalar buckets and the scalar predictor."""

import math

import numpy as np
import pytest

from htmkit.errors import FormatError, InputError, ParameterError
from htmkit.predictor import (
    Predictor,
    PredictorParams,
    ScalarBuckets,
    ScalarPrediction,
    ScalarPredictor,
)
from htmkit.sdr import SDR


def _patterns(n, size=1000, active=20, seed=0):
    return [SDR.random(size, active / size, seed=seed + i) for i in range(n)]


# ---------------------------------------------------------------------------- learning


def test_learns_deterministic_mapping_quickly():
    pats = _patterns(8)
    labels = [3, 0, 5, 1, 7, 2, 6, 4]
    p = Predictor(steps=(0,), alpha=0.1)
    for _ in range(15):
        for pat, lab in zip(pats, labels, strict=True):
            p.learn(pat, lab)
    assert p.n_classes == 8
    for pat, lab in zip(pats, labels, strict=True):
        prob = p.infer(pat)[0]
        assert prob.shape == (8,)
        assert prob.sum() == pytest.approx(1.0)
        assert int(prob.argmax()) == lab
        assert prob[lab] > 0.9


def test_multistep_learns_repeating_sequence():
    pats = _patterns(6, seed=10)
    p = Predictor(steps=(3, 1), alpha=0.1)
    assert p.steps == (1, 3)
    for _ in range(30):
        for i in range(6):
            p.learn(pats[i], i)
    for i in range(6):
        out = p.infer(pats[i])
        assert set(out) == {1, 3}
        assert int(out[1].argmax()) == (i + 1) % 6 and out[1].max() > 0.9
        assert int(out[3].argmax()) == (i + 3) % 6 and out[3].max() > 0.9


def test_update_matches_softmax_regression_by_hand():
    p = Predictor(steps=(0,), alpha=0.5)
    a = SDR(5, [0, 2])
    p.learn(a, 1)  # zero weights -> prob [0.5, 0.5]; error [-0.5, 0.5]
    w = p.weights(0)
    assert w.shape == (5, 2) and w.dtype == np.float32
    np.testing.assert_array_equal(w[[0, 2]], [[-0.25, 0.25], [-0.25, 0.25]])
    assert not w[[1, 3, 4]].any()
    # second step: activation [-0.5, 0.5] -> softmax
    act = np.array([-0.5, 0.5])
    prob = np.exp(act) / np.exp(act).sum()
    np.testing.assert_allclose(p.infer(a)[0], prob)
    with pytest.raises(ValueError):
        w[0, 0] = 1.0  # read-only view


def test_multi_label_target_is_shared():
    pats = _patterns(1)
    p = Predictor(steps=(0,), alpha=0.2)
    for _ in range(200):
        p.learn(pats[0], [1, 3, 3])
    prob = p.infer(pats[0])[0]
    assert prob[1] == pytest.approx(0.5, abs=0.02) and prob[3] == pytest.approx(0.5, abs=0.02)
    p.learn(pats[0], np.array([0, 2]))  # ndarray labels
    assert p.n_classes == 4


def test_infer_before_learning_and_empty_pattern():
    p = Predictor(steps=(1, 2))
    out = p.infer(SDR(50, [1]))
    assert set(out) == {1, 2} and all(v.size == 0 for v in out.values())
    p.learn(SDR(50, [1]), 2)
    uniform = p.infer(SDR(50))  # no active bits: uniform over the known classes
    np.testing.assert_allclose(uniform[1], np.full(3, 1 / 3))


def test_classes_grow_and_keep_weights():
    pats = _patterns(3, size=200, active=10)
    p = Predictor(steps=(0,), alpha=0.3)
    for _ in range(10):
        p.learn(pats[0], 0)
        p.learn(pats[1], 1)
    before = p.weights(0).copy()
    assert p.n_classes == 2
    p.learn(pats[2], 40)  # larger than the initial capacity
    assert p.n_classes == 41
    others = np.setdiff1d(np.arange(200), pats[2].indices)  # rows not touched by pats[2]
    np.testing.assert_array_equal(p.weights(0)[others, :2], before[others])
    assert not p.weights(0)[others, 2:].any()
    assert p.infer(pats[0])[0].shape == (41,)
    assert int(p.infer(pats[0])[0].argmax()) == 0
    for _ in range(10):
        p.learn(pats[2], 40)
    assert int(p.infer(pats[2])[0].argmax()) == 40


def test_max_classes_bound():
    p = Predictor(steps=(0,), max_classes=3)
    p.learn(SDR(10, [1]), 2)
    with pytest.raises(InputError, match="max_classes"):
        p.learn(SDR(10, [1]), 3)
    assert p.n_classes == 3


def test_history_and_reset():
    a, b, c = _patterns(3, size=100, active=5)
    p = Predictor(steps=(1,), alpha=0.5)
    p.learn(a, 0)  # nothing one step back yet -> weights untouched but class known
    assert p.n_classes == 1 and not p.weights(1).any()
    p.learn(b, 1)  # a -> 1
    assert p.weights(1)[a.indices].any() and not p.weights(1)[b.indices].any()
    w = p.weights(1).copy()
    p.reset()
    p.learn(c, 1)  # history cleared: no association across the boundary
    np.testing.assert_array_equal(p.weights(1)[:, : w.shape[1]], w)
    p.learn(a, None)  # missing label: recorded, nothing learned
    np.testing.assert_array_equal(p.weights(1), w)
    p.learn(b, 0)  # ... but the history advanced: a -> 0 now
    assert not np.array_equal(p.weights(1)[a.indices], w[a.indices])


# ---------------------------------------------------------------------------- errors


def test_bad_inputs():
    p = Predictor(steps=(1,))
    p.learn(SDR(20, [1, 2]), 0)
    assert p.input_size == 20
    state = p.get_state()
    with pytest.raises(InputError, match="size"):
        p.learn(SDR(21, [1]), 0)
    with pytest.raises(InputError, match="size"):
        p.infer(SDR(19, [1]))
    for bad in (-1, [0, -2], 1.5, [1.0], "1", True, np.array([0.5])):
        with pytest.raises(InputError):
            p.learn(SDR(20, [3]), bad)
    with pytest.raises(TypeError):
        p.learn([1, 2], 0)
    with pytest.raises(TypeError):
        p.infer(np.zeros(20, bool))
    with pytest.raises(InputError):
        p.weights(2)
    # failed calls changed nothing
    after = p.get_state()
    np.testing.assert_array_equal(after["history_indices"], state["history_indices"])
    np.testing.assert_array_equal(after["weights"], state["weights"])


def test_fixed_input_size():
    p = Predictor(steps=(0,), input_size=30)
    assert p.input_size == 30
    with pytest.raises(InputError):
        p.infer(SDR(31, [0]))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"steps": ()}, "steps"),
        ({"steps": (1, 1)}, "steps"),
        ({"steps": (-1,)}, "steps"),
        ({"steps": (1.5,)}, "steps"),
        ({"steps": "1"}, "steps"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": -0.1}, "alpha"),
        ({"alpha": 2.0}, "alpha"),
        ({"alpha": math.nan}, "alpha"),
        ({"max_classes": 0}, "max_classes"),
        ({"input_size": 0}, "input_size"),
    ],
)
def test_bad_params_name_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        Predictor(**kwargs)
    with pytest.raises(ParameterError, match=name):
        PredictorParams(**kwargs)


def test_single_int_step():
    assert Predictor(steps=5).steps == (5,)


# ---------------------------------------------------------------------------- persistence


def _train(p, pats, n, rng):
    for _ in range(n):
        i = int(rng.integers(len(pats)))
        p.learn(pats[i], int(rng.integers(12)))


def test_save_load_bit_identical(tmp_path):
    pats = _patterns(10, size=300, active=12)
    p = Predictor(steps=(0, 2, 5), alpha=0.05)
    _train(p, pats, 200, np.random.default_rng(0))
    p.save(tmp_path / "p.htm")
    q = Predictor.load(tmp_path / "p.htm")
    assert q.params == p.params and q.n_classes == p.n_classes and q.input_size == 300
    for pat in pats:
        a, b = p.infer(pat), q.infer(pat)
        for k in p.steps:
            np.testing.assert_array_equal(a[k], b[k])
    # continue learning (including growth past the saved capacity) identically
    for pred in (p, q):
        _train(pred, pats, 100, np.random.default_rng(1))
        pred.learn(pats[0], 30)
    for k in p.steps:
        np.testing.assert_array_equal(p.weights(k), q.weights(k))
    for pat in pats:
        a, b = p.infer(pat), q.infer(pat)
        for k in p.steps:
            np.testing.assert_array_equal(a[k], b[k])


def test_save_load_fresh_predictor(tmp_path):
    p = Predictor(steps=(1,), max_classes=9)
    p.save(tmp_path / "p.htm")
    q = Predictor.load(tmp_path / "p.htm")
    assert q.params == p.params and q.input_size is None and q.n_classes == 0
    with pytest.raises(FormatError):
        ScalarPredictor.load(tmp_path / "p.htm")


# ---------------------------------------------------------------------------- buckets


def test_scalar_buckets_map_back_to_values():
    b = ScalarBuckets(resolution=0.5, offset=10.0, value_alpha=0.3)
    assert b.grid_index(10.0) == 0
    assert b.grid_index(10.24) == 0 and b.grid_index(10.25) == 1  # round half up
    assert b.grid_index(9.7) == -1  # below the offset is fine
    assert b.bucket(12.0) is None
    ids = [b.observe(v) for v in (12.0, 9.0, 12.1, 30.0)]
    assert ids == [0, 1, 0, 2]
    assert b.num_buckets == 3
    np.testing.assert_array_equal(b.grid, [4, -2, 40])
    assert b.value_of(0) == pytest.approx(0.7 * 12.0 + 0.3 * 12.1)
    assert b.value_of(1) == 9.0 and b.bucket(9.1) == 1
    # most likely bucket's value, or the expected value
    probs = np.array([0.2, 0.5, 0.3])
    assert b.predict_value(probs) == 9.0
    assert b.predict_value(probs, "mean") == pytest.approx(
        0.2 * b.value_of(0) + 0.5 * 9.0 + 0.3 * 30.0
    )
    assert b.predict_value(np.array([0.0, 0.0, 1.0, 0.7])) == 30.0  # extra entries ignored
    assert math.isnan(b.predict_value([]))
    assert math.isnan(ScalarBuckets(1.0).predict_value([1.0]))
    with pytest.raises(InputError):
        b.predict_value(probs, "median")
    with pytest.raises(InputError):
        b.value_of(3)
    for bad in (math.nan, math.inf, "3", None):
        with pytest.raises(InputError):
            b.observe(bad)
    with pytest.raises(ParameterError, match="resolution"):
        ScalarBuckets(0.0)
    with pytest.raises(ParameterError, match="value_alpha"):
        ScalarBuckets(1.0, value_alpha=0.0)


def test_scalar_buckets_save_load(tmp_path):
    b = ScalarBuckets(0.1, offset=-3.0)
    for v in np.random.default_rng(0).normal(size=50):
        b.observe(float(v))
    b.save(tmp_path / "b.htm")
    c = ScalarBuckets.load(tmp_path / "b.htm")
    np.testing.assert_array_equal(c.values, b.values)
    np.testing.assert_array_equal(c.grid, b.grid)
    assert c.bucket(0.33) == b.bucket(0.33)


# ---------------------------------------------------------------------------- scalar predictor


def _sine(n=20):
    return [float(x) for x in 5 + 3 * np.sin(np.arange(n) / n * 2 * np.pi)]


def test_scalar_predictor_learns_sequence():
    pats = _patterns(20, size=500, active=20, seed=100)
    vals = _sine()
    sp = ScalarPredictor(steps=(1, 2), resolution=0.25, alpha=0.2)
    for _ in range(25):
        for pat, v in zip(pats, vals, strict=True):
            sp.learn(pat, v)
    for i in range(20):
        out = sp.infer(pats[i])
        assert isinstance(out[1], ScalarPrediction)
        assert out[1].value == pytest.approx(vals[(i + 1) % 20], abs=0.125 + 1e-9)
        assert out[2].value == pytest.approx(vals[(i + 2) % 20], abs=0.125 + 1e-9)
        assert out[1].mean == pytest.approx(vals[(i + 1) % 20], abs=0.3)
        assert out[1].confidence > 0.8
        assert out[1].probabilities.size == sp.buckets.num_buckets


def test_scalar_predictor_missing_values_and_errors():
    pats = _patterns(3, size=100, active=5)
    sp = ScalarPredictor(steps=(1,), resolution=1.0, alpha=0.5, max_classes=2)
    out = sp.infer(pats[0])[1]
    assert math.isnan(out.value) and out.bucket == -1 and out.probabilities.size == 0
    sp.learn(pats[0], 1.0)
    sp.learn(pats[1], math.nan)  # missing: history advances, nothing learned
    sp.learn(pats[2], None)
    assert sp.predictor.n_classes == 1 and not sp.predictor.weights(1).any()
    sp.learn(pats[0], 5.0)  # pats[2] -> bucket of 5.0
    assert sp.predictor.weights(1)[pats[2].indices].any()
    assert not sp.predictor.weights(1)[pats[1].indices].any()
    with pytest.raises(InputError, match="max_classes"):
        sp.learn(pats[1], 9.0)
    with pytest.raises(InputError):
        sp.learn(pats[1], math.inf)
    with pytest.raises(InputError):
        sp.learn(SDR(99, [1]), 1.0)
    assert sp.buckets.num_buckets == 2  # failed calls created no bucket


def test_scalar_predictor_save_load_bit_identical(tmp_path):
    pats = _patterns(20, size=400, active=16, seed=7)
    vals = _sine()
    sp = ScalarPredictor(steps=(1, 3), resolution=0.5, alpha=0.1)
    for _ in range(5):
        for pat, v in zip(pats, vals, strict=True):
            sp.learn(pat, v)
    sp.save(tmp_path / "sp.htm")
    lp = ScalarPredictor.load(tmp_path / "sp.htm")
    for pred in (sp, lp):
        for pat, v in zip(pats, vals, strict=True):
            pred.learn(pat, v + 0.01)
    for pat in pats:
        a, b = sp.infer(pat), lp.infer(pat)
        for k in (1, 3):
            assert a[k].value == b[k].value and a[k].mean == b[k].mean
            np.testing.assert_array_equal(a[k].probabilities, b[k].probabilities)
