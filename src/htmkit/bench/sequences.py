"""``htmkit bench sequences``: the high-order sequence task of Cui, Ahmad & Hawkins (2016).

Models (see :mod:`htmkit.bench.seqdata` for the task and its scoring):

``htm``
    :func:`run_htm_sequences` — no Spatial Pooler; every symbol has a random SDR of 41 of 2048
    bits (like NuPIC's ``SDRCategoryEncoder``, seeded, for the 10 sequence symbols and the
    5000 noise symbols) fed straight to a :class:`~htmkit.temporal_memory.TemporalMemory` of
    2048 x 32 cells with the paper's parameters (:data:`HTM_PARAMS`). After each element the
    predicted symbol is the candidate whose encoding overlaps most with the columns of the
    predictive cells (ties broken at random, seeded; no predictive column = no prediction).
    Candidates are the 10 sequence symbols, as in the paper's code (its classifier mapped only
    the sequence symbols; ``classify_with_noise=True`` adds the 5000 noise symbols).
``markov``
    :func:`run_markov_sequences` — first-order baseline: predicts the sequence symbol that most
    often followed the current symbol so far (online counts).
``lstm-1000``, ``lstm-3000``, ``lstm-9000``
    :func:`htmkit.bench.lstm.run_lstm_sequences` — re-trained from scratch every 1000 elements
    on the last N elements (inputs: the paper's random 25-d real codes; output: nearest code).
``lstm-online``
    :func:`htmkit.bench.lstm.run_lstm_online_sequences` — one gradient step at every element on
    the last 100 elements.

:func:`run_benchmark` runs the models over one or more seeds and returns a JSON-ready dict;
:func:`render_table` and :func:`write_plots` present it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..errors import ParameterError
from ..params import Boolean, Constraints, Interval, Options, validate
from .seqdata import (
    HighOrderStream,
    generate_stream,
    lstm_availability,
    summarize_accuracy,
    summary_stats,
)

__all__ = [
    "HTM_PARAMS",
    "PUBLISHED",
    "ALL_MODELS",
    "SequencesConfig",
    "symbol_sdrs",
    "run_htm_sequences",
    "run_markov_sequences",
    "htm_available",
    "run_benchmark",
    "render_table",
    "write_plots",
]

#: The paper's TM parameters (numenta/htmresearch, discrete_sequences/tm/suite.py).
HTM_PARAMS: dict[str, Any] = {
    "column_dimensions": (2048,),
    "cells_per_column": 32,
    "activation_threshold": 15,
    "min_threshold": 15,
    "max_new_synapse_count": 32,
    "initial_permanence": 0.21,
    "connected_permanence": 0.5,
    "permanence_increment": 0.1,
    "permanence_decrement": 0.1,
    "predicted_segment_decrement": 0.02,
    "max_segments_per_cell": 128,
    "max_synapses_per_segment": 128,
}

#: Encoder of the HTM: 41 active bits of 2048 per symbol.
ENCODER_SIZE = 2048
ENCODER_ACTIVE = 41

#: The paper's stored results (final accuracy, learn time, relearn time; None = not given).
PUBLISHED: dict[str, dict[str, float | None]] = {
    "htm": {"final": 1.00, "learn_time": 7000, "relearn_time": 2900},
    "lstm-1000": {"final": 0.74, "learn_time": None, "relearn_time": None},
    "lstm-3000": {"final": 0.92, "learn_time": None, "relearn_time": None},
    "lstm-9000": {"final": 0.99, "learn_time": None, "relearn_time": 8900},
    "lstm-online": {"final": 0.90, "learn_time": None, "relearn_time": None},
}

ALL_MODELS = ("htm", "markov", "lstm-1000", "lstm-3000", "lstm-9000", "lstm-online")

ProgressFactory = Callable[[str, int], Callable[[int], None]]


@dataclass
class SequencesConfig:
    """Settings of one benchmark run (``quick()`` gives the seconds-long test variant).

    Validated at construction and again by :func:`run_benchmark` (the CLI sets fields after
    construction)."""

    _parameter_constraints: ClassVar[Constraints] = {
        **{name: Interval(int, 1) for name in (
            "length", "switch_at", "noise_pool", "window", "retrain_every", "lstm_hidden",
            "lstm_epochs", "lstm_chunk", "online_window", "online_steps", "threads")},
        "lstm_burn_in": Interval(int, 0),
        "sequence_set": Options(("random", "paper")),
        "lstm_optimizer": Options(("rprop", "adam")),
        "lstm_lr": Interval(float, 0, None, closed="neither"),
        "online_lr": Interval(float, 0, None, closed="neither"),
        "classify_with_noise": Boolean(),
        "quick": Boolean(),
    }

    length: int = 20000
    switch_at: int = 10000
    noise_pool: int = 5000
    sequence_set: str = "random"
    window: int = 100
    retrain_every: int = 1000
    lstm_windows: dict[str, int] = field(
        default_factory=lambda: {"lstm-1000": 1000, "lstm-3000": 3000, "lstm-9000": 9000})
    lstm_hidden: int = 20
    lstm_epochs: int = 200
    lstm_chunk: int = 100
    lstm_burn_in: int = 20
    lstm_optimizer: str = "rprop"
    lstm_lr: float = 0.01
    online_window: int = 100
    online_steps: int = 1
    online_lr: float = 0.01
    threads: int = 1
    classify_with_noise: bool = False
    quick: bool = False

    def __post_init__(self) -> None:
        validate(self)
        if self.switch_at >= self.length:
            raise ParameterError(f"switch_at ({self.switch_at}) must be below length "
                                 f"({self.length})")

    @classmethod
    def quick_config(cls) -> SequencesConfig:
        """A short run for tests: 3000 elements, switch at 1500, small LSTM budgets."""
        return cls(length=3000, switch_at=1500, retrain_every=500,
                   lstm_windows={"lstm-1000": 1000, "lstm-3000": 3000, "lstm-9000": 9000},
                   lstm_epochs=40, online_window=50, quick=True)


# --------------------------------------------------------------------------- HTM
def symbol_sdrs(n_total: int, size: int = ENCODER_SIZE, active: int = ENCODER_ACTIVE,
                seed: int = 0) -> np.ndarray:
    """Random category SDRs: row ``s`` holds the sorted active bits of symbol ``s``."""
    rng = np.random.default_rng([int(seed), size, active])
    out = np.empty((n_total, active), np.int32)
    for s in range(n_total):
        out[s] = np.sort(rng.choice(size, active, replace=False))
    return out


class _OverlapClassifier:
    """Scores candidate symbols by the overlap of their bits with a set of columns."""

    def __init__(self, codes: np.ndarray, size: int, seed: int):
        n, w = codes.shape
        flat = codes.ravel()
        order = np.argsort(flat, kind="stable")
        self._sym = (order // w).astype(np.int64)
        self._ptr = np.searchsorted(flat[order], np.arange(size + 1))
        self.n = n
        self.rng = np.random.default_rng([int(seed), 7])

    def classify(self, columns: np.ndarray) -> int:
        if columns.size == 0:
            return -1
        parts = [self._sym[self._ptr[c]:self._ptr[c + 1]] for c in columns]
        hits = np.concatenate(parts) if parts else np.empty(0, np.int64)
        if hits.size == 0:
            return -1
        scores = np.bincount(hits, minlength=self.n)
        best = np.flatnonzero(scores == scores.max())
        return int(best[0] if best.size == 1 else self.rng.choice(best))


def htm_available() -> tuple[bool, str | None]:
    """Whether :mod:`htmkit.temporal_memory` can be imported (and why not)."""
    try:
        from ..temporal_memory import TemporalMemory  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        return False, f"htmkit.temporal_memory not available ({type(exc).__name__}: {exc})"
    return True, None


def run_htm_sequences(
    stream: HighOrderStream,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    classify_with_noise: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, dict]:
    """Run the paper's HTM (category SDRs -> TemporalMemory, no SP) over ``stream``.

    Returns ``(predictions, info)``; ``predictions[t]`` is the symbol predicted for element
    ``t`` after the TM saw element ``t-1`` (``-1``: no prediction). ``info`` holds the wall
    time of the TM (``tm_s``) and of the whole loop (``wall_s``).
    """
    from ..sdr import SDR
    from ..temporal_memory import TemporalMemory

    p = dict(HTM_PARAMS)
    if params:
        p.update(params)
    ncols = int(np.prod(p["column_dimensions"]))
    cpc = int(p["cells_per_column"])
    codes = symbol_sdrs(stream.n_total_symbols, ncols, ENCODER_ACTIVE, seed)
    cand = codes if classify_with_noise else codes[: stream.n_symbols]
    clf = _OverlapClassifier(cand, ncols, seed)
    cache: dict[int, SDR] = {}
    tic0 = time.perf_counter()
    tm = TemporalMemory(seed=seed, **p)
    T = len(stream)
    preds = np.full(T, -1, np.int64)
    tm_s = 0.0
    tick = 0
    syms = stream.symbols
    for t in range(T):
        s = int(syms[t])
        sdr = cache.get(s)
        if sdr is None:
            sdr = SDR(ncols, codes[s])
            if s < stream.n_symbols:
                cache[s] = sdr
        tic = time.perf_counter()
        tm.compute(sdr, learn=True)
        pc = tm.predictive_cells
        tm_s += time.perf_counter() - tic
        if t + 1 < T:
            cols = np.unique(np.asarray(pc.indices) // cpc)
            preds[t + 1] = clf.classify(cols)
        tick += 1
        if progress is not None and tick == 250:
            progress(tick)
            tick = 0
    if progress is not None and tick:
        progress(tick)
    return preds, {"tm_s": tm_s, "wall_s": time.perf_counter() - tic0}


# --------------------------------------------------------------------------- Markov
def run_markov_sequences(
    stream: HighOrderStream,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, dict]:
    """First-order baseline: predict the sequence symbol most often seen after the current one.

    Counts of ``current -> next`` (next a sequence symbol) are updated online; ties go to a
    seeded random choice; a symbol never seen before gives no prediction (``-1``).
    """
    rng = np.random.default_rng([int(seed), 11])
    n = stream.n_symbols
    counts = np.zeros((stream.n_total_symbols, n), np.int64)
    syms = stream.symbols
    T = syms.size
    preds = np.full(T, -1, np.int64)
    for t in range(T):
        if t > 0 and syms[t] < n:
            counts[syms[t - 1], syms[t]] += 1
        if t + 1 < T:
            row = counts[syms[t]]
            m = row.max()
            if m > 0:
                best = np.flatnonzero(row == m)
                preds[t + 1] = best[0] if best.size == 1 else rng.choice(best)
    if progress is not None:
        progress(T)
    return preds, {}


# --------------------------------------------------------------------------- benchmark
def _model_runner(name: str, cfg: SequencesConfig):
    from . import lstm

    if name == "htm":
        return lambda s, seed, pr: run_htm_sequences(
            s, seed, classify_with_noise=cfg.classify_with_noise, progress=pr)
    if name == "markov":
        return lambda s, seed, pr: run_markov_sequences(s, seed, progress=pr)
    if name in cfg.lstm_windows:
        lc = lstm.LSTMConfig(hidden=cfg.lstm_hidden, epochs=cfg.lstm_epochs,
                             chunk=cfg.lstm_chunk, burn_in=cfg.lstm_burn_in,
                             optimizer=cfg.lstm_optimizer, lr=cfg.lstm_lr,
                             threads=cfg.threads)
        w = cfg.lstm_windows[name]
        return lambda s, seed, pr: lstm.run_lstm_sequences(
            s, w, seed, retrain_every=cfg.retrain_every, cfg=lc,
            classify_with_noise=cfg.classify_with_noise, progress=pr)
    if name == "lstm-online":
        return lambda s, seed, pr: lstm.run_lstm_online_sequences(
            s, seed, online_window=cfg.online_window, steps_per_update=cfg.online_steps,
            hidden=cfg.lstm_hidden, lr=cfg.online_lr, threads=cfg.threads,
            classify_with_noise=cfg.classify_with_noise, progress=pr)
    raise ParameterError(f"models: unknown model {name!r}; choose from "
                         f"{', '.join(ALL_MODELS)}")


def model_availability(name: str) -> tuple[bool, str | None]:
    """Whether a model can run here (the HTM needs the TM, the LSTMs need torch)."""
    if name == "htm":
        return htm_available()
    if name.startswith("lstm"):
        return lstm_availability()
    return True, None


METRICS = ("final_before", "final_end", "learn_time", "relearn_time", "mean_accuracy",
           "wall_s")


def run_benchmark(
    seeds: Sequence[int] = (0,),
    models: Sequence[str] = ALL_MODELS,
    cfg: SequencesConfig | None = None,
    progress: ProgressFactory | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run ``models`` on the high-order task for each seed; return a JSON-ready dict.

    Unavailable models (no TM yet, no torch) are listed with the reason and skipped.
    """
    from .._version import __version__

    cfg = cfg or SequencesConfig()
    cfg.__post_init__()  # the fields may have been set after construction
    models = list(models)
    for m in models:
        if m not in ALL_MODELS:
            raise ParameterError(f"models: unknown model {m!r}; choose from "
                                 f"{', '.join(ALL_MODELS)}")
    result: dict[str, Any] = {
        "benchmark": "sequences",
        "htmkit_version": __version__,
        "config": asdict(cfg),
        "seeds": [int(s) for s in seeds],
        "models": {},
        "published": PUBLISHED,
        "streams": {},
    }
    for m in models:
        ok, why = model_availability(m)
        result["models"][m] = {"available": ok, "reason": why, "runs": []}
        if not ok and log:
            log(f"skipping {m}: {why}")
    for seed in seeds:
        stream = generate_stream(seed, cfg.length, cfg.switch_at, cfg.noise_pool,
                                 cfg.sequence_set)
        result["streams"][str(seed)] = {
            "sequences": [list(s) for s in stream.sequence_set.sequences],
            "perturbed": [list(s) for s in stream.perturbed_set.sequences],
            "n_scored": int(stream.is_last.sum()),
        }
        for m in models:
            entry = result["models"][m]
            if not entry["available"]:
                continue
            runner = _model_runner(m, cfg)
            adv = progress(f"{m} seed {seed}", len(stream)) if progress else None
            tic = time.perf_counter()
            preds, info = runner(stream, int(seed), adv)
            wall = time.perf_counter() - tic
            summ = summarize_accuracy(stream, preds, cfg.window)
            run = {k: summ[k] for k in ("final_before", "final_end", "learn_time",
                                        "relearn_time", "mean_accuracy", "n_scored")}
            run["seed"] = int(seed)
            run["wall_s"] = wall
            run.update({k: v for k, v in info.items() if isinstance(v, (int, float))})
            entry["runs"].append(run)
            if "curve" not in entry:
                entry["curve"] = {"seed": int(seed),
                                  "times": summ["times"].tolist(),
                                  "accuracy": np.round(summ["accuracy"], 4).tolist()}
            if log:
                log(f"{m} seed {seed}: final {run['final_before']:.3f} / "
                    f"{run['final_end']:.3f}, {wall:.1f} s")
    for entry in result["models"].values():
        if entry["runs"]:
            entry["summary"] = {k: summary_stats([r.get(k) for r in entry["runs"]])
                                for k in METRICS}
    return result


