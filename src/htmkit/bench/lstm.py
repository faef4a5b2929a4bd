"""PyTorch LSTM baselines of the sequence benchmarks (torch is optional and imported lazily).

The networks follow Cui, Ahmad & Hawkins (2016): one LSTM layer of a few dozen cells and a
linear read-out, trained online by periodic re-training *from scratch* on a sliding window of
the most recent data (the paper used PyBrain with RProp-; here ``torch.optim.Rprop``, the same
full-batch sign-based method, is the default).

Cost control (2 shared CPU cores)
---------------------------------
* Full BPTT over a 9000-element window is replaced by **truncated BPTT over a batch of
  chunks**: the window is cut into chunks of ``chunk`` transitions, each preceded by
  ``burn_in`` elements of context whose outputs are not scored (so every transition of the
  window is trained exactly once, with at least ``burn_in`` elements of history; the longest
  dependency of the high-order task is 8 elements).
* Between two re-trainings the weights are fixed, so the predictions of the whole period are
  computed in one batched forward pass started ``replay`` elements before the period (the
  paper replayed the whole window to set the state; the outputs at time ``t`` only depend on
  inputs up to ``t``, so nothing leaks).
* The *online* LSTM of the high-order task is updated at every element: one gradient step
  (Adam) on the most recent ``online_window`` (100) elements, then it predicts the next
  element (see :func:`run_lstm_online_sequences`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "torch_available",
    "require_torch",
    "LSTMConfig",
    "train_lstm",
    "predict_lstm",
    "run_lstm_sequences",
    "run_lstm_online_sequences",
    "run_lstm_taxi",
]

Progress = Callable[[int], None] | None


def torch_available() -> bool:
    """Whether ``import torch`` works (without importing it twice)."""
    try:
        import torch  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return False
    return True


def require_torch(threads: int | None = 1):
    """Import torch (ImportError with an install hint when missing) and limit its threads."""
    try:
        import torch
    except Exception as exc:  # noqa: BLE001
        raise ImportError(
            "the LSTM baselines need PyTorch: pip install 'htmkit[torch]' "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(int(threads))
    return torch


@dataclass(frozen=True)
class LSTMConfig:
    """Size and training schedule of one LSTM re-training."""

    hidden: int = 20
    epochs: int = 200
    chunk: int = 100
    burn_in: int = 20
    optimizer: str = "rprop"  # "rprop" (full batch, as the paper) or "adam"
    lr: float = 0.01
    threads: int = 1


def _build(torch, n_in: int, n_out: int, hidden: int, seed: int):
    nn = torch.nn
    torch.manual_seed(int(seed) % (2**63))

    class Net(nn.Module):  # type: ignore[name-defined]  # torch is imported at run time
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(n_in, hidden)
            self.out = nn.Linear(hidden, n_out)

        def forward(self, x, state=None):
            h, state = self.lstm(x, state)
            return self.out(h), state

    return Net()


def _chunks(n: int, chunk: int, burn_in: int) -> list[tuple[int, int, int]]:
    """(start, scored_from, end) triples covering scored positions 0..n-1 once each."""
    out = []
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        out.append((max(0, s - burn_in), s, e))
    return out


def train_lstm(
    x: np.ndarray,
    y: np.ndarray,
    cfg: LSTMConfig,
    seed: int = 0,
    weight: np.ndarray | None = None,
):
    """Train a fresh network to map ``x[t] -> y[t]`` (sequence-to-sequence, MSE).

    Parameters
    ----------
    x : ndarray (T, n_in), y : ndarray (T, n_out)
        Inputs and targets of one contiguous stretch.
    weight : ndarray (T,), optional
        Per-position loss weight (0 drops a position from the loss).

    Returns the trained ``torch.nn.Module`` (in eval mode).
    """
    torch = require_torch(cfg.threads)
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.float32)
    n = x.shape[0]
    net = _build(torch, x.shape[1], y.shape[1], cfg.hidden, seed)
    if n < 2:
        return net.eval()
    w = np.ones(n, np.float32) if weight is None else np.asarray(weight, np.float32)
    spans = _chunks(n, cfg.chunk, cfg.burn_in)
    length = max(e - s for s, _, e in spans)
    B = len(spans)
    X = np.zeros((length, B, x.shape[1]), np.float32)
    Y = np.zeros((length, B, y.shape[1]), np.float32)
    M = np.zeros((length, B, 1), np.float32)
    for b, (s, f, e) in enumerate(spans):
        # right-align each chunk so the padding (zeros, weight 0) comes first
        off = length - (e - s)
        X[off:, b] = x[s:e]
        Y[off:, b] = y[s:e]
        M[off + (f - s):, b, 0] = w[f:e]
    Xt, Yt, Mt = torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(M)
    denom = Mt.sum().clamp_min(1.0) * y.shape[1]
    if cfg.optimizer == "rprop":
        opt = torch.optim.Rprop(net.parameters(), lr=cfg.lr)
    elif cfg.optimizer == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    else:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}")
    net.train()
    for _ in range(cfg.epochs):
        opt.zero_grad()
        out, _ = net(Xt)
        loss = (((out - Yt) ** 2) * Mt).sum() / denom
        loss.backward()
        opt.step()
    return net.eval()


def predict_lstm(net, x: np.ndarray) -> np.ndarray:
    """Outputs of ``net`` run over ``x`` (T, n_in) from a zero state: ndarray (T, n_out)."""
    torch = require_torch(None)
    with torch.no_grad():
        out, _ = net(torch.from_numpy(np.asarray(x, np.float32))[:, None, :])
    return out[:, 0, :].numpy()


# --------------------------------------------------------------------------- high-order task
def symbol_encodings(n_total: int, dim: int = 25, seed: int = 0) -> np.ndarray:
    """The paper's LSTM input code: a random real vector in [-1, 1]^dim per symbol."""
    rng = np.random.default_rng([int(seed), 25])
    return rng.uniform(-1.0, 1.0, size=(n_total, dim)).astype(np.float32)


