"""Golden trace of the backtracking TM against a transcription of NuPIC's algorithm.

``tests/data/btm_golden.json`` holds, for a fixed stream, the per-step output of the
pure-Python reference in ``tests/reference/nupic_backtracking_tm.py`` (written by
``tools/make_btm_golden.py``): raw anomaly, confident (predicted) columns, predictive cells,
active cells, learning cells, learn-predicted cells, segment and synapse counts. The default
tier checks htmkit's numba port against the stored file; the ``slow`` tier re-runs the
reference itself (against the file and against the port, and on a variant with
``predicted_segment_decrement``).
"""

import json
import sys
from pathlib import Path

import pytest

from htmkit.backtracking_tm import BacktrackingTemporalMemory
from htmkit.sdr import SDR

# tests/reference is imported as the package ``reference`` whatever pytest's import mode
sys.path.insert(0, str(Path(__file__).parent))
from reference.btm_golden import (  # noqa: E402
    FIELDS,
    PARAMS,
    digest,
    htmkit_params,
    make_stream,
    run_reference,
    segments_htmkit,
    segments_reference,
    trace_htmkit,
)
from reference.nupic_backtracking_tm import NupicBacktrackingTM, SplitMix64  # noqa: E402

GOLDEN = Path(__file__).parent / "data" / "btm_golden.json"


@pytest.fixture(scope="module")
def golden():
    return json.loads(GOLDEN.read_text())


def run_htmkit(steps, params):
    """The port's trace on ``steps`` and the port after the last step."""
    tm = BacktrackingTemporalMemory(**htmkit_params(params))
    out = []
    for step in steps:
        if step["reset"]:
            tm.reset()
        tm.compute(SDR(params["num_columns"], step["columns"]), learn=step["learn"])
        out.append(trace_htmkit(tm))
    return out, tm


def first_difference(got, want):
    """``(step, field, got, want)`` of the first difference of two traces, or None."""
    assert len(got) == len(want)
    for t, (g, w) in enumerate(zip(got, want, strict=True)):
        for f in FIELDS:
            if g[f] != w[f]:
                return t, f, g[f], w[f]
    return None


def test_golden_file_matches_stream_and_params(golden):
    assert golden["params"] == PARAMS
    assert [s["input"] for s in golden["steps"]] == make_stream()


def test_golden_stream_exercises_every_rule(golden):
    ev = golden["events"]
    for name in ("infer_backtrack", "infer_lock_on", "learn_backtrack", "learn_lock_on",
                 "max_seq_length", "pam_expired", "segment_deleted", "synapses_freed",
                 "synapse_removed", "new_synapses_drawn"):
        assert ev[name] > 0, name
    outs = [s["output"] for s in golden["steps"]]
    anomalies = [o["anomaly"] for o in outs]
    assert 0.0 in anomalies and 1.0 in anomalies and any(0 < a < 1 for a in anomalies)


def test_htmkit_matches_golden_trace(golden):
    steps = [s["input"] for s in golden["steps"]]
    want = [s["output"] for s in golden["steps"]]
    got, tm = run_htmkit(steps, golden["params"])
    assert first_difference(got, want) is None
    # every segment (cell, slot, activations, creation step, synapses in order, permanences)
    assert digest(segments_htmkit(tm)) == golden["final_segments_digest"]


def test_splitmix_matches_kernel_rng():
    import numpy as np

    from htmkit.kernels import rng as krng

    state = krng.make_state(7)
    ref = SplitMix64(7)
    for n in (1, 2, 3, 10, 1000, 2**40):
        assert int(krng.rand_below(state, n)) == ref.rand_below(n)
    arr = np.arange(20, dtype=np.int32)
    krng.shuffle_prefix(state, arr, 6)
    assert arr[:6].tolist() == ref.shuffle_prefix(list(range(20)), 6)


@pytest.mark.slow
def test_reference_reproduces_golden_file(golden):
    steps = [s["input"] for s in golden["steps"]]
    trace, ref = run_reference(steps, golden["params"])
    assert ref.events == golden["events"]
    assert first_difference(trace, [s["output"] for s in golden["steps"]]) is None
    assert digest(segments_reference(ref)) == golden["final_segments_digest"]


