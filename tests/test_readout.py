"""The library's readouts (htmkit.readout): the linear softmax readout and k-NN."""

from __future__ import annotations

import numpy as np
import pytest

from htmkit.datasets import load_digits_dataset
from htmkit.errors import InputError, ParameterError
from htmkit.readout import LinearReadout, check_labels, knn_predict


def _digits_features():
    """The 8x8 digits as pixel features in [0, 1], split 3:1 with a seeded permutation."""
    images, labels = load_digits_dataset()
    x = images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0)
    order = np.random.default_rng(0).permutation(len(x))
    cut = len(x) * 3 // 4
    tr, te = order[:cut], order[cut:]
    return x[tr], labels[tr].astype(np.int64), x[te], labels[te].astype(np.int64)


def test_knn_predict_votes_and_breaks_ties_by_nearest():
    train = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]], np.float32)
    y = np.array([5, 5, 7, 9, 9])
    q = np.array([[0.2], [10.4], [1.6]], np.float32)
    assert knn_predict(train, y, q, k=3).tolist() == [5, 9, 5]
    # k = 2 with one vote each: the class of the nearest neighbour wins
    assert knn_predict(train, y, np.array([[1.9]], np.float32), k=2).tolist() == [7]
    assert knn_predict(train, y, q, k=1).tolist() == [5, 9, 7]
    # k larger than the training set: all five vote; 5 and 9 tie on 2 votes for 10.4, and 9
    # holds its nearest neighbour
    assert knn_predict(train, y, q, k=50).tolist() == [5, 9, 5]
    with pytest.raises(InputError, match="feature shapes"):
        knn_predict(train, y, np.zeros((1, 2), np.float32))


def test_check_labels():
    assert check_labels(np.array([1, 2], np.uint8), 2).dtype == np.int64
    with pytest.raises(InputError, match="labels"):
        check_labels(np.array([1.0, 2.0]), 2)
    with pytest.raises(InputError, match="labels"):
        check_labels(np.array([1, 2, 3]), 2)


def test_linear_readout_schedules_and_errors():
    ftr, ytr, fte, yte = _digits_features()
    for schedule in ("cosine", "constant"):
        a = LinearReadout(seed=3, lr_schedule=schedule).fit(ftr, ytr)
        b = LinearReadout(seed=3, lr_schedule=schedule).fit(ftr, ytr)
        assert np.array_equal(a.W, b.W)  # same seed, same weights
        assert (a.predict(fte) == yte).mean() > 0.9
        assert a.describe()["lr_schedule"] == schedule
    with pytest.raises(ParameterError, match="lr_schedule"):
        LinearReadout(lr_schedule="step")


def test_linear_readout_dropout():
    ftr, ytr, fte, yte = _digits_features()
    plain = LinearReadout(seed=3).fit(ftr, ytr)
    # dropout 0 is the plain readout, bit for bit
    assert np.array_equal(LinearReadout(seed=3, dropout=0.0).fit(ftr, ytr).W, plain.W)
    rows = np.repeat(np.arange(8), 8)  # one group per image row
    a = LinearReadout(seed=3, dropout=0.5, dropout_groups=rows).fit(ftr, ytr)
    b = LinearReadout(seed=3, dropout=0.5, dropout_groups=rows).fit(ftr, ytr)
    assert np.array_equal(a.W, b.W)  # seeded masks
    assert not np.array_equal(a.W, plain.W)
    assert not np.array_equal(LinearReadout(seed=3, dropout=0.5).fit(ftr, ytr).W, a.W)
    assert (a.predict(fte) == yte).mean() > 0.85  # it still learns
    assert a.describe()["dropout"] == 0.5 and a.describe()["dropout_groups"] == 8
    # a group is dropped as a whole: a feature and its copy in one group always see the same
    # mask, so their weights stay equal; dropped one by one they drift apart
    twice = np.hstack([ftr, ftr])
    same = np.tile(np.arange(64), 2)
    # (equal up to the rounding of the matrix product)
    w = LinearReadout(seed=1, dropout=0.5, dropout_groups=same).fit(twice, ytr).W
    assert np.abs(w[:64] - w[64:]).max() < 1e-4
    w = LinearReadout(seed=1, dropout=0.5).fit(twice, ytr).W
    assert np.abs(w[:64] - w[64:]).max() > 1e-2
    with pytest.raises(ParameterError, match="dropout"):
        LinearReadout(dropout=1.0)
    with pytest.raises(ParameterError, match="dropout"):
        LinearReadout(dropout=-0.1)
    with pytest.raises(ParameterError, match="dropout_groups"):
        LinearReadout(dropout=0.5, dropout_groups=np.zeros((2, 32), np.int64))
    with pytest.raises(ParameterError, match="dropout_groups"):
        LinearReadout(dropout=0.5, dropout_groups=-same)
    with pytest.raises(InputError, match="dropout_groups"):
        LinearReadout(dropout=0.5, dropout_groups=rows[:10]).fit(ftr, ytr)



def test_linear_readout_input_errors():
    ftr, ytr, _, _ = _digits_features()
    with pytest.raises(ParameterError, match="epochs"):
        LinearReadout(epochs=0)
    with pytest.raises(InputError, match="before fit"):
        LinearReadout().predict(ftr)
    r = LinearReadout(epochs=1, min_steps=1).fit(ftr[:100], ytr[:100])
    with pytest.raises(InputError, match="features"):
        r.predict(ftr[:, :10])
    p = r.predict_proba(ftr[:5])
    assert p.shape == (5, r.classes_.size) and np.allclose(p.sum(axis=1), 1.0)