# --------------------------------------------------------------------------- presentation
def _fmt(stat: dict | None, digits: int = 2, integer: bool = False) -> str:
    if not stat or stat.get("mean") is None:
        return "—" if not stat or not stat.get("missing") else "never"
    mean, sd, n = stat["mean"], stat["std"], stat["n"]
    s = f"{mean:,.0f}" if integer else f"{mean:.{digits}f}"
    if n > 1:
        s += f"±{sd:,.0f}" if integer else f"±{sd:.{digits}f}"
    if stat.get("missing"):
        s += f" ({stat['missing']} never)"
    return s


def render_table(result: dict[str, Any]):
    """A rich Table: one measured row per model, the paper's row beneath it."""
    from rich.table import Table

    cfg = result["config"]
    seeds = result["seeds"]
    title = (f"High-order sequences: {cfg['length']} elements, switch at {cfg['switch_at']}, "
             f"{len(seeds)} seed(s){' (quick)' if cfg.get('quick') else ''}")
    t = Table(title=title)
    t.add_column("model")
    t.add_column("source")
    t.add_column("acc@switch", justify="right")
    t.add_column("acc@end", justify="right")
    t.add_column("learn", justify="right")
    t.add_column("relearn", justify="right")
    t.add_column("wall s", justify="right")
    for name, entry in result["models"].items():
        if entry.get("runs"):
            s = entry["summary"]
            t.add_row(name, "measured", _fmt(s["final_before"]), _fmt(s["final_end"]),
                      _fmt(s["learn_time"], integer=True), _fmt(s["relearn_time"], integer=True),
                      _fmt(s["wall_s"], 1))
        else:
            t.add_row(name, "[yellow]skipped[/]", entry.get("reason") or "", "", "", "", "")
        pub = result["published"].get(name)
        if pub:
            def _p(v, integer=False):
                if v is None:
                    return "—"
                return f"~{v:,.0f}" if integer else f"{v:.2f}"
            t.add_row("", "[dim]published[/]", f"[dim]{_p(pub['final'])}[/]", "[dim]—[/]",
                      f"[dim]{_p(pub['learn_time'], True)}[/]",
                      f"[dim]{_p(pub['relearn_time'], True)}[/]", "")
    t.caption = ("acc@switch / acc@end: accuracy over the last 100 sequence endings just "
                 "before the switch / at the end. learn: element index where 95 % of "
                 "acc@switch is first reached; relearn: elements after the switch until 95 % "
                 "of acc@end is reached with a window entirely after the switch. Published "
                 "(the paper's stored results): final accuracy, learn and relearn times.")
    return t


