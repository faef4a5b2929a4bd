"""``htmkit bench long-range``: dependencies across a variable-length middle.

Tasks (:mod:`htmkit.bench.longdata`): ``reber`` (the embedded Reber grammar) and ``deps`` (our
generator: ``n_deps`` start symbols fix their end symbol across a looping middle of
``gap_min..gap_max`` symbols). One unbroken stream per task and seed; every model learns
online in one pass and is never reset. A prediction for element ``t`` is made after element
``t - 1`` and is correct when it is a legal symbol of ``t``; the *dependent* elements (the
symbol fixed by the start of its string) have exactly one legal symbol.

Models:

``tm``
    :class:`~htmkit.temporal_memory.TemporalMemory` on category SDRs (no Spatial Pooler).
    Prediction: the symbol whose SDR overlaps most with the predicted columns.
``tm-cells``
    The same TM run, read out by an online SDR classifier (:class:`~htmkit.predictor.Predictor`)
    on its predictive cells.
``backtracking``
    NuPIC's backtracking TM (:class:`~htmkit.backtracking_tm.BacktrackingTemporalMemory`),
    predicted columns read out as for ``tm``.
``hierarchy`` / ``hierarchy-cells`` / ``hierarchy-top``
    The two-level network of :data:`HIERARCHY_CONFIG` (:mod:`htmkit.network`): level-1 TM ->
    temporal pooler (its *predicted* input: the TM's predicted-active cells; a fixed pooler,
    region option ``learn: false``) -> level-2 TM over the pooled cells -> apical feedback
    into the level-1 TM (delay 1); read out from the level-1 TM's predictive cells by columns
    or by the cell classifier, or (``-top``) by a cell classifier on the level-1 predictive
    cells together with the level-2 columns.
``pooled-top``
    The ablation without the level-2 TM and the apical feedback (:func:`pooled_config`):
    level-1 TM -> the same fixed pooler, read out like ``hierarchy-top`` from the level-1
    predictive cells together with the pooled cells.
``markov``
    First order: the symbol that most often followed the current one so far.
``lstm-16``, ``lstm-32``, ``lstm-64``
    Online LSTMs (PyTorch): one-hot input, softmax output, the hidden state carried over the
    whole stream; every ``lstm_every`` elements one Adam step of truncated back-propagation
    over the last ``lstm_window`` elements (from the state saved at that window's start).

Metrics per run: accuracy on the dependent elements (final: the last ``final_fraction`` of
them) with its windowed curve over time, learn time (the first element where the windowed
dependent accuracy reaches 95% of the final), accuracy on the other elements (final), seconds
per element (over the second half of the stream, so that compiling at first use is not
counted) and the model's memory (bytes of its saved state / parameters). The gap curve runs
the ``deps`` task at several middle lengths.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..errors import ParameterError
from ..params import Boolean, Constraints, Interval, validate
from .longdata import LongRangeStream, dependency_stream, embedded_reber
from .seqdata import lstm_availability, summary_stats
from .sequences import symbol_sdrs

__all__ = [
    "ALL_MODELS",
    "TASKS",
    "HIERARCHY_CONFIG",
    "LongRangeConfig",
    "make_stream",
    "run_model",
    "score_run",
    "run_benchmark",
    "render_table",
    "write_plots",
]

TASKS = ("reber", "deps")
HTM_MODELS = ("tm", "tm-cells", "backtracking", "hierarchy", "hierarchy-cells",
              "hierarchy-top", "pooled-top")
LSTM_MODELS = ("lstm-16", "lstm-32", "lstm-64")
ALL_MODELS = (*HTM_MODELS, "markov", *LSTM_MODELS)
#: Models run along the gap curve.
CURVE_MODELS = ("tm", "tm-cells", "hierarchy", "hierarchy-cells", "hierarchy-top",
                "pooled-top", "markov", "lstm-32")

#: Level-1 TM parameters shared by ``tm``, ``backtracking`` (where they apply) and the
#: hierarchy (the paper's learning rates of the Cui 2016 task, a smaller column space).
TM_PARAMS: dict[str, Any] = {
    "column_dimensions": [1024],
    "cells_per_column": 8,
    "activation_threshold": 8,
    "min_threshold": 6,
    "max_new_synapse_count": 12,
    "initial_permanence": 0.21,
    "connected_permanence": 0.5,
    "permanence_increment": 0.1,
    "permanence_decrement": 0.1,
    "predicted_segment_decrement": 0.02,
    "max_segments_per_cell": 64,
    "max_synapses_per_segment": 64,
}
ENCODER_ACTIVE = 21
POOL_CELLS = 512

#: The two-level network (``htmkit.network.Network.from_config``); sizes left out are
#: inferred from the links.
HIERARCHY_CONFIG: dict[str, Any] = {
    "name": "temporal-hierarchy",
    "regions": {
        "input": {"type": "SDRSensor", "params": {"shape": [1024]}},
        "l1": {"type": "TemporalMemory", "output": "active_cells", "params": dict(TM_PARAMS)},
        # a fixed pooler (no Hebbian learning, no boosting): a union of the recent steps'
        # winners that keeps the identity of the symbols it pooled
        "pool": {"type": "TemporalPooler", "learn": False,
                 "params": {"column_dimensions": [POOL_CELLS], "potential_pct": 0.05,
                            "active_sparsity": 0.2, "winner_sparsity": 0.02,
                            "decay_rate": 0.1, "active_weight": 1.0, "boost_strength": 0.0,
                            "max_new_synapses": 0}},
        "l2": {"type": "TemporalMemory", "output": "active_cells",
               "params": {"cells_per_column": 4, "activation_threshold": 8, "min_threshold": 6,
                          "max_new_synapse_count": 12, "initial_permanence": 0.21,
                          "connected_permanence": 0.5, "permanence_increment": 0.1,
                          "permanence_decrement": 0.1, "predicted_segment_decrement": 0.02,
                          "max_segments_per_cell": 64, "max_synapses_per_segment": 64}},
    },
    "links": [
        {"source": "input", "target": "l1"},
        {"source": "l1", "target": "pool", "output": "active_cells"},
        {"source": "l1", "target": "pool", "kind": "predicted",
         "output": "predicted_active_cells"},
        {"source": "pool", "target": "l2"},
        {"source": "l2", "target": "l1", "kind": "apical", "delay": 1},
    ],
}


@dataclass
class LongRangeConfig:
    """Settings of one benchmark run (``quick_config()``: the minutes-long variant)."""

    _parameter_constraints: ClassVar[Constraints] = {
        **{name: Interval(int, 1) for name in (
            "length", "window", "gap_min", "gap_max", "alphabet", "lstm_window", "lstm_every",
            "curve_length", "threads")},
        "n_deps": Interval(int, 2),
        "final_fraction": Interval(float, 0.0, 1.0, closed="right"),
        "lstm_lr": Interval(float, 0.0, None, closed="neither"),
        "quick": Boolean(),
    }

    length: int = 20000
    window: int = 100
    final_fraction: float = 0.2
    gap_min: int = 4
    gap_max: int = 12
    alphabet: int = 6
    n_deps: int = 2
    curve_gaps: tuple[int, ...] = (2, 4, 8, 16, 32)
    curve_length: int = 20000
    lstm_window: int = 40
    lstm_every: int = 5
    lstm_lr: float = 0.01
    threads: int = 1
    quick: bool = False
    tasks: tuple[str, ...] = field(default=TASKS)

    def __post_init__(self) -> None:
        validate(self)
        if self.gap_max < self.gap_min:
            raise ParameterError(f"gap_max ({self.gap_max}) must be >= gap_min "
                                 f"({self.gap_min})")
        for t in self.tasks:
            if t not in (*TASKS, "curve"):
                raise ParameterError(f"tasks: unknown task {t!r}; choose from "
                                     f"{', '.join((*TASKS, 'curve'))}")
        if any(int(g) < 1 for g in self.curve_gaps):
            raise ParameterError("curve_gaps must be >= 1")

    @classmethod
    def quick_config(cls) -> LongRangeConfig:
        return cls(length=3000, window=50, curve_gaps=(4, 12), curve_length=3000, quick=True)


def make_stream(task: str, cfg: LongRangeConfig, seed: int,
                gap: int | None = None) -> LongRangeStream:
    """The stream of ``task`` (``reber``, ``deps``; ``gap`` = middle length bound for the
    gap curve: middles of ``gap // 2 .. gap`` symbols)."""
    if task == "reber":
        return embedded_reber(cfg.length, seed)
    if task == "deps":
        if gap is not None:
            return dependency_stream(cfg.curve_length, gap_min=max(1, gap // 2), gap_max=gap,
                                     alphabet=cfg.alphabet, n_deps=cfg.n_deps, seed=seed)
        return dependency_stream(cfg.length, gap_min=cfg.gap_min, gap_max=cfg.gap_max,
                                 alphabet=cfg.alphabet, n_deps=cfg.n_deps, seed=seed)
    raise ParameterError(f"task: unknown task {task!r}; choose from {', '.join(TASKS)}")


# --------------------------------------------------------------------------- readouts
class _ColumnReadout:
    """The symbol whose SDR overlaps most with a set of columns (ties: lowest symbol)."""

    def __init__(self, codes: np.ndarray, n_columns: int):
        self.table = np.zeros((n_columns, codes.shape[0]), np.int32)
        for s, c in enumerate(codes):
            self.table[c, s] = 1

    def __call__(self, columns: np.ndarray) -> int:
        if columns.size == 0:
            return -1
        scores = self.table[columns].sum(axis=0)
        return int(np.argmax(scores)) if scores.max() > 0 else -1


class _CellReadout:
    """Online SDR classifier from predictive cells to the next symbol."""

    def __init__(self, n_cells: int, n_symbols: int, alpha: float = 0.1):
        from ..predictor import Predictor

        self.pred = Predictor(steps=(1,), alpha=alpha, max_classes=n_symbols,
                              input_size=n_cells)

    def step(self, cells: Any, symbol: int) -> int:
        """Learn that the cells of the previous call preceded ``symbol``; predict from
        ``cells``."""
        self.pred.learn(cells, symbol)
        p = self.pred.infer(cells)[1]
        return int(np.argmax(p)) if p.size else -1


def _state_bytes(obj: Any) -> int:
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if isinstance(obj, dict):
        return sum(_state_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_state_bytes(v) for v in obj)
    return 8


# --------------------------------------------------------------------------- models
def _run_htm(kind: str, stream: LongRangeStream, seed: int) -> dict[str, Any]:
    """One run of ``tm`` / ``backtracking`` / ``hierarchy``: predictions by columns and by
    cells (the latter not for the backtracking TM)."""
    from ..sdr import SDR

    ncol = int(TM_PARAMS["column_dimensions"][0])
    cpc = int(TM_PARAMS["cells_per_column"])
    codes = symbol_sdrs(stream.n_symbols, ncol, ENCODER_ACTIVE, seed)
    sdrs = [SDR(ncol, c) for c in codes]
    by_cols = _ColumnReadout(codes, ncol)
    T = len(stream)
    p_cols = np.full(T, -1, np.int64)
    p_cells = np.full(T, -1, np.int64)
    cells = _CellReadout(ncol * cpc, stream.n_symbols) if kind != "backtracking" else None
    net = None
    core: Any
    top = None
    if kind in ("hierarchy", "pooled"):
        n_top = int(np.prod(HIERARCHY_CONFIG["regions"]["pool"]["params"]["column_dimensions"]))
        top = _CellReadout(ncol * cpc + n_top, stream.n_symbols)
        p_top = np.full(T, -1, np.int64)
    if kind == "tm":
        from ..temporal_memory import TemporalMemory

        core = TemporalMemory(seed=seed, **{**TM_PARAMS,
                                            "column_dimensions": (ncol,)})
    elif kind == "backtracking":
        from ..backtracking_tm import BacktrackingTemporalMemory

        bp = {k: v for k, v in TM_PARAMS.items() if k not in ("max_segments_per_cell",)}
        bp["column_dimensions"] = (ncol,)
        core = BacktrackingTemporalMemory(seed=seed, **bp)
    else:
        from ..network import Network

        net = Network.from_config(hierarchy_config(seed) if kind == "hierarchy"
                                  else pooled_config(seed))
        top_name = "l2" if kind == "hierarchy" else "pool"
        core = net["l1"].core
    syms = stream.symbols
    # ablation probe (hierarchy): can the pooled level carry the start symbol? An online
    # classifier from the level-2 cells (the apical input) to the dependent symbol, trained
    # and scored at the dependent elements only.
    probe = None
    probe_ok: list[bool] = []
    if net is not None:
        from ..predictor import Predictor

        n2 = int(np.prod(net[top_name].output_shape))
        probe = Predictor(steps=(0,), alpha=0.1, max_classes=stream.n_symbols, input_size=n2)
    tic = half = time.perf_counter()
    for t in range(T):
        if t == T // 2:
            half = time.perf_counter()
        s = int(syms[t])
        if net is not None:
            net.run({"input": sdrs[s]})
        else:
            core.compute(sdrs[s], True)
        pc = core.predictive_cells
        if probe is not None and t + 1 < T and stream.dependent[t + 1]:
            l2_out = net[top_name].output.flatten()  # type: ignore[index]
            p = probe.infer(l2_out)[0]
            probe_ok.append(bool(p.size) and int(np.argmax(p)) == int(syms[t + 1]))
            probe.learn(l2_out, int(syms[t + 1]))
        if cells is not None:
            guess = cells.step(pc, s)
            if t + 1 < T:
                p_cells[t + 1] = guess
        if top is not None:
            both = SDR(ncol * cpc + n_top, np.concatenate(
                [pc.indices, ncol * cpc + _top_columns(net, top_name)]))
            guess = top.step(both, s)
            if t + 1 < T:
                p_top[t + 1] = guess
        if t + 1 < T:
            p_cols[t + 1] = by_cols(np.unique(pc.indices // cpc))
    wall = time.perf_counter() - tic
    # the second half only: compiling the kernels at first use is not counted
    per = (time.perf_counter() - half) / max(1, T - T // 2)
    mem = _state_bytes(net.get_state() if net is not None else core.get_state())
    info: dict[str, Any] = {"seconds_per_element": per, "wall_s": wall, "memory_bytes": mem}
    if probe_ok:
        k = max(1, len(probe_ok) // 5)
        info["probe_level2_dependent"] = float(np.mean(probe_ok[-k:]))
    out = {"columns": (p_cols, info)}
    if cells is not None:
        out["cells"] = (p_cells, dict(info, memory_bytes=mem + _state_bytes(
            cells.pred.get_state())))
    if top is not None:
        out["top"] = (p_top, dict(info, memory_bytes=mem + _state_bytes(
            top.pred.get_state())))
    return out


def _top_columns(net: Any, name: str) -> np.ndarray:
    """The level-2 columns (the pooled cells) of the hierarchy or of the pooled ablation."""
    if name == "l2":
        return np.asarray(net["l2"].named_output("columns").indices)
    return np.asarray(net["pool"].output.indices)


def pooled_config(seed: int = 0) -> dict[str, Any]:
    """The ablation of :func:`hierarchy_config` without the level-2 TM and the apical
    feedback: level-1 TM -> fixed pooler, read out together."""
    cfg = hierarchy_config(seed)
    cfg["name"] = "temporal-pooled"
    del cfg["regions"]["l2"]
    cfg["links"] = [lk for lk in cfg["links"] if "l2" not in (lk["source"], lk["target"])]
    cfg["regions"]["l1"]["params"].pop("external_apical_size", None)
    return cfg


def hierarchy_config(seed: int = 0) -> dict[str, Any]:
    """:data:`HIERARCHY_CONFIG` with every region seeded from ``seed``."""
    import copy

    cfg = copy.deepcopy(HIERARCHY_CONFIG)
    for i, name in enumerate(("l1", "pool", "l2")):
        cfg["regions"][name]["params"]["seed"] = int(seed) * 10 + i
    return cfg


def _run_markov(stream: LongRangeStream, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
    n = stream.n_symbols
    counts = np.zeros((n, n), np.int64)
    T = len(stream)
    preds = np.full(T, -1, np.int64)
    syms = stream.symbols
    tic = time.perf_counter()
    for t in range(T):
        s = int(syms[t])
        if t:
            counts[int(syms[t - 1]), s] += 1
        if t + 1 < T and counts[s].max() > 0:
            preds[t + 1] = int(np.argmax(counts[s]))
    wall = time.perf_counter() - tic
    return preds, {"seconds_per_element": wall / T, "memory_bytes": int(counts.nbytes)}


def _run_lstm(stream: LongRangeStream, seed: int, hidden: int,
              cfg: LongRangeConfig) -> tuple[np.ndarray, dict[str, Any]]:
    """Online LSTM with truncated back-propagation (see the module docstring)."""
    from .lstm import require_torch

    torch = require_torch(cfg.threads)
    torch.manual_seed(int(seed))
    n = stream.n_symbols
    lstm = torch.nn.LSTM(n, hidden)
    head = torch.nn.Linear(hidden, n)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lstm_lr)
    T = len(stream)
    x_all = torch.nn.functional.one_hot(torch.from_numpy(stream.symbols), n).float()
    y_all = torch.from_numpy(stream.symbols)
    preds = np.full(T, -1, np.int64)
    W, every = cfg.lstm_window, cfg.lstm_every
    saved: dict[int, tuple[Any, Any]] = {}
    zero = (torch.zeros(1, 1, hidden), torch.zeros(1, 1, hidden))
    state = zero
    tic = time.perf_counter()
    for t in range(T):
        saved[t] = state  # the state before element t
        saved.pop(t - W - every - 1, None)
        with torch.no_grad():
            h, state = lstm(x_all[t:t + 1, None, :], state)
            if t + 1 < T:
                preds[t + 1] = int(torch.argmax(head(h[0, 0])))
        if t >= 1 and (t + 1) % every == 0:
            lo = max(0, t + 1 - W)
            h0 = saved[lo]
            out, _ = lstm(x_all[lo:t + 1, None, :], (h0[0].detach(), h0[1].detach()))
            logits = head(out[:-1, 0])
            loss = torch.nn.functional.cross_entropy(logits, y_all[lo + 1:t + 1])
            opt.zero_grad()
            loss.backward()
            opt.step()
    wall = time.perf_counter() - tic
    n_par = sum(int(p.numel()) for p in params)
    return preds, {"seconds_per_element": wall / T, "memory_bytes": 3 * 4 * n_par}


def run_model(name: str, stream: LongRangeStream, seed: int,
              cfg: LongRangeConfig) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    """Run one model (HTM runs also give their ``-cells`` readout); ``{model: (predictions,
    info)}``."""
    if name in ("tm", "tm-cells"):
        r = _run_htm("tm", stream, seed)
        return {"tm": r["columns"], "tm-cells": r["cells"]}
    if name in ("hierarchy", "hierarchy-cells", "hierarchy-top"):
        r = _run_htm("hierarchy", stream, seed)
        return {"hierarchy": r["columns"], "hierarchy-cells": r["cells"],
                "hierarchy-top": r["top"]}
    if name == "pooled-top":
        return {"pooled-top": _run_htm("pooled", stream, seed)["top"]}
    if name == "backtracking":
        return {"backtracking": _run_htm("backtracking", stream, seed)["columns"]}
    if name == "markov":
        return {"markov": _run_markov(stream, seed)}
    if name in LSTM_MODELS:
        return {name: _run_lstm(stream, seed, int(name.split("-")[1]), cfg)}
    raise ParameterError(f"models: unknown model {name!r}; choose from {', '.join(ALL_MODELS)}")


# --------------------------------------------------------------------------- scoring
def score_run(stream: LongRangeStream, preds: np.ndarray, window: int = 100,
              final_fraction: float = 0.2) -> dict[str, Any]:
    """Dependent / other accuracy (final), windowed dependent curve and learn time."""
    ok = stream.is_correct(preds)
    dep_t = np.flatnonzero(stream.dependent)
    dep_ok = ok[dep_t].astype(float)
    other = ~stream.dependent
    other[0] = False
    n_dep = dep_t.size
    k = max(1, int(round(final_fraction * n_dep)))
    final_dep = float(dep_ok[-k:].mean()) if n_dep else float("nan")
    other_t = np.flatnonzero(other)
    k2 = max(1, int(round(final_fraction * other_t.size)))
    final_other = float(ok[other_t[-k2:]].mean()) if other_t.size else float("nan")
    w = max(1, min(window, n_dep))
    if n_dep:
        c = np.concatenate([[0.0], np.cumsum(dep_ok)])
        lo = np.maximum(0, np.arange(1, n_dep + 1) - w)
        curve = (c[1:] - c[lo]) / (np.arange(1, n_dep + 1) - lo)
    else:
        curve = np.zeros(0)
    learn = None
    if n_dep and final_dep > 0:
        hit = np.flatnonzero((curve >= 0.95 * final_dep) & (np.arange(n_dep) >= w - 1))
        if hit.size:
            learn = int(dep_t[hit[0]])
    step = max(1, n_dep // 200)
    return {"final_dependent": final_dep, "final_other": final_other, "learn_time": learn,
            "n_dependent": int(n_dep),
            "curve_times": dep_t[::step].tolist(),
            "curve_accuracy": np.round(curve[::step], 4).tolist()}


def model_availability(name: str) -> tuple[bool, str | None]:
    if name in LSTM_MODELS:
        return lstm_availability()
    return True, None


METRICS = ("final_dependent", "final_other", "learn_time", "seconds_per_element",
           "memory_bytes")


def run_benchmark(seeds: Sequence[int] = (0,), models: Sequence[str] = ALL_MODELS,
                  cfg: LongRangeConfig | None = None,
                  log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run ``models`` on every task of ``cfg.tasks`` (and the gap curve when ``"curve"`` is
    among them) for each seed; a JSON-ready dict."""
    from .._version import __version__

    cfg = cfg or LongRangeConfig()
    cfg.__post_init__()
    for m in models:
        if m not in ALL_MODELS:
            raise ParameterError(f"models: unknown model {m!r}; choose from "
                                 f"{', '.join(ALL_MODELS)}")
    avail = {m: model_availability(m) for m in dict.fromkeys(models)}  # torch only if asked
    for m in models:
        if not avail[m][0] and log:
            log(f"skipping {m}: {avail[m][1]}")
    result: dict[str, Any] = {"benchmark": "long-range", "htmkit_version": __version__,
                              "config": asdict(cfg), "seeds": [int(s) for s in seeds],
                              "unavailable": {m: avail[m][1] for m in models
                                              if not avail[m][0]},
                              "tasks": {}, "curve": {}}

    def run_all(stream: LongRangeStream, seed: int, names: Sequence[str],
                into: dict[str, Any], label: str) -> None:
        done: set[str] = set()
        for m in names:
            if m in done or not avail[m][0]:
                continue
            for model, (preds, info) in run_model(m, stream, seed, cfg).items():
                done.add(model)
                if model not in names:
                    continue
                sc = score_run(stream, preds, cfg.window, cfg.final_fraction)
                run = {"seed": int(seed), **{k: v for k, v in sc.items()
                                             if not k.startswith("curve")}, **info}
                entry = into.setdefault(model, {"runs": []})
                entry["runs"].append(run)
                if "curve" not in entry:
                    entry["curve"] = {"seed": int(seed), "times": sc["curve_times"],
                                      "accuracy": sc["curve_accuracy"]}
                if log:
                    log(f"{label} {model} seed {seed}: dependent {sc['final_dependent']:.3f}"
                        f", other {sc['final_other']:.3f}, learn {sc['learn_time']}, "
                        f"{info['seconds_per_element'] * 1e3:.2f} ms/element"
                        + (f", level-2 probe {info['probe_level2_dependent']:.3f}"
                           if "probe_level2_dependent" in info else ""))

    for task in cfg.tasks:
        if task == "curve":
            continue
        tres: dict[str, Any] = {}
        for seed in seeds:
            run_all(make_stream(task, cfg, int(seed)), int(seed), models, tres, task)
        for entry in tres.values():
            entry["summary"] = {k: summary_stats([r.get(k) for r in entry["runs"]])
                                for k in METRICS}
        result["tasks"][task] = tres
    if "curve" in cfg.tasks:
        names = [m for m in CURVE_MODELS if m in models]
        for g in cfg.curve_gaps:
            gres: dict[str, Any] = {}
            for seed in seeds:
                run_all(make_stream("deps", cfg, int(seed), gap=int(g)), int(seed), names,
                        gres, f"gap {g}")
            result["curve"][str(int(g))] = {
                m: summary_stats([r["final_dependent"] for r in e["runs"]])
                for m, e in gres.items()}
    return result


# --------------------------------------------------------------------------- presentation
def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not np.isfinite(v):
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def render_table(result: dict[str, Any]) -> str:
    """A plain-text table per task (means over seeds) and the gap curve."""
    lines = []
    for task, tres in result["tasks"].items():
        lines.append(f"task {task}")
        lines.append(f"{'model':<18}{'dependent':>10}{'other':>8}{'learn':>8}"
                     f"{'ms/elem':>9}{'memory':>12}")
        for m, e in tres.items():
            s = e["summary"]
            learn = s["learn_time"]["mean"]
            lines.append(
                f"{m:<18}{_fmt(s['final_dependent']['mean']):>10}"
                f"{_fmt(s['final_other']['mean']):>8}"
                f"{(str(int(learn)) if learn is not None else '-'):>8}"
                f"{_fmt(s['seconds_per_element']['mean'] * 1e3, 2):>9}"
                f"{int(s['memory_bytes']['mean'] or 0):>12}")
        lines.append("")
    if result["curve"]:
        models = sorted({m for g in result["curve"].values() for m in g})
        lines.append("dependent accuracy vs middle length (deps task, middles gap//2..gap)")
        lines.append(f"{'gap':>5}" + "".join(f"{m:>17}" for m in models))
        for g, row in result["curve"].items():
            lines.append(f"{g:>5}" + "".join(
                f"{_fmt(row[m]['mean'] if m in row else None):>17}" for m in models))
    return "\n".join(lines)


def write_plots(result: dict[str, Any], directory: Any) -> list[str]:
    """Dependent accuracy over time per task, and the gap curve (PNG; matplotlib)."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for task, tres in result["tasks"].items():
        fig, ax = plt.subplots(figsize=(8, 4))
        for m, e in tres.items():
            c = e.get("curve")
            if c:
                ax.plot(c["times"], c["accuracy"], label=m)
        ax.set_xlabel("element")
        ax.set_ylabel("dependent accuracy (windowed)")
        ax.set_title(f"long-range: {task}")
        ax.legend(fontsize=7)
        p = out_dir / f"long-range-{task}.png"
        fig.savefig(p, dpi=100, bbox_inches="tight")
        plt.close(fig)
        paths.append(str(p))
    if result["curve"]:
        fig, ax = plt.subplots(figsize=(6, 4))
        gaps = [int(g) for g in result["curve"]]
        models = sorted({m for g in result["curve"].values() for m in g})
        for m in models:
            ys = [result["curve"][str(g)].get(m, {}).get("mean") for g in gaps]
            ax.plot(gaps, [np.nan if y is None else y for y in ys], marker="o", label=m)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("longest middle (symbols)")
        ax.set_ylabel("final dependent accuracy")
        ax.legend(fontsize=7)
        p = out_dir / "long-range-gap-curve.png"
        fig.savefig(p, dpi=100, bbox_inches="tight")
        plt.close(fig)
        paths.append(str(p))
    return paths