def _classify(outputs: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Index of the nearest code (Euclidean) for each output row."""
    d = (outputs**2).sum(1)[:, None] - 2 * outputs @ codes.T + (codes**2).sum(1)[None, :]
    return np.argmin(d, axis=1)


def run_lstm_sequences(
    stream,
    window: int,
    seed: int = 0,
    retrain_every: int = 1000,
    cfg: LSTMConfig | None = None,
    dim: int = 25,
    replay: int = 100,
    classify_with_noise: bool = False,
    progress: Progress = None,
) -> tuple[np.ndarray, dict]:
    """The paper's periodically re-trained LSTM on a :class:`~htmkit.bench.seqdata.HighOrderStream`.

    At every element index ``t0`` that is a positive multiple of ``retrain_every`` a fresh
    network is trained on the transitions inside the last ``window`` elements (``0..t0``) and
    then predicts every next element until the following re-training. Before the first
    re-training there is no prediction (``-1``). The predicted symbol is the real symbol
    (``0..9``; with ``classify_with_noise`` also the noise symbols) whose code is nearest to the
    output.

    Returns ``(predictions, info)``: ``predictions[t]`` is the prediction of ``symbols[t]``.
    """
    cfg = cfg or LSTMConfig()
    codes = symbol_encodings(stream.n_total_symbols, dim, seed)
    X = codes[stream.symbols]
    T = X.shape[0]
    cand = codes if classify_with_noise else codes[: stream.n_symbols]
    preds = np.full(T, -1, np.int64)
    t_train = 0.0
    points = list(range(retrain_every, T, retrain_every))
    prev = 0
    for k, t0 in enumerate(points):
        lo = max(0, t0 + 1 - window)
        tic = time.perf_counter()
        net = train_lstm(X[lo:t0], X[lo + 1:t0 + 1], cfg, seed=seed * 1000 + k)
        t_train += time.perf_counter() - tic
        t1 = points[k + 1] if k + 1 < len(points) else T
        start = max(0, t0 - replay)
        out = predict_lstm(net, X[start:t1])  # out[i] predicts element start + i + 1
        sel = out[t0 - start: t1 - start]  # outputs at t0..t1-1 -> predict t0+1..t1
        p = _classify(sel, cand)
        hi = min(T, t1 + 1)
        preds[t0 + 1:hi] = p[: hi - t0 - 1]
        if progress is not None:
            progress(t1 - prev)
        prev = t1
    if progress is not None and prev < T:
        progress(T - prev)
    return preds, {"retrainings": len(points), "train_s": t_train}


def run_lstm_online_sequences(
    stream,
    seed: int = 0,
    online_window: int = 100,
    steps_per_update: int = 1,
    hidden: int = 20,
    lr: float = 0.01,
    dim: int = 25,
    threads: int = 1,
    classify_with_noise: bool = False,
    progress: Progress = None,
) -> tuple[np.ndarray, dict]:
    """The online LSTM: updated at every element on the last ``online_window`` elements.

    At element ``t`` the network is run over elements ``t - online_window + 1 .. t`` from a
    zero state; its output at ``t`` is the prediction of element ``t + 1``. Then it takes
    ``steps_per_update`` Adam steps on that window's known transitions. One persistent
    network (it is not re-created), learning rate ``lr``.
    """
    torch = require_torch(threads)
    codes = symbol_encodings(stream.n_total_symbols, dim, seed)
    X = torch.from_numpy(codes[stream.symbols])
    T = X.shape[0]
    cand = codes if classify_with_noise else codes[: stream.n_symbols]
    net = _build(torch, dim, dim, hidden, seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    preds = np.full(T, -1, np.int64)
    outs = np.zeros((T, dim), np.float32)
    tick = 0
    for t in range(T):
        lo = max(0, t + 1 - online_window)
        xw = X[lo:t + 1][:, None, :]
        out, _ = net(xw)
        outs[t] = out[-1, 0].detach().numpy()
        if t - lo >= 1:
            for s in range(steps_per_update):
                if s > 0:
                    out, _ = net(xw)
                loss = ((out[:-1, 0] - X[lo + 1:t + 1]) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        tick += 1
        if progress is not None and tick == 200:
            progress(tick)
            tick = 0
    if progress is not None and tick:
        progress(tick)
    p = _classify(outs[:-1], cand)
    preds[1:] = p
    return preds, {"updates": T, "steps_per_update": steps_per_update}


# --------------------------------------------------------------------------- taxi
def taxi_features(df) -> np.ndarray:
    """Time features of the taxi LSTM: time of day and day of week, standardized.

    The paper standardized them with the whole file's mean and std; both are (almost exactly)
    uniform over the year, so the known uniform means and stds are used instead (no look-ahead).
    """
    tod = (df["timeofday"].to_numpy(np.float64) - 712.5) / 415.7  # 0..1410 step 30
    dow = (df["dayofweek"].to_numpy(np.float64) - 3.0) / 2.0
    return np.stack([tod, dow], axis=1)


def run_lstm_taxi(
    df,
    window: int,
    seed: int = 0,
    horizon: int = 5,
    retrain_at: np.ndarray | None = None,
    score_from: int = 10000,
    cfg: LSTMConfig | None = None,
    replay: int = 336,
    min_train: int = 336,
    progress: Progress = None,
) -> tuple[np.ndarray, dict]:
    """The paper's weekly re-trained LSTM on taxi data (predict ``horizon`` steps ahead).

    Inputs at row ``i``: the value standardized with the training window's mean and std, and
    :func:`taxi_features`; the target is the standardized value at ``i + horizon``. At each
    re-training row ``r`` (default: every Monday 00:00, i.e. every 336 rows) a fresh network is
    trained on the pairs ``i -> i + horizon`` with ``i + horizon <= r`` among the last
    ``window`` rows (nothing from the future), then predicts from rows ``r .. next r - 1``.
    Re-trainings whose predictions all land before ``score_from`` are skipped except the last
    one (it covers the first scored rows); this does not change any scored prediction because
    every re-training starts from scratch.

    Returns ``(pred, info)``: ``pred[t]`` is the prediction of ``value[t]`` made at row
    ``t - horizon`` (NaN where none).
    """
    from .seqdata import week_starts

    cfg = cfg or LSTMConfig(hidden=20, epochs=200, chunk=96, burn_in=48)
    v = df["value"].to_numpy(np.float64)
    feats = taxi_features(df)
    T = v.size
    starts = week_starts(df["timestamp"]) if retrain_at is None else np.asarray(retrain_at)
    points = [int(p) for p in starts if p - horizon >= min_train]
    # keep only re-trainings whose prediction period reaches the scored rows
    keep = []
    for k in range(len(points)):
        nxt = points[k + 1] if k + 1 < len(points) else T
        if nxt + horizon > score_from:
            keep.append(k)
    pred = np.full(T, np.nan)
    t_train = 0.0
    for k in keep:
        r = points[k]
        nxt = points[k + 1] if k + 1 < len(points) else T
        last_i = r - horizon  # last input row with a known target
        lo = max(0, last_i + 1 - window)
        mu, sd = float(v[lo:r + 1].mean()), float(v[lo:r + 1].std()) or 1.0
        z = (v - mu) / sd
        X = np.concatenate([z[:, None], feats], axis=1).astype(np.float32)
        tic = time.perf_counter()
        net = train_lstm(X[lo:last_i + 1], z[lo + horizon:last_i + horizon + 1, None], cfg,
                         seed=seed * 1000 + k)
        t_train += time.perf_counter() - tic
        start = max(0, r - replay)
        out = predict_lstm(net, X[start:nxt])[:, 0]
        seg = out[r - start:]  # predictions made at rows r .. nxt-1
        tgt = np.arange(r, nxt) + horizon
        ok = tgt < T
        pred[tgt[ok]] = seg[ok] * sd + mu
        if progress is not None:
            progress(1)
    return pred, {"retrainings": len(keep), "train_s": t_train, "window": window}
