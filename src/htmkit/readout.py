"""Readouts: supervised classifiers that read a label off feature vectors (e.g. pooled SDRs).

* :class:`LinearReadout` -- multinomial logistic (softmax) regression with a bias, weights
  started at zero, trained by mini-batch Adam whose step size decays to zero along a cosine,
  with a small L2 penalty and optional (grouped) input dropout; seeded.
* :func:`knn_predict` -- k-nearest-neighbour (Euclidean) majority vote, ties broken in favour
  of the tied class with the nearest neighbour.

Both work on any ``float [N, D]`` feature matrix; the vision hierarchy
(:class:`htmkit.vision.hierarchy.VisionHierarchy`) and the vision benchmark's baselines use them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import InputError, ParameterError

#: Learning-rate schedules of :class:`LinearReadout`.
LR_SCHEDULES = ("cosine", "constant")

__all__ = ["LR_SCHEDULES", "LinearReadout", "check_labels", "knn_predict"]


def check_labels(labels: np.ndarray, n: int) -> np.ndarray:
    """``labels`` as ``int64 [n]``; InputError unless they are ``n`` integers."""
    y = np.asarray(labels)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise InputError(f"labels must be {n} integers, got {y.dtype} {y.shape}")
    return y.astype(np.int64)


def knn_predict(
    train: np.ndarray, train_labels: np.ndarray, query: np.ndarray, k: int = 3, chunk: int = 512
) -> np.ndarray:
    """k-NN (Euclidean) majority vote of ``query`` rows against ``train`` rows (float arrays)."""
    train = np.asarray(train, dtype=np.float32)
    query = np.asarray(query, dtype=np.float32)
    y = np.asarray(train_labels, dtype=np.int64)
    if train.ndim != 2 or query.ndim != 2 or train.shape[1] != query.shape[1]:
        raise InputError(f"feature shapes disagree: train {train.shape}, query {query.shape}")
    k = min(int(k), train.shape[0])
    classes, y_idx = np.unique(y, return_inverse=True)
    n_cls = classes.size
    tr_sq = np.einsum("ij,ij->i", train, train)
    out = np.empty(query.shape[0], dtype=np.int64)
    for s in range(0, query.shape[0], chunk):
        q = query[s : s + chunk]
        d = tr_sq[None, :] - 2.0 * (q @ train.T)  # |q|^2 is constant per row
        nn = np.argpartition(d, k - 1, axis=1)[:, :k] if k < d.shape[1] else np.argsort(d, 1)
        order = np.argsort(np.take_along_axis(d, nn, axis=1), axis=1, kind="stable")
        nn = np.take_along_axis(nn, order, axis=1)  # nearest first
        lab = y_idx[nn]  # [m, k]
        votes = np.zeros((q.shape[0], n_cls), dtype=np.int64)
        np.add.at(votes, (np.arange(q.shape[0])[:, None], lab), 1)
        best = votes.max(axis=1, keepdims=True)
        tied = votes == best  # [m, n_cls]
        # the first (nearest) neighbour whose class is among the tied winners
        ok = np.take_along_axis(tied, lab, axis=1)
        first = np.argmax(ok, axis=1)
        out[s : s + chunk] = classes[lab[np.arange(q.shape[0]), first]]
    return out


class LinearReadout:
    """Softmax regression trained by mini-batch Adam: a linear readout of feature vectors.

    Parameters
    ----------
    epochs : int
        Passes over the data; the number actually run is
        ``max(epochs, ceil(min_steps / batches_per_epoch))`` so that small training sets still
        get ``min_steps`` updates.
    lr, batch_size, l2 : float, int, float
        Adam's initial learning rate, mini-batch size, L2 penalty on the weights (not the bias).
    lr_schedule : {"cosine", "constant"}
        ``"cosine"``: the learning rate decays from ``lr`` to zero along half a cosine over all
        updates, so the last updates settle the weights instead of leaving them wherever the
        last noisy mini-batch step put them. Default chosen in
        docs/experiments/vision-settings.md ("The readout's learning-rate schedule").
    min_steps : int
        Minimum number of Adam updates.
    seed : int
        Seeds the shuffling and the dropout masks (weights start at zero).
    dropout : float
        Input dropout while training (0: off): in every mini-batch each group of features of
        each example is zeroed with this probability and the kept ones are scaled by
        ``1 / (1 - dropout)``, so the readout cannot lean on a few groups. Prediction uses all
        features.
    dropout_groups : array of int or None
        Group of every feature for ``dropout`` (features of one group are dropped together,
        e.g. the mini-columns of one grid position: spatial dropout); ``None``: every feature
        on its own.
    """

    def __init__(
        self,
        epochs: int = 15,
        lr: float = 3e-3,
        batch_size: int = 256,
        l2: float = 3e-5,
        min_steps: int = 1000,
        seed: int = 0,
        lr_schedule: str = "cosine",
        dropout: float = 0.0,
        dropout_groups: np.ndarray | None = None,
    ) -> None:
        for name, v in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ParameterError(f"{name} must be a positive integer, got {v!r}")
        if not float(lr) > 0 or float(l2) < 0 or int(min_steps) < 0:
            raise ParameterError("lr must be > 0, l2 >= 0 and min_steps >= 0")
        if lr_schedule not in LR_SCHEDULES:
            raise ParameterError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ParameterError(f"dropout must be in [0, 1), got {dropout!r}")
        groups = None
        if dropout_groups is not None:
            groups = np.asarray(dropout_groups)
            if groups.ndim != 1 or not np.issubdtype(groups.dtype, np.integer) or (
                    groups.size and groups.min() < 0):
                raise ParameterError("dropout_groups must be a 1-D array of non-negative ints")
            groups = groups.astype(np.int64)
        self.dropout, self.dropout_groups = float(dropout), groups
        self.lr_schedule = lr_schedule
        self.epochs, self.lr, self.batch_size = int(epochs), float(lr), int(batch_size)
        self.l2, self.min_steps, self.seed = float(l2), int(min_steps), int(seed)
        self.classes_: np.ndarray | None = None
        self.W: np.ndarray | None = None
        self.b: np.ndarray | None = None

    def fit(self, features: np.ndarray, labels: np.ndarray) -> LinearReadout:
        """Learn the weights from ``features [N, D]`` and integer ``labels [N]``."""
        X = np.asarray(features, dtype=np.float32)
        if X.ndim != 2 or X.shape[0] == 0:
            raise InputError(f"features must have shape [N, D] with N > 0, got {X.shape}")
        y = check_labels(labels, X.shape[0])
        groups = self.dropout_groups
        if groups is not None and groups.size != X.shape[1]:
            raise InputError(f"dropout_groups has {groups.size} entries for {X.shape[1]} "
                             "features")
        self.classes_, yi = np.unique(y, return_inverse=True)
        n, d = X.shape
        c = self.classes_.size
        n_groups = d if groups is None else int(groups.max()) + 1
        keep_scale = np.float32(1.0 / (1.0 - self.dropout))
        W = np.zeros((d, c), np.float32)
        b = np.zeros(c, np.float32)
        mW, vW = np.zeros_like(W), np.zeros_like(W)
        mb, vb = np.zeros_like(b), np.zeros_like(b)
        b1, b2, eps = 0.9, 0.999, 1e-8
        rng = np.random.default_rng(self.seed)
        bs = min(self.batch_size, n)
        batches = math.ceil(n / bs)
        epochs = max(self.epochs, math.ceil(self.min_steps / batches))
        total = epochs * batches
        step = 0
        for _ in range(epochs):
            perm = rng.permutation(n)
            for s in range(0, n, bs):
                idx = perm[s : s + bs]
                xb: np.ndarray = X[idx]
                if self.dropout > 0:
                    keep = rng.random((idx.size, n_groups), dtype=np.float32) >= self.dropout
                    if groups is not None:
                        keep = keep[:, groups]
                    xb = xb * (keep * keep_scale)
                z = xb @ W + b
                z -= z.max(axis=1, keepdims=True)
                p = np.exp(z)
                p /= p.sum(axis=1, keepdims=True)
                p[np.arange(idx.size), yi[idx]] -= 1.0
                p /= np.float32(idx.size)
                gW = xb.T @ p + self.l2 * W
                gb = p.sum(axis=0)
                step += 1
                mW = b1 * mW + (1 - b1) * gW
                vW = b2 * vW + (1 - b2) * gW * gW
                mb = b1 * mb + (1 - b1) * gb
                vb = b2 * vb + (1 - b2) * gb * gb
                corr1, corr2 = 1 - b1**step, 1 - b2**step
                rate = self.lr / corr1
                if self.lr_schedule == "cosine":
                    rate *= 0.5 * (1.0 + math.cos(math.pi * (step - 1) / total))
                W -= rate * mW / (np.sqrt(vW / corr2) + eps)
                b -= rate * mb / (np.sqrt(vb / corr2) + eps)
        self.W, self.b = W.astype(np.float32), b.astype(np.float32)
        self.epochs_run = epochs
        return self

    def decision_function(self, features: np.ndarray) -> np.ndarray:
        """The logits ``features @ W + b``, ``[N, classes]``."""
        if self.W is None:
            raise InputError("LinearReadout used before fit")
        X = np.asarray(features, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.W.shape[0]:
            raise InputError(f"expected features [N, {self.W.shape[0]}], got {X.shape}")
        return X @ self.W + self.b

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (softmax of the logits), ``[N, classes]``."""
        z = self.decision_function(features)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The most probable class of every row of ``features [N, D]``."""
        best = np.argmax(self.decision_function(features), axis=1)
        assert self.classes_ is not None  # set by fit, like W
        return self.classes_[best]

    def describe(self) -> dict[str, Any]:
        """The settings (and, once fitted, the epochs run) as a JSON-ready dict."""
        info: dict[str, Any] = {
            "classifier": "softmax regression, mini-batch Adam",
            "epochs": self.epochs,
            "lr": self.lr,
            "lr_schedule": self.lr_schedule,
            "batch_size": self.batch_size,
            "l2": self.l2,
            "min_steps": self.min_steps,
        }
        if self.dropout > 0:
            info["dropout"] = self.dropout
            info["dropout_groups"] = ("features" if self.dropout_groups is None
                                      else int(self.dropout_groups.max()) + 1)
        if self.W is not None:
            info["epochs_run"] = self.epochs_run
        return info
