"""SDR: constructors, views, operations, validation, and algebraic properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmkit import SDR
from htmkit.errors import InputError
from htmkit.metrics import Metrics


def sdrs(size=64):
    return st.lists(st.integers(0, size - 1), unique=True, max_size=size).map(
        lambda idx: SDR(size, idx)
    )


def test_constructors_agree():
    a = SDR((4, 5), [13, 2, 7])
    assert a.indices.tolist() == [2, 7, 13]
    dense = np.zeros((4, 5), dtype=np.uint8)
    dense[0, 2] = dense[1, 2] = dense[2, 3] = 1
    b = SDR.from_dense(dense)
    c = SDR.from_coordinates((4, 5), ([0, 1, 2], [2, 2, 3]))
    assert a == b == c
    assert a.shape == (4, 5) and a.size == 20 and a.num_active == 3
    assert np.array_equal(a.dense, dense.astype(bool))
    rows, cols = a.coordinates
    assert rows.tolist() == [0, 1, 2] and cols.tolist() == [2, 2, 3]
    assert a.sparsity == pytest.approx(3 / 20)
    assert SDR(7).num_active == 0


def test_indices_are_read_only():
    a = SDR(10, [1, 2])
    with pytest.raises(ValueError):
        a.indices[0] = 5


@pytest.mark.parametrize(
    "shape, idx, msg",
    [
        (10, [10], "out of range"),
        (10, [-1], "out of range"),
        (10, [3, 3], "more than once"),
        (10, [1.5], "integers"),
        (10, [True], "integers"),
        (0, [], "positive"),
        ((3, -1), [], "positive"),
        (10, [[1, 2]], "one-dimensional"),
    ],
)
def test_invalid_input_names_problem(shape, idx, msg):
    with pytest.raises(InputError, match=msg):
        SDR(shape, idx)


def test_invalid_dense_and_coordinates():
    with pytest.raises(InputError, match="only 0 and 1"):
        SDR.from_dense([0, 2, 1])
    with pytest.raises(InputError, match="boolean or numeric"):
        SDR.from_dense(np.array(["a", "b"]))
    with pytest.raises(InputError, match="out of range"):
        SDR.from_coordinates((3, 3), ([0, 3], [1, 1]))
    with pytest.raises(InputError, match="2 coordinate arrays"):
        SDR.from_coordinates((3, 3), ([0],))


def test_operations():
    a = SDR(10, [1, 2, 3])
    b = SDR(10, [3, 4])
    assert a.overlap(b) == 1
    assert (a | b).indices.tolist() == [1, 2, 3, 4]
    assert (a & b).indices.tolist() == [3]
    assert a.union(b, SDR(10, [9])).num_active == 5
    with pytest.raises(InputError, match="sizes differ"):
        a.overlap(SDR(11, [1]))
    with pytest.raises(TypeError):
        a.overlap([1, 2])
    r = SDR((2, 5), [1, 7]).reshape((10,))
    assert r.shape == (10,) and r.indices.tolist() == [1, 7]
    with pytest.raises(InputError, match="reshape"):
        a.reshape((3, 3))
    c = SDR.concatenate([SDR(3, [0, 2]), SDR(4, [1])])
    assert c.size == 7 and c.indices.tolist() == [0, 2, 4]
    d = SDR.concatenate([SDR((2, 2), [0]), SDR((2, 3), [5])], axis=1)
    assert d.shape == (2, 5) and d.indices.tolist() == [0, 9]
    with pytest.raises(InputError, match="concatenate"):
        SDR.concatenate([SDR((2, 2), [0]), SDR((3, 3), [0])], axis=1)


def test_random_and_noise_are_seeded_and_keep_sparsity():
    a = SDR.random((32, 32), 0.02, seed=5)
    assert a == SDR.random((32, 32), 0.02, seed=5)
    assert a != SDR.random((32, 32), 0.02, seed=6)
    assert a.num_active == round(0.02 * 1024)
    n = a.add_noise(0.25, seed=1)
    assert n.num_active == a.num_active
    assert a.overlap(n) == a.num_active - round(0.25 * a.num_active)
    assert n == a.add_noise(0.25, seed=1)
    assert a.add_noise(0.0, seed=1) == a
    with pytest.raises(InputError):
        a.add_noise(1.5)
    with pytest.raises(InputError):
        SDR.random(10, -0.1)


@settings(max_examples=60, deadline=None)
@given(sdrs(), sdrs(), sdrs())
def test_set_identities(a, b, c):
    assert (a | b) == (b | a) and (a & b) == (b & a)
    assert ((a | b) | c) == (a | (b | c))
    assert (a & (b | c)) == ((a & b) | (a & c))
    assert a.overlap(b) == (a & b).num_active
    assert (a | b).num_active == a.num_active + b.num_active - a.overlap(b)
    assert a.overlap(a) == a.num_active
    assert SDR.from_dense(a.dense) == a
    assert SDR.from_coordinates(a.shape, a.coordinates) == a
    assert hash(a) == hash(SDR(a.shape, a.indices))


def test_metrics_track_stream():
    m = Metrics(100, period=50)
    stream = [SDR.random(100, 0.05, seed=i) for i in range(200)]
    for s in stream:
        m.add(s)
    assert m.samples == 200
    assert m.sparsity.mean == pytest.approx(0.05)
    assert 0.0 <= m.overlap.mean < 0.3
    freq = m.activation_frequency
    assert freq.shape == (100,) and abs(freq.mean() - 0.05) < 0.01
    assert 0.8 < m.entropy <= 1.0
    # a stream that repeats one SDR has low entropy and full overlap
    m2 = Metrics(100)
    for _ in range(20):
        m2.add(stream[0])
    assert m2.overlap.mean == pytest.approx(1.0)
    assert m2.entropy < 0.5
    assert "sparsity" in str(m)
    with pytest.raises(InputError):
        m.add(SDR(99))
