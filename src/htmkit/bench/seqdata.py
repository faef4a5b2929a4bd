"""Data and metrics of the sequence-learning benchmarks (Cui, Ahmad & Hawkins 2016).

Two tasks, as in "Continuous online sequence learning with an unsupervised neural network
model", Neural Computation 28(11), 2016:

* the **high-order sequence task** — a seeded generator of the paper's discrete stream
  (:func:`make_sequence_set`, :func:`generate_stream`) and its scoring (:func:`score_stream`,
  :func:`moving_accuracy`, :func:`learn_time`);
* **NYC taxi demand** — a loader for the NuPIC-format CSV files (:func:`load_taxi`) and the
  error measures (:func:`nrmse`, :func:`mape`, :func:`negative_log_likelihood`).

Only numpy and pandas are needed here; the models live in :mod:`htmkit.bench.sequences`,
:mod:`htmkit.bench.taxi` and :mod:`htmkit.bench.lstm`.

The high-order task
-------------------
Ten symbols ``0..9`` form eight sequences in four *pairs*. Two pairs have length 7 (a shared
middle run of 5 symbols) and two have length 8 (a middle of 6). The two sequences of a pair
share the middle and differ in the first and the last symbol, and the first decides the last:
``6 8 7 4 2 3 0`` / ``1 8 7 4 2 3 5``. The two pairs of one length use the same two first
symbols with the endings crossed (``6 3 4 2 7 8 5`` / ``1 3 4 2 7 8 0``), so neither the first
symbol nor the middle alone predicts the ending: it takes the first symbol, 6 or 7 elements
back, together with the middle. The generator draws, for each length, two disjoint "first"
symbols, two "last" symbols and a middle set from the ten symbols, and two different
orderings of the middle set whose first symbols differ (the paper's fixed set,
:data:`PAPER_SEQUENCES`, has this form and can be used instead).

The stream presents sequences in random order; one noise symbol, drawn uniformly (with
replacement) from a pool of ``noise_pool`` symbols ``10 .. 10 + noise_pool - 1`` that never
occur in a sequence, separates consecutive sequences. No reset is given to the models. Every
sequence that *starts* at element index ``switch_at`` or later comes from the *perturbed* set:
the same middles with the two endings of each pair swapped.

Only the prediction of each sequence's **last** element is scored (it is the only element that
needs high-order context and that is predictable at all; noise is never scored). Accuracy over
time is a moving average over the last ``window`` (100) scored predictions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError, ParameterError

__all__ = [
    "N_SYMBOLS",
    "PAPER_SEQUENCES",
    "PAPER_PERTURBED",
    "SequenceSet",
    "HighOrderStream",
    "make_sequence_set",
    "paper_sequence_set",
    "swap_endings",
    "generate_stream",
    "score_stream",
    "moving_accuracy",
    "accuracy_at",
    "learn_time",
    "summarize_accuracy",
    "nrmse",
    "mape",
    "negative_log_likelihood",
    "bucket_edges",
    "TAXI_FILES",
    "default_sequences_dir",
    "load_taxi",
    "week_starts",
]

#: Number of real (sequence) symbols of the high-order task.
N_SYMBOLS = 10

#: The paper's sequence set (numenta/htmresearch, ``HighOrderDataset``, one prediction).
PAPER_SEQUENCES: tuple[tuple[int, ...], ...] = (
    (6, 8, 7, 4, 2, 3, 0),
    (1, 8, 7, 4, 2, 3, 5),
    (6, 3, 4, 2, 7, 8, 5),
    (1, 3, 4, 2, 7, 8, 0),
    (0, 9, 7, 8, 5, 3, 4, 1),
    (2, 9, 7, 8, 5, 3, 4, 6),
    (0, 4, 3, 5, 8, 7, 9, 6),
    (2, 4, 3, 5, 8, 7, 9, 1),
)

#: The paper's perturbed set: the same middles with the endings of each pair swapped.
PAPER_PERTURBED: tuple[tuple[int, ...], ...] = (
    (6, 8, 7, 4, 2, 3, 5),
    (1, 8, 7, 4, 2, 3, 0),
    (6, 3, 4, 2, 7, 8, 0),
    (1, 3, 4, 2, 7, 8, 5),
    (0, 9, 7, 8, 5, 3, 4, 6),
    (2, 9, 7, 8, 5, 3, 4, 1),
    (0, 4, 3, 5, 8, 7, 9, 1),
    (2, 4, 3, 5, 8, 7, 9, 6),
)


# --------------------------------------------------------------------------- high-order task
@dataclass(frozen=True)
class SequenceSet:
    """Eight sequences in four pairs: ``sequences[2k]`` and ``sequences[2k+1]`` are a pair."""

    sequences: tuple[tuple[int, ...], ...]

    @property
    def pairs(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        s = self.sequences
        return [(s[i], s[i + 1]) for i in range(0, len(s), 2)]

    def perturbed(self) -> SequenceSet:
        """The same middles with each pair's endings swapped (see :func:`swap_endings`)."""
        return swap_endings(self)