@pytest.mark.slow
@pytest.mark.parametrize("variant", [
    dict(predicted_segment_decrement=0.05),
    dict(seed=11, max_seq_length=0, pam_length=1, max_inf_backtrack=0),
    # phase-2 updates draw new synapses: the port's phase-2 column order is needed
    dict(activation_threshold=4, min_threshold=3, phase2_order="port"),
    dict(max_new_synapse_count=8, max_synapses_per_segment=10, phase2_order="port"),
])
def test_htmkit_matches_reference_variants(variant):
    params = {**PARAMS, **variant}
    steps = make_stream(seed=2, n=200)
    want, ref = run_reference(steps, params)
    got, tm = run_htmkit(steps, params)
    assert first_difference(got, want) is None
    assert segments_htmkit(tm) == segments_reference(ref)


@pytest.mark.slow
def test_htmkit_matches_reference_nab_ratios():
    """NAB's proportions (new synapses > activation threshold > min threshold, 32 synapses
    per segment) on 256 columns of 8 cells with 30 active columns."""
    params = dict(num_columns=256, cells_per_column=8, activation_threshold=12,
                  min_threshold=8, max_new_synapse_count=20, max_synapses_per_segment=32,
                  max_segments_per_cell=2, seed=3, phase2_order="port")
    steps = make_stream(seed=5, n=250, num_columns=256, active=30)
    want, ref = run_reference(steps, params)
    assert ref.events["new_synapses_drawn"] > 0 and ref.events["segment_deleted"] > 0
    got, tm = run_htmkit(steps, params)
    assert first_difference(got, want) is None
    assert segments_htmkit(tm) == segments_reference(ref)


def random_params(rng):
    """Small random parameters (thresholds, limits, permanences, backtracks, seed)."""
    new = int(rng.integers(2, 10))
    act = int(rng.integers(1, new + 3))
    return dict(
        num_columns=int(rng.choice([64, 96, 128])), cells_per_column=int(rng.integers(2, 6)),
        activation_threshold=act, min_threshold=int(rng.integers(1, act + 1)),
        max_new_synapse_count=new, max_synapses_per_segment=int(new + rng.integers(0, 4)),
        max_segments_per_cell=int(rng.integers(1, 5)),
        initial_permanence=float(rng.choice([0.21, 0.3, 0.5])),
        connected_permanence=float(rng.choice([0.2, 0.5])),
        permanence_increment=float(rng.choice([0.1, 0.05, 0.15])),
        permanence_decrement=float(rng.choice([0.1, 0.05, 0.02])),
        predicted_segment_decrement=float(rng.choice([0.0, 0.0, 0.01])),
        pam_length=int(rng.integers(1, 5)), max_inf_backtrack=int(rng.integers(0, 6)),
        max_lrn_backtrack=int(rng.integers(0, 6)), max_seq_length=int(rng.choice([0, 8, 32])),
        seed=int(rng.integers(1000)), phase2_order="port")


@pytest.mark.slow
@pytest.mark.parametrize("case", range(12))
def test_htmkit_matches_reference_random_params(case):
    import numpy as np

    rng = np.random.default_rng(case)
    params = random_params(rng)
    steps = make_stream(seed=int(rng.integers(1000)), n=150, num_columns=params["num_columns"],
                        active=int(rng.integers(4, 16)))
    want, ref = run_reference(steps, params)
    got, tm = run_htmkit(steps, params)
    assert first_difference(got, want) is None, params
    assert segments_htmkit(tm) == segments_reference(ref), params


def test_phase2_column_order_parts_from_port_when_phase2_draws():
    """The one known difference (reference docstring, item 2): with NuPIC's phase-2 column
    order, the random stream goes to the columns in another order than in the port."""
    params = {**PARAMS, "activation_threshold": 4, "min_threshold": 3}
    steps = make_stream(seed=2, n=60)
    got, _ = run_htmkit(steps, params)
    want, _ = run_reference(steps, {**params, "phase2_order": "column"})
    port, _ = run_reference(steps, {**params, "phase2_order": "port"})
    assert first_difference(got, port) is None
    assert first_difference(got, want) is not None


def test_reference_rejects_unknown_parameter():
    with pytest.raises(TypeError):
        NupicBacktrackingTM(num_columns=8, no_such_parameter=1)
