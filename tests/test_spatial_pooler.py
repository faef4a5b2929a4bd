"""Spatial Pooler: parameters, sparsity, determinism, learning, boosting, topology, exact
local inhibition against a brute-force reference, and save/load."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htmkit.errors import FormatError, InputError, ParameterError
from htmkit.kernels import spatial_pooler as K
from htmkit.sdr import SDR
from htmkit.spatial_pooler import SpatialPooler, SpatialPoolerParams

SMALL = dict(input_dimensions=200, column_dimensions=300, potential_radius=200,
             potential_pct=0.6, local_area_density=0.05, seed=11)
LOCAL = dict(input_dimensions=(16, 16), column_dimensions=(16, 16), potential_radius=3,
             potential_pct=0.7, global_inhibition=False, local_area_density=0.1,
             wrap_around=False, seed=2)


def _random_inputs(shape, sparsity, n, seed=0):
    return [SDR.random(shape, sparsity, seed=seed + i) for i in range(n)]


# ============================================================================ parameters
@pytest.mark.parametrize(
    "name, value",
    [
        ("input_dimensions", (0, 5)),
        ("column_dimensions", ()),
        ("potential_radius", -1),
        ("potential_pct", 0.0),
        ("potential_pct", 1.5),
        ("global_inhibition", "yes"),
        ("local_area_density", 0.0),
        ("local_area_density", 2.0),
        ("num_active_columns_per_inh_area", 0),
        ("stimulus_threshold", -1),
        ("syn_perm_inactive_dec", -0.1),
        ("syn_perm_active_inc", 1.5),
        ("syn_perm_connected", 1.0),
        ("syn_perm_below_stimulus_inc", 0.0),
        ("min_pct_overlap_duty_cycle", 2.0),
        ("duty_cycle_period", 0),
        ("boost_strength", -1.0),
        ("update_period", 0),
        ("init_connected_pct", 1.1),
        ("wrap_around", 1),
        ("seed", "x"),
        ("inference_min_fraction", 1.0),
        ("inference_min_fraction", -0.1),
    ],
)
def test_bad_parameter_raises_naming_it(name, value):
    kw = dict(input_dimensions=20, column_dimensions=50, potential_radius=20)
    if name == "num_active_columns_per_inh_area":
        kw["local_area_density"] = None
    kw[name] = value
    with pytest.raises(ParameterError, match=name.replace("[", r"\[")):
        SpatialPoolerParams(**kw)


def test_cross_checks():
    with pytest.raises(ParameterError, match="local_area_density.*num_active_columns_per_inh_area"):
        SpatialPoolerParams(input_dimensions=10, column_dimensions=10, local_area_density=0.1,
                            num_active_columns_per_inh_area=2)
    with pytest.raises(ParameterError, match="local_area_density"):  # selects no column
        SpatialPoolerParams(input_dimensions=10, column_dimensions=10, local_area_density=0.01)
    with pytest.raises(ParameterError, match="num_active_columns_per_inh_area"):
        SpatialPoolerParams(input_dimensions=10, column_dimensions=10,
                            num_active_columns_per_inh_area=11)
    with pytest.raises(ParameterError, match="potential_pct"):  # empty potential pools
        SpatialPoolerParams(input_dimensions=10, column_dimensions=10, potential_radius=0,
                            potential_pct=0.4, local_area_density=0.2)
    with pytest.raises(ParameterError):
        SpatialPooler(SpatialPoolerParams(input_dimensions=10, column_dimensions=10), seed=3)
    p = SpatialPoolerParams(input_dimensions=[10], column_dimensions=100)
    assert p.input_dimensions == (10,) and p.local_area_density == 0.02
    assert p.syn_perm_below_stimulus_inc == pytest.approx(p.syn_perm_connected / 10)


def test_kwargs_equal_params():
    a = SpatialPooler(**SMALL)
    b = SpatialPooler(SpatialPoolerParams(**SMALL))
    x = SDR.random(200, 0.05, seed=1)
    assert a.compute(x) == b.compute(x)


def test_wrong_input_size_raises_input_error():
    sp = SpatialPooler(**SMALL)
    with pytest.raises(InputError, match="200"):
        sp.compute(SDR(199, [1, 2]))
    with pytest.raises(InputError, match="200"):
        sp.compute(np.zeros(201, dtype=bool))
    # same size, other shape: accepted; a dense 0/1 array too
    assert sp.compute(SDR((10, 20), [3, 5])).shape == (300,)
    assert sp.compute(np.zeros(200, dtype=np.uint8)).num_active == 0


# ============================================================================ sparsity
@pytest.mark.parametrize("learn", [False, True])
def test_global_inhibition_sparsity_equals_target(learn):
    sp = SpatialPooler(**SMALL)
    for x in _random_inputs(200, 0.1, 30):
        out = sp.compute(x, learn=learn)
        assert out.shape == (300,)
        assert out.num_active == 15  # round(0.05 * 300)
    sp2 = SpatialPooler(**{**SMALL, "local_area_density": None,
                           "num_active_columns_per_inh_area": 7})
    assert sp2.compute(SDR.random(200, 0.1, seed=3)).num_active == 7


def test_local_inhibition_sparsity_near_target():
    sp = SpatialPooler(**LOCAL)
    fractions = []
    for x in _random_inputs((16, 16), 0.3, 40):
        out = sp.compute(x, learn=True)
        assert out.shape == (16, 16)
        fractions.append(out.sparsity)
    # local top-k per neighbourhood: close to the density, not exactly equal to it
    assert abs(np.mean(fractions) - 0.1) < 0.03


def test_global_inhibition_matches_brute_force_with_ties():
    rng = np.random.default_rng(4)
    for _ in range(50):
        n = int(rng.integers(5, 200))
        vals = rng.integers(0, 6, n).astype(np.float64)
        k = int(rng.integers(1, n + 1))
        thr = float(rng.integers(0, 3))
        out = np.empty(n, dtype=np.int32)
        got = out[: K.inhibit_columns_global(vals, thr, k, out)]
        order = sorted(range(n), key=lambda c: (-vals[c], c))
        want = sorted(c for c in order[:k] if vals[c] > thr)
        assert got.tolist() == want


# ============================================================================ local inhibition
def _brute_local(boosted, thr, dims, radii, wrap, density):
    dims = tuple(int(d) for d in dims)
    n = len(boosted)
    coords = np.stack(np.unravel_index(np.arange(n), dims), axis=1)
    winners = []
    for c in range(n):
        if not boosted[c] > thr:
            continue
        inside = np.ones(n, dtype=bool)
        for a, (d, r) in enumerate(zip(dims, radii, strict=True)):
            diff = np.abs(coords[:, a] - coords[c, a])
            if wrap:
                if 2 * r + 1 >= d:
                    continue
                diff = np.minimum(diff, d - diff)
            inside &= diff <= r
        k = math.floor(0.5 + density * inside.sum())
        nb = np.flatnonzero(inside)
        beats = (boosted[nb] > thr) & ((boosted[nb] > boosted[c])
                                       | ((boosted[nb] == boosted[c]) & (nb < c)))
        if beats.sum() < k:
            winners.append(c)
    return winners


def _kernel_local(boosted, thr, dims, radii, wrap, density):
    dims = np.array(dims, dtype=np.int64)
    n = int(np.prod(dims))
    coords = np.ascontiguousarray(np.stack(np.unravel_index(np.arange(n), tuple(dims)), axis=1))
    out = np.empty(n, dtype=np.int32)
    cnt = K.inhibit_columns_local(boosted, thr, dims, coords.astype(np.int64),
                                  np.array(radii, dtype=np.int64), wrap, density, out)
    return out[:cnt].tolist()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dims=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    radius=st.integers(0, 5),
    depth_full=st.booleans(),
    wrap=st.booleans(),
    density=st.floats(0.05, 0.6),
    levels=st.integers(1, 6),
    thr=st.sampled_from([0.0, 1.0]),
    seed=st.integers(0, 10_000),
)
def test_local_inhibition_matches_brute_force(dims, radius, depth_full, wrap, density, levels,
                                              thr, seed):
    rng = np.random.default_rng(seed)
    n = int(np.prod(dims))
    boosted = rng.integers(0, levels + 1, n).astype(np.float64)  # many ties
    if seed % 3 == 0:
        boosted *= rng.choice([0.5, 1.0, 1.25], n)  # boosted, still with ties
    radii = [radius] * len(dims)
    if depth_full and len(dims) == 3:
        radii[-1] = dims[-1]  # a "depth" axis spanned entirely
    assert _kernel_local(boosted, thr, dims, radii, wrap, density) == _brute_local(
        boosted, thr, dims, radii, wrap, density)


def test_local_inhibition_large_topology_matches_brute_force():
    # the (28, 28, 8)-like case the Fenwick path is for, shrunk; and the direct fallback
    rng = np.random.default_rng(0)
    for dims, radii in [((20, 20, 4), (3, 3, 4)), ((12, 10, 6), (2, 3, 1))]:
        n = int(np.prod(dims))
        boosted = rng.integers(0, 8, n).astype(np.float64)
        for wrap in (False, True):
            assert _kernel_local(boosted, 0.0, dims, radii, wrap, 0.1) == _brute_local(
                boosted, 0.0, dims, radii, wrap, 0.1)


# ============================================================================ overlap / mirror
def _brute_overlaps(sp, x):
    mask = np.zeros(sp.num_inputs, dtype=bool)
    mask[x.indices] = True
    conn = np.float32(sp.params.syn_perm_connected)
    out = []
    for c in range(sp.num_columns):
        idx, perm = sp.permanences(c, dense=False)
        out.append(int((mask[idx] & (perm >= conn)).sum()))
    return np.array(out)


@pytest.mark.parametrize("kw", [SMALL, LOCAL], ids=["dense-pools", "local-pools"])
def test_overlaps_match_permanences_while_learning(kw):
    sp = SpatialPooler(**{**kw, "boost_strength": 2.0, "duty_cycle_period": 20,
                          "min_pct_overlap_duty_cycle": 0.2, "update_period": 10})
    assert sp._dense == (kw is SMALL)
    shape = kw["input_dimensions"]
    xs = _random_inputs(shape, 0.1, 60, seed=7)
    for x in xs:
        sp.compute(x, learn=True)
    for x in xs[:5]:
        sp.compute(x, learn=False)
        assert np.array_equal(sp.overlaps.ravel(), _brute_overlaps(sp, x))
        np.testing.assert_allclose(sp.boosted_overlaps.ravel(),
                                   sp.overlaps.ravel() * sp.boost_factors.ravel())
    sp.synapses.check()
    assert not np.all(sp.boost_factors == 1.0)
    assert sp.min_overlap_duty_cycles.max() > 0


@pytest.mark.parametrize("kw", [SMALL, LOCAL], ids=["dense-pools", "local-pools"])
def test_learning_follows_bami_rule(kw):
    sp = SpatialPooler(**kw)
    xs = _random_inputs(kw["input_dimensions"], 0.1, 12, seed=5)
    for x in xs[:10]:  # move permanences around the connected threshold first
        sp.compute(x, learn=True)
    p = sp.params
    for x in xs[10:]:
        before = {c: sp.permanences(c).ravel().copy() for c in range(sp.num_columns)}
        active = set(sp.compute(x, learn=True).indices.tolist())
        on_mask = x.dense.ravel()
        for c in range(sp.num_columns):
            idx, _ = sp.permanences(c, dense=False)
            want = before[c].copy()
            if c in active:
                on, off = idx[on_mask[idx]], idx[~on_mask[idx]]
                want[on] = np.minimum(want[on] + np.float32(p.syn_perm_active_inc),
                                      np.float32(1))
                want[off] = np.maximum(want[off] - np.float32(p.syn_perm_inactive_dec),
                                       np.float32(0))
            assert np.array_equal(sp.permanences(c).ravel(), want), c
    # the connected mirror used by the overlap step followed every change
    for x in xs[:3]:
        sp.compute(x, learn=False)
        assert np.array_equal(sp.overlaps.ravel(), _brute_overlaps(sp, x))


def test_permanence_initialisation():
    sp = SpatialPooler(**{**SMALL, "init_connected_pct": 0.5})
    conn = np.float32(sp.params.syn_perm_connected)
    perms = np.concatenate([sp.permanences(c, dense=False)[1] for c in range(300)])
    assert perms.size == 300 * 120  # round(200 * 0.6)
    frac = np.mean(perms >= conn)
    assert 0.45 < frac < 0.55
    assert perms.min() >= 0 and perms.max() < 1
    counts = sp.connected_counts()
    assert counts.shape == (300,)
    assert sp.connected_synapses(0).num_active == counts[0]
    assert sp.potential_pool(0).num_active == 120
    sp2 = SpatialPooler(**{**SMALL, "init_connected_pct": 0.0, "stimulus_threshold": 3})
    assert sp2.connected_counts().min() >= 3  # raised to the stimulus threshold


# ============================================================================ topology
@pytest.mark.parametrize("wrap", [False, True])
def test_potential_pool_stays_in_receptive_field(wrap):
    r = 2
    sp = SpatialPooler(input_dimensions=(12, 10), column_dimensions=(6, 5), potential_radius=r,
                       potential_pct=1.0, wrap_around=wrap, local_area_density=0.1)
    for c in range(sp.num_columns):
        cy, cx = np.unravel_index(c, (6, 5))
        centre = (int((cy + 0.5) * 2), int((cx + 0.5) * 2))
        py, px = sp.potential_pool(c).coordinates
        for coords, ctr, size in ((py, centre[0], 12), (px, centre[1], 10)):
            d = np.abs(coords - ctr)
            if wrap:
                d = np.minimum(d, size - d)
            assert d.max() <= r
        # potential_pct = 1: the whole window
        ny = 2 * r + 1 if wrap else min(11, centre[0] + r) - max(0, centre[0] - r) + 1
        nx = 2 * r + 1 if wrap else min(9, centre[1] + r) - max(0, centre[1] - r) + 1
        assert py.size == ny * nx
    # potential_pct < 1: a subset of that window, of the rounded size
    sp2 = SpatialPooler(input_dimensions=(12, 10), column_dimensions=(6, 5),
                        potential_radius=r, potential_pct=0.5, wrap_around=wrap,
                        local_area_density=0.1)
    for c in range(sp.num_columns):
        pool = sp2.potential_pool(c)
        full = sp.potential_pool(c)
        assert pool.overlap(full) == pool.num_active == math.floor(full.num_active * 0.5 + 0.5)


def test_depth_axis_columns_share_a_centre_and_inhibition_radius_is_updated():
    sp = SpatialPooler(input_dimensions=(10, 10), column_dimensions=(10, 10, 3),
                       potential_radius=2, potential_pct=1.0, global_inhibition=False,
                       local_area_density=0.1, wrap_around=False, update_period=5)
    assert sp.potential_pool((4, 4, 0)) == sp.potential_pool((4, 4, 2))
    assert sp.inhibition_radius >= 1
    r0 = sp.inhibition_radius
    for x in _random_inputs((10, 10), 0.2, 10):
        assert sp.compute(x).shape == (10, 10, 3)
    assert sp.iteration == 10
    assert isinstance(r0, int) and isinstance(sp.inhibition_radius, int)


# ============================================================================ determinism
def test_same_seed_same_outputs_different_seed_differs():
    xs = _random_inputs(200, 0.1, 20)
    a, b, c = (SpatialPooler(**{**SMALL, "seed": s}) for s in (5, 5, 6))
    outs_a = [a.compute(x) for x in xs]
    outs_b = [b.compute(x) for x in xs]
    outs_c = [c.compute(x) for x in xs]
    assert outs_a == outs_b
    assert outs_a != outs_c
    la, lb = SpatialPooler(**LOCAL), SpatialPooler(**LOCAL)
    for x in _random_inputs((16, 16), 0.2, 10):
        assert la.compute(x) == lb.compute(x)


# ============================================================================ learning
def test_learning_buys_noise_robustness():
    kw = dict(input_dimensions=1000, column_dimensions=500, potential_radius=1000,
              potential_pct=0.8, local_area_density=0.04, syn_perm_active_inc=0.05,
              syn_perm_inactive_dec=0.01, seed=3)
    patterns = _random_inputs(1000, 0.04, 30, seed=100)
    noisy = [p.add_noise(0.1, seed=500 + i) for i, p in enumerate(patterns)]

    def stability(sp):
        return np.mean([sp.compute(p, learn=False).overlap(sp.compute(q, learn=False)) / 20
                        for p, q in zip(patterns, noisy, strict=True)])

    untrained = SpatialPooler(**kw)
    trained = SpatialPooler(**kw)
    rng = np.random.default_rng(0)
    for _ in range(8):
        for i in rng.permutation(len(patterns)):
            trained.compute(patterns[i], learn=True)
    before, after = stability(untrained), stability(trained)
    assert after > before + 0.2, (before, after)
    assert after > 0.9


@pytest.mark.parametrize("kw", [SMALL, LOCAL], ids=["global", "local"])
def test_fractional_inference(kw):
    """``inference_min_fraction``: learning as without it; inference ranks overlap / connected
    count with that threshold (checked against a brute-force reference)."""
    shape = kw["input_dimensions"]
    xs = _random_inputs(shape, 0.1, 30, seed=21)
    plain = SpatialPooler(**kw)
    frac = SpatialPooler(**kw, inference_min_fraction=0.15)
    for x in xs[:20]:
        assert plain.compute(x, learn=True) == frac.compute(x, learn=True)
    assert np.array_equal(plain.permanences(5), frac.permanences(5))
    cc = np.maximum(frac.connected_counts().ravel(), 1).astype(np.float64)
    dims = frac.column_dimensions
    differ = 0
    for x in xs[20:]:
        got = frac.compute(x, learn=False)
        score = frac.overlaps.ravel() / cc
        if kw.get("global_inhibition", True):
            k = math.floor(0.5 + 0.05 * score.size)
            order = sorted(range(score.size), key=lambda c: (-score[c], c))
            want = sorted(c for c in order[:k] if score[c] > 0.15)
        else:
            radii = [frac.inhibition_radius] * len(dims)
            want = _brute_local(score, 0.15, dims, radii, False, kw["local_area_density"])
        assert got.indices.tolist() == want
        differ += got != plain.compute(x, learn=False)
    assert differ > 0
    # learning again refreshes the connected counts
    frac.compute(xs[0], learn=True)
    frac.compute(xs[1], learn=False)
    assert np.array_equal(frac._connected_counts_cached(),
                          np.maximum(frac.connected_counts().ravel(), 1))


def test_boosting_evens_out_duty_cycles():
    inputs = _random_inputs(400, 0.05, 8)

    def entropy(boost_strength):
        sp = SpatialPooler(input_dimensions=400, column_dimensions=200, potential_radius=400,
                           potential_pct=0.5, local_area_density=0.05, seed=5,
                           boost_strength=boost_strength, duty_cycle_period=100)
        counts = np.zeros(sp.num_columns)
        rng = np.random.default_rng(1)
        for t in range(500):
            active = sp.compute(inputs[rng.integers(len(inputs))], learn=True)
            if t >= 250:
                counts[active.indices] += 1
        f = counts[counts > 0] / counts.sum()
        return float(-(f * np.log2(f)).sum())

    plain, boosted = entropy(0.0), entropy(5.0)
    assert boosted > plain + 0.5, (plain, boosted)


def test_duty_cycles_follow_activity():
    sp = SpatialPooler(**{**SMALL, "duty_cycle_period": 10})
    x = SDR.random(200, 0.1, seed=1)
    for _ in range(30):
        active = sp.compute(x, learn=True)
    adc = sp.active_duty_cycles
    assert np.all(adc[active.indices] > 0.9)
    assert adc.sum() == pytest.approx(15, rel=1e-6)
    assert np.all((sp.overlap_duty_cycles >= 0) & (sp.overlap_duty_cycles <= 1 + 1e-12))
    sp.compute(x, learn=False)
    assert sp.iteration == 31 and sp.iteration_learn == 30


# ============================================================================ save / load
@pytest.mark.parametrize("kw", [SMALL, {**LOCAL, "boost_strength": 1.0}],
                         ids=["global", "local"])
def test_save_load_continues_bit_identically(tmp_path, kw):
    shape = kw["input_dimensions"]
    xs = _random_inputs(shape, 0.1, 40, seed=9)
    sp = SpatialPooler(**kw)
    for x in xs[:20]:
        sp.compute(x)
    path = sp.save(tmp_path / "sp.htm")
    loaded = SpatialPooler.load(path)
    assert loaded.params == sp.params and loaded.iteration == sp.iteration
    for x in xs[20:]:
        assert sp.compute(x) == loaded.compute(x)
    assert np.array_equal(sp.boost_factors, loaded.boost_factors)
    assert np.array_equal(sp.permanences(3), loaded.permanences(3))
    assert sp.inhibition_radius == loaded.inhibition_radius


def test_truncated_or_corrupted_file_raises_format_error(tmp_path):
    sp = SpatialPooler(**SMALL)
    path = sp.save(tmp_path / "sp.htm")
    data = path.read_bytes()
    (tmp_path / "short.htm").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError):
        SpatialPooler.load(tmp_path / "short.htm")
    bad = bytearray(data)
    mid = len(bad) // 2
    bad[mid: mid + 16] = bytes(16)
    (tmp_path / "bad.htm").write_bytes(bytes(bad))
    with pytest.raises(FormatError):
        SpatialPooler.load(tmp_path / "bad.htm")


# ============================================================================ read access
def test_read_access():
    sp = SpatialPooler(**LOCAL)
    x = SDR.random((16, 16), 0.2, seed=0)
    sp.compute(x)
    assert sp.overlaps.shape == (16, 16) and sp.overlaps.dtype == np.int32
    with pytest.raises(ValueError):
        sp.overlaps[0, 0] = 5  # read-only copies
    dense = sp.permanences((3, 4))
    assert dense.shape == (16, 16)
    idx, perm = sp.permanences((3, 4), dense=False)
    assert np.all(np.diff(idx) > 0)
    assert np.array_equal(dense.ravel()[idx], perm)
    assert np.all(np.delete(dense.ravel(), idx) == 0)
    assert sp.connected_synapses(52).size == 256
    with pytest.raises(InputError):
        sp.permanences(256)
    with pytest.raises(InputError):
        sp.potential_pool((16, 0))
    assert "SpatialPooler" in repr(sp)


# ============================================================================ benchmark CLI
def test_bench_sp_cli_writes_json(tmp_path):
    import json

    from typer.testing import CliRunner

    from htmkit.cli import bench_sp  # noqa: F401  (registers the command)
    from htmkit.cli.main import app

    out = tmp_path / "sp.json"
    res = CliRunner().invoke(app, ["bench", "sp", "--steps", "5", "--repeats", "1",
                                   "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "ms/step" in res.output and "htm.core" in res.output
    report = json.loads(out.read_text())
    assert [r["steps"] for r in report["results"]] == [5, 5]
    a = report["results"][0]
    assert a["ms_per_step_htm_core"] == 1.04 and a["construct_s_htm_core"] == 13.0
    assert a["mean_active_columns"] == 40 and a["peak_traced_mb"] > 0


def test_dense_pooler_keeps_no_reverse_index_and_saves_the_same(tmp_path, monkeypatch):
    """With the dense mirror the pooler drops the store's reverse index (no step reads it)
    and keeps its presynaptic indices as int16;
    the store it saves and shows (``synapses``) has the index build_static made, so the saved
    arrays and every output equal those of a pooler that keeps the whole store."""
    xs = _random_inputs(SMALL["input_dimensions"], 0.1, 30, seed=5)
    lean = SpatialPooler(**SMALL)
    with monkeypatch.context() as m:
        m.setattr(SpatialPooler, "_drop_reverse_index", lambda self: None)
        whole = SpatialPooler(**SMALL)
    assert lean._lean and lean._store.arrays.arena.size == 0
    assert lean._store.arrays.rev_pos.size == 0
    assert lean._store.arrays.presyn.dtype == np.int16
    assert whole._store.arrays.presyn.dtype == np.int32
    assert whole._store.arrays.arena.size > 0
    for i, x in enumerate(xs):
        assert lean.compute(x, learn=i % 3 != 2) == whole.compute(x, learn=i % 3 != 2)
    assert np.array_equal(lean.permanences(7), whole.permanences(7))
    assert lean.potential_pool(7) == whole.potential_pool(7)
    for a, b in zip(lean.synapses.arrays, whole._store.arrays, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    lean.synapses.check()
    path = lean.save(tmp_path / "lean.htm")
    loaded = SpatialPooler.load(path)
    assert loaded._lean
    for x in xs[:10]:
        assert loaded.compute(x) == whole.compute(x)


def test_a_loaded_store_with_another_valid_index_is_kept_whole():
    """A valid store whose reverse index is laid out otherwise than the pooler builds it (two
    slots of one input swapped) loads, keeps its index and saves it back unchanged."""
    sp = SpatialPooler(**SMALL)
    state = sp.get_state()
    arrays = {k: v.copy() for k, v in state["synapses"]["arrays"].items()}
    p = int(np.flatnonzero(arrays["rev_count"] >= 2)[0])
    a = int(arrays["rev_start"][p])
    sa, sb = int(arrays["arena"][a]), int(arrays["arena"][a + 1])
    arrays["arena"][a], arrays["arena"][a + 1] = sb, sa
    arrays["rev_pos"][sa], arrays["rev_pos"][sb] = a + 1, a
    state = {**state, "synapses": {**state["synapses"], "arrays": arrays}}
    other = SpatialPooler.from_state(state)
    assert not other._lean
    other.synapses.check()
    saved = other.get_state()["synapses"]["arrays"]
    assert all(np.array_equal(saved[k], arrays[k]) for k in arrays)
    x = _random_inputs(SMALL["input_dimensions"], 0.1, 1, seed=1)[0]
    assert other.compute(x) == sp.compute(x)