def write_plots(result: dict[str, Any], directory) -> list[str]:
    """Write ``sequences_accuracy.png`` (accuracy over time of each model); return the paths."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    cfg = result["config"]
    fig, ax = plt.subplots(figsize=(10, 5))
    for name, entry in result["models"].items():
        c = entry.get("curve")
        if c:
            ax.plot(c["times"], c["accuracy"], label=f"{name} (seed {c['seed']})", lw=1.2)
    ax.axvline(cfg["switch_at"], color="k", ls="--", lw=0.8, label="endings swapped")
    ax.set_xlabel("element index")
    ax.set_ylabel("accuracy (last 100 sequence endings)")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, cfg["length"])
    ax.set_title("High-order sequence prediction (Cui, Ahmad & Hawkins 2016 task)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    p1 = out / "sequences_accuracy.png"
    fig.savefig(p1, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    names, vals, errs, pubs = [], [], [], []
    for name, entry in result["models"].items():
        if entry.get("runs"):
            s = entry["summary"]["final_end"]
            names.append(name)
            vals.append(s["mean"] or 0.0)
            errs.append(s["std"] or 0.0)
            pub = result["published"].get(name)
            pubs.append(pub["final"] if pub else np.nan)
    x = np.arange(len(names))
    ax.bar(x - 0.2, vals, 0.4, yerr=errs, label="measured (end)")
    ax.bar(x + 0.2, pubs, 0.4, label="published", alpha=0.6)
    ax.set_xticks(x, names, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("final accuracy")
    ax.legend(fontsize=8)
    fig.tight_layout()
    p2 = out / "sequences_final.png"
    fig.savefig(p2, dpi=110)
    plt.close(fig)
    return [str(p1), str(p2)]
