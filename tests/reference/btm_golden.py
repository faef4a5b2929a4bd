"""The fixed stream and parameters of the backtracking TM golden trace, and the per-step
trace of a TM on it (shared by tests/test_backtracking_golden.py and tools/make_btm_golden.py).

The stream (300 steps over 128 columns, 10 active) holds a repeated five-pattern sequence
with column noise, random single patterns, an empty input, a ``reset``, a stretch without
learning and, late, a subsequence never seen before. The parameters keep it small (4 cells
per column, 3 segments per cell, 8 synapses per segment) so that every rule of the
algorithm fires: inference and learning backtracking (with and without lock-on), the
pay-attention counter, maxSeqLength, segment deletion in full columns, synapse freeing and
removal. ``activation_threshold`` equals ``max_new_synapse_count`` so that learning phase 2
never draws random numbers (see item 2 of the reference module's docstring).
"""

from __future__ import annotations

from typing import Any

import numpy as np

NUM_COLUMNS = 128
ACTIVE = 10

#: Parameters, in htmkit's names (``num_columns`` is ``column_dimensions`` for htmkit).
PARAMS: dict[str, Any] = dict(
    num_columns=NUM_COLUMNS, cells_per_column=4, activation_threshold=6, min_threshold=4,
    max_new_synapse_count=6, max_synapses_per_segment=8, max_segments_per_cell=3,
    initial_permanence=0.21, connected_permanence=0.5, permanence_increment=0.1,
    permanence_decrement=0.1, predicted_segment_decrement=0.0, pam_length=3,
    max_inf_backtrack=4, max_lrn_backtrack=3, max_seq_length=12, seed=7)

#: Fields of one step of a trace.
FIELDS = ("anomaly", "predicted_columns", "predictive_cells", "active_cells",
          "learn_active_cells", "learn_predicted_cells", "num_segments", "num_synapses")


def htmkit_params(params: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in params.items() if k not in ("num_columns", "phase2_order")}
    out["column_dimensions"] = params["num_columns"]
    return out


def make_stream(seed: int = 1, n: int = 300, num_columns: int = NUM_COLUMNS,
                active: int = ACTIVE) -> list[dict[str, Any]]:
    """Steps ``{"columns": [...], "learn": bool, "reset": bool}`` (reset before the step)."""
    rng = np.random.default_rng(seed)

    def pattern() -> list[int]:
        return sorted(int(c) for c in rng.choice(num_columns, active, replace=False))

    letters = [pattern() for _ in range(10)]
    cols: list[list[int]] = []
    while len(cols) < n:
        r = rng.random()
        if len(cols) > 0.8 * n and r < 0.3:
            cols += [letters[7], letters[8], letters[9]]  # a subsequence unseen until here
        elif r < 0.1:
            cols.append(pattern())  # a random single pattern
        else:
            for s in range(5):
                pat = list(letters[s])
                if rng.random() < 0.1:  # column noise
                    pat[int(rng.integers(active))] = int(rng.integers(num_columns))
                    pat = sorted(set(pat))
                cols.append(pat)
    steps = [{"columns": c, "learn": True, "reset": False} for c in cols[:n]]
    steps[n // 3]["columns"] = []  # an empty input
    steps[n // 2]["reset"] = True
    for t in range(2 * n // 3, 2 * n // 3 + 15):
        steps[t]["learn"] = False
    return steps


def trace_htmkit(tm: Any) -> dict[str, Any]:
    """One step of :class:`htmkit.backtracking_tm.BacktrackingTemporalMemory`'s trace."""
    return {
        "anomaly": float(tm.anomaly),
        "predicted_columns": tm.predicted_columns.indices.tolist(),
        "predictive_cells": tm.predictive_cells.indices.tolist(),
        "active_cells": tm.active_cells.indices.tolist(),
        "learn_active_cells": tm.learn_active_cells.indices.tolist(),
        "learn_predicted_cells": tm.learn_predicted_cells.indices.tolist(),
        "num_segments": int(tm.num_segments()),
        "num_synapses": int(tm.num_synapses()),
    }


def trace_reference(ref: Any) -> dict[str, Any]:
    """One step of the reference's trace."""
    return {
        "anomaly": float(ref.anomaly),
        "predicted_columns": sorted(ref.confident_columns),
        "predictive_cells": sorted(ref.inf_predicted),
        "active_cells": sorted(ref.inf_active),
        "learn_active_cells": sorted(ref.lrn_active),
        "learn_predicted_cells": sorted(ref.lrn_predicted),
        "num_segments": ref.num_segments(),
        "num_synapses": ref.num_synapses(),
    }


def run_reference(steps: list[dict[str, Any]], params: dict[str, Any]
                  ) -> tuple[list[dict[str, Any]], Any]:
    """The reference's trace on ``steps``, and the reference after the last step (its
    ``events`` count how often each rule fired)."""
    from .nupic_backtracking_tm import NupicBacktrackingTM

    ref = NupicBacktrackingTM(**params)
    out = []
    for step in steps:
        if step["reset"]:
            ref.reset()
        ref.compute(step["columns"], learn=step["learn"])
        out.append(trace_reference(ref))
    return out, ref


def segments_htmkit(tm: Any) -> list[list[Any]]:
    """Every segment of an htmkit backtracking TM as ``[cell, slot, positive activations,
    creation step, [[source, permanence], ...]]`` (synapses in storage order), sorted by cell
    and slot. Reads the TM's storage arrays (see :mod:`htmkit.kernels.backtracking_tm`)."""
    from htmkit.kernels import backtracking_tm as K

    a = tm._a
    m = tm.params.max_synapses_per_segment
    out = []
    for cell in range(a["cs_start"].shape[0]):
        s0, cap = int(a["cs_start"][cell]), int(a["cs_cap"][cell])
        for slot, seg in enumerate(a["cell_segs"][s0: s0 + cap]):
            if seg < 0:
                continue
            n = int(a["seg_i32"][K.SEG_N, seg])
            syns = [[int(a["syn_src"][seg * m + j]), float(a["syn_perm"][seg * m + j])]
                    for j in range(n)]
            out.append([cell, slot, int(a["seg_i64"][K.SEG_POS, seg]),
                        int(a["seg_i64"][K.SEG_BORN, seg]), syns])
    return out


def segments_reference(ref: Any) -> list[list[Any]]:
    """The reference's segments in the form of :func:`segments_htmkit`."""
    out = []
    for cell, slots in enumerate(ref.cells):
        for slot, seg in enumerate(slots):
            if seg is None:
                continue
            out.append([cell, slot, seg.positive_activations, seg.born,
                        [[s.src, float(s.perm)] for s in seg.syns]])
    return out


def digest(segments: list[list[Any]]) -> str:
    """A short fingerprint of :func:`segments_htmkit`'s output."""
    import hashlib
    import json

    text = json.dumps(segments, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