def swap_endings(seqs: SequenceSet) -> SequenceSet:
    """Swap the last symbols of the two sequences of every pair."""
    out: list[tuple[int, ...]] = []
    for a, b in seqs.pairs:
        out.append(a[:-1] + (b[-1],))
        out.append(b[:-1] + (a[-1],))
    return SequenceSet(tuple(out))


def paper_sequence_set() -> SequenceSet:
    """The paper's fixed set :data:`PAPER_SEQUENCES`."""
    return SequenceSet(PAPER_SEQUENCES)


def make_sequence_set(seed: int | None = None, n_symbols: int = N_SYMBOLS) -> SequenceSet:
    """Draw a random set of the paper's form (see the module docstring).

    For each length ``L`` in (7, 8): two first symbols ``f0, f1``, two last symbols ``e0, e1``
    and ``L - 2`` middle symbols, all distinct, are drawn from ``range(n_symbols)``; two
    different orderings ``m, m'`` of the middle symbols (with different first symbols) give the
    pairs ``(f0 m e0, f1 m e1)`` and ``(f0 m' e1, f1 m' e0)``.
    """
    if n_symbols < 10:
        raise ParameterError(f"n_symbols must be >= 10 (length-8 sequences need 10), got "
                             f"{n_symbols}")
    rng = np.random.default_rng(seed)
    out: list[tuple[int, ...]] = []
    for length in (7, 8):
        k = length - 2
        pick = [int(x) for x in rng.choice(n_symbols, 4 + k, replace=False)]
        f0, f1, e0, e1 = pick[:4]
        middle = pick[4:]
        m1 = [int(x) for x in rng.permutation(middle)]
        while True:
            m2 = [int(x) for x in rng.permutation(middle)]
            if m2[0] != m1[0]:
                break
        out.append((f0, *m1, e0))
        out.append((f1, *m1, e1))
        out.append((f0, *m2, e1))
        out.append((f1, *m2, e0))
    return SequenceSet(tuple(out))


@dataclass
class HighOrderStream:
    """A generated stream of the high-order task.

    Attributes
    ----------
    symbols : ndarray of int64, shape (T,)
        The stream. Symbols ``< n_symbols`` are sequence symbols; the others are noise.
    is_last : ndarray of bool
        True where the element is the last element of a sequence (the scored positions).
    is_noise : ndarray of bool
        True where the element is a noise separator.
    seq_id : ndarray of int16
        Index (0..7) of the sequence the element belongs to in its set, -1 for noise.
    perturbed : ndarray of bool
        True for elements of sequences drawn from the perturbed set.
    """

    symbols: np.ndarray
    is_last: np.ndarray
    is_noise: np.ndarray
    seq_id: np.ndarray
    perturbed: np.ndarray
    switch_at: int
    n_symbols: int
    noise_pool: int
    sequence_set: SequenceSet
    perturbed_set: SequenceSet
    seed: int | None = None
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.symbols.size)

    @property
    def n_total_symbols(self) -> int:
        """Number of distinct symbol ids (sequence symbols + noise pool)."""
        return self.n_symbols + self.noise_pool

    @property
    def noise_ids(self) -> range:
        return range(self.n_symbols, self.n_symbols + self.noise_pool)


def generate_stream(
    seed: int | None = 0,
    length: int = 20000,
    switch_at: int | None = 10000,
    noise_pool: int = 5000,
    sequence_set: str | SequenceSet = "random",
) -> HighOrderStream:
    """Generate the high-order stream (see the module docstring).

    Parameters
    ----------
    seed : int or None
        Seeds the sequence set (when ``sequence_set="random"``), the order of sequences and the
        noise symbols.
    length : int
        Number of elements (the last sequence is cut at ``length``).
    switch_at : int or None
        Sequences that start at this element index or later come from the perturbed set
        (``None``: never).
    noise_pool : int
        Number of distinct noise symbols (ids ``10 .. 10 + noise_pool - 1``).
    sequence_set : "random", "paper" or SequenceSet
        ``"random"`` draws a set with :func:`make_sequence_set` from ``seed``; ``"paper"`` uses
        :data:`PAPER_SEQUENCES`.
    """
    if length < 1:
        raise ParameterError(f"length must be >= 1, got {length}")
    if noise_pool < 1:
        raise ParameterError(f"noise_pool must be >= 1, got {noise_pool}")
    rng = np.random.default_rng(seed)
    set_seed = int(rng.integers(2**31))
    if isinstance(sequence_set, SequenceSet):
        seqs = sequence_set
    elif sequence_set == "random":
        seqs = make_sequence_set(set_seed)
    elif sequence_set == "paper":
        seqs = paper_sequence_set()
    else:
        raise ParameterError(f"sequence_set must be 'random', 'paper' or a SequenceSet, got "
                             f"{sequence_set!r}")
    pert = swap_endings(seqs)
    n_sym = N_SYMBOLS
    symbols = np.empty(length, np.int64)
    is_last = np.zeros(length, bool)
    is_noise = np.zeros(length, bool)
    seq_id = np.full(length, -1, np.int16)
    perturbed = np.zeros(length, bool)
    t = 0
    first = True
    while t < length:
        if not first:
            symbols[t] = n_sym + int(rng.integers(noise_pool))
            is_noise[t] = True
            t += 1
            if t >= length:
                break
        first = False
        k = int(rng.integers(len(seqs.sequences)))
        use_pert = switch_at is not None and t >= switch_at
        seq = (pert if use_pert else seqs).sequences[k]
        for j, s in enumerate(seq):
            if t >= length:
                break
            symbols[t] = s
            seq_id[t] = k
            perturbed[t] = use_pert
            is_last[t] = j == len(seq) - 1
            t += 1
    return HighOrderStream(
        symbols=symbols, is_last=is_last, is_noise=is_noise, seq_id=seq_id,
        perturbed=perturbed, switch_at=int(switch_at) if switch_at is not None else length,
        n_symbols=n_sym, noise_pool=int(noise_pool), sequence_set=seqs, perturbed_set=pert,
        seed=seed,
    )


def score_stream(stream: HighOrderStream, predictions: np.ndarray) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """Scored events of a run.

    Parameters
    ----------
    predictions : ndarray of int, shape (T,)
        ``predictions[t]`` is the model's prediction of ``stream.symbols[t]``, made after it saw
        ``symbols[t-1]`` (``-1`` = no prediction, always wrong).

    Returns
    -------
    times, correct : ndarray of int64, ndarray of bool
        Element index of every scored element (the last element of each sequence) and whether
        it was predicted.
    """
    pred = np.asarray(predictions)
    if pred.shape != stream.symbols.shape:
        raise ParameterError(f"predictions must have shape {stream.symbols.shape}, got "
                             f"{pred.shape}")
    times = np.flatnonzero(stream.is_last).astype(np.int64)
    correct = pred[times] == stream.symbols[times]
    return times, correct


def moving_accuracy(correct: np.ndarray, window: int = 100) -> np.ndarray:
    """Trailing moving average: ``out[i] = mean(correct[max(0, i-window+1) : i+1])``."""
    c = np.asarray(correct, dtype=np.float64)
    if window < 1:
        raise ParameterError(f"window must be >= 1, got {window}")
    if c.size == 0:
        return c.copy()
    cs = np.concatenate([[0.0], np.cumsum(c)])
    i = np.arange(c.size)
    lo = np.maximum(0, i - window + 1)
    return (cs[i + 1] - cs[lo]) / (i + 1 - lo)


def accuracy_at(times: np.ndarray, accuracy: np.ndarray, before: int) -> float:
    """The moving accuracy at the last scored event with ``time < before`` (NaN if none)."""
    idx = int(np.searchsorted(np.asarray(times), before, side="left")) - 1
    return float(accuracy[idx]) if idx >= 0 else float("nan")


def learn_time(
    times: np.ndarray,
    accuracy: np.ndarray,
    target: float,
    start: int = 0,
    window: int = 100,
    fraction: float = 0.95,
) -> int | None:
    """First element index at which the moving accuracy reaches ``fraction * target``.

    Only events whose moving window lies entirely at or after element ``start`` count (the
    first ``window - 1`` scored events after ``start`` are skipped), so the accuracy of a
    previous phase cannot carry over a switch. Consequently even a perfect learner needs one
    full window (about ``window`` x 8.5 elements in the high-order task). Returns the element
    index (absolute; subtract ``start`` for a time since ``start``) or ``None`` if never reached.
    A ``target`` that is NaN or <= 0 gives ``None``.
    """
    t = np.asarray(times)
    acc = np.asarray(accuracy)
    if not (target > 0):
        return None
    first = int(np.searchsorted(t, start, side="left"))
    begin = first + window - 1
    thr = fraction * target - 1e-12
    hits = np.flatnonzero(acc[begin:] >= thr)
    if hits.size == 0:
        return None
    return int(t[begin + hits[0]])


def summarize_accuracy(
    stream: HighOrderStream, predictions: np.ndarray, window: int = 100
) -> dict:
    """Final accuracies, learn and relearn times of one run (see the module docstring).

    Returns a dict with ``final_before`` (moving accuracy just before the switch),
    ``final_end`` (at the end), ``learn_time`` (element index where :func:`learn_time`'s
    default fraction of ``final_before`` is first reached), ``relearn_time`` (elements after
    the switch until that fraction of ``final_end``
    is reached again with a window entirely after the switch), ``mean_accuracy`` (plain mean
    over all scored events) and the curve (``times``, ``accuracy``).
    """
    times, correct = score_stream(stream, predictions)
    acc = moving_accuracy(correct, window)
    switch = stream.switch_at
    has_switch = switch < len(stream)
    final_before = accuracy_at(times, acc, switch) if has_switch else float(acc[-1])
    final_end = float(acc[-1]) if acc.size else float("nan")
    lt = learn_time(times, acc, final_before, 0, window)
    if lt is not None and has_switch and lt >= switch:
        lt = None
    rt = None
    if has_switch:
        r = learn_time(times, acc, final_end, switch, window)
        rt = None if r is None else r - switch
    return {
        "final_before": final_before,
        "final_end": final_end,
        "learn_time": lt,
        "relearn_time": rt,
        "mean_accuracy": float(np.mean(correct)) if correct.size else float("nan"),
        "n_scored": int(correct.size),
        "times": times,
        "accuracy": acc,
    }


# --------------------------------------------------------------------------- error measures
def _finite_pairs(truth: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(truth, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    if y.shape != p.shape:
        raise ParameterError(f"truth and prediction shapes differ: {y.shape} vs {p.shape}")
    ok = np.isfinite(y) & np.isfinite(p)
    return y[ok], p[ok]


def nrmse(truth: np.ndarray, pred: np.ndarray) -> float:
    """RMSE / std(truth) over the pairs where both are finite (population std)."""
    y, p = _finite_pairs(truth, pred)
    if y.size == 0:
        return float("nan")
    sd = float(np.std(y))
    if sd == 0:
        return float("nan")
    return float(np.sqrt(np.mean((y - p) ** 2)) / sd)


def mape(truth: np.ndarray, pred: np.ndarray) -> float:
    """sum|truth - pred| / sum|truth| over the pairs where both are finite."""
    y, p = _finite_pairs(truth, pred)
    den = float(np.sum(np.abs(y)))
    if y.size == 0 or den == 0:
        return float("nan")
    return float(np.sum(np.abs(y - p)) / den)


def bucket_edges(lo: float = 0.0, hi: float = 40000.0, n: int = 22) -> np.ndarray:
    """Edges of ``n`` equal buckets *centred* on ``linspace(lo, hi, n)``: ``n + 1`` values.

    The default is the paper's NLL bucketing (NuPIC ``ScalarEncoder(n=22, w=1, minval=0,
    maxval=40000)``: bucket ``i`` is centred on ``i * 40000 / 21``).
    """
    if n < 2 or not hi > lo:
        raise ParameterError(f"need n >= 2 and hi > lo, got n={n}, lo={lo}, hi={hi}")
    step = (hi - lo) / (n - 1)
    return lo + (np.arange(n + 1) - 0.5) * step


def negative_log_likelihood(
    probs: np.ndarray, edges: np.ndarray, truth: np.ndarray, min_prob: float = 1e-4
) -> float:
    """Mean negative log-likelihood of the true values under bucketed predictive distributions.

    Parameters
    ----------
    probs : ndarray, shape (T, B)
        Row ``t``: probabilities of the ``B`` buckets ``[edges[b], edges[b+1])`` for truth ``t``
        (rows need not sum to 1: missing mass is "outside every bucket"). Rows with NaN are
        skipped.
    edges : ndarray, shape (B + 1,)
        Increasing bucket edges; values outside are clipped into the first/last bucket.
    truth : ndarray, shape (T,)
    min_prob : float
        Probabilities are floored at this value (as in the paper: 1e-4), so one miss costs at
        most ``-log(min_prob)``.
    """
    P = np.asarray(probs, dtype=np.float64)
    y = np.asarray(truth, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    if P.ndim != 2 or P.shape[0] != y.size or P.shape[1] != e.size - 1:
        raise ParameterError(f"probs must have shape ({y.size}, {e.size - 1}), got {P.shape}")
    ok = np.isfinite(y) & np.all(np.isfinite(P), axis=1)
    if not np.any(ok):
        return float("nan")
    b = np.clip(np.searchsorted(e, y[ok], side="right") - 1, 0, e.size - 2)
    p = P[ok][np.arange(b.size), b]
    return float(np.mean(-np.log(np.maximum(p, min_prob))))


# --------------------------------------------------------------------------- taxi data
#: File names of the taxi data in the sequences data folder.
TAXI_FILES = {"original": "nyc_taxi.csv", "perturbed": "nyc_taxi_perturb.csv"}


def default_sequences_dir() -> Path:
    """Where the sequence data are looked for when no directory is given.

    1. ``$HTMKIT_SEQUENCES_DIR`` if set;
    2. ``../shared/data/sequences`` relative to the current working directory;
    3. ``shared/data/sequences`` next to the repository root (``<repo>/../shared/...``).

    The first that exists is returned; when none exists, the cwd-based one (so error messages
    name it).
    """
    env = os.environ.get("HTMKIT_SEQUENCES_DIR")
    if env:
        return Path(env)
    cwd_based = Path.cwd().parent / "shared" / "data" / "sequences"
    repo_based = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "sequences"
    for cand in (cwd_based, repo_based):
        if cand.is_dir():
            return cand
    return cwd_based


def load_taxi(path: str | os.PathLike):
    """Read a NuPIC-format taxi CSV (3 header rows: names, types, flags).

    Returns a pandas DataFrame with columns ``timestamp`` (datetime64), ``value`` (float,
    the passenger count), ``timeofday`` (minutes, int) and ``dayofweek`` (0 = Monday).

    Raises
    ------
    DataError
        The file is missing or malformed (the message names it).
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise DataError(
            f"{p}: taxi data not found. Expected the NuPIC CSV files nyc_taxi.csv and "
            f"nyc_taxi_perturb.csv in {p.parent} (see shared/data/sequences/SOURCE.md); give "
            "another folder with --data-dir or $HTMKIT_SEQUENCES_DIR."
        )
    try:
        df = pd.read_csv(p, header=0, skiprows=[1, 2])
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name
        raise DataError(f"{p}: cannot read CSV: {exc}") from None
    need = ["timestamp", "passenger_count", "timeofday", "dayofweek"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(f"{p}: missing column(s) {missing}; found {list(df.columns)}")
    out = pd.DataFrame({
        "timestamp": pd.to_datetime(df["timestamp"], errors="coerce"),
        "value": pd.to_numeric(df["passenger_count"], errors="coerce").astype(float),
        "timeofday": pd.to_numeric(df["timeofday"], errors="coerce"),
        "dayofweek": pd.to_numeric(df["dayofweek"], errors="coerce"),
    })
    bad = out.isna().any(axis=1).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 4  # 1-based line number in the file
        raise DataError(f"{p}: line {row}: unreadable value")
    out["timeofday"] = out["timeofday"].astype(np.int64)
    out["dayofweek"] = out["dayofweek"].astype(np.int64)
    return out


def week_starts(timestamps) -> np.ndarray:
    """Indices of the rows at Monday 00:00 (the LSTM's weekly retraining points)."""
    import pandas as pd

    ts = pd.DatetimeIndex(timestamps)
    mask = (ts.day_of_week == 0) & (ts.hour == 0) & (ts.minute == 0)
    return np.flatnonzero(mask)



def summary_stats(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """Mean, std and count of the finite values over seeds (``None``/NaN counted as missing)."""
    v = np.array([np.nan if x is None else float(x) for x in values], dtype=np.float64)
    ok = np.isfinite(v)
    if not ok.any():
        return {"mean": None, "std": None, "n": 0, "missing": int((~ok).sum())}
    return {"mean": float(v[ok].mean()), "std": float(v[ok].std()), "n": int(ok.sum()),
            "missing": int((~ok).sum())}


def lstm_availability() -> tuple[bool, str | None]:
    """Whether the PyTorch LSTM baselines can run here."""
    from .lstm import torch_available

    if not torch_available():
        return False, "PyTorch not installed (pip install 'htmkit[torch]')"
    return True, None
