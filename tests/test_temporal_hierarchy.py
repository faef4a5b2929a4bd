"""The two-level temporal hierarchy: the pooler's stability, apical context at level 1, and
the network config of the long-range benchmark."""

from __future__ import annotations

import numpy as np
import pytest

from htmkit.sdr import SDR
from htmkit.temporal_memory import TemporalMemory
from htmkit.temporal_pooler import TemporalPooler

NCOL, CPC, W = 128, 4, 8


def _codes(n, seed=0):
    rng = np.random.default_rng(seed)
    return [SDR(NCOL, np.sort(rng.choice(NCOL, W, replace=False))) for _ in range(n)]


def _tm(**kw):
    return TemporalMemory(column_dimensions=NCOL, cells_per_column=CPC, activation_threshold=6,
                          min_threshold=4, max_new_synapse_count=8, initial_permanence=0.6,
                          connected_permanence=0.5, permanence_increment=0.1,
                          permanence_decrement=0.0, predicted_segment_decrement=0.0, seed=1,
                          **kw)


def _jaccard(a, b):
    a, b = set(a.indices.tolist()), set(b.indices.tolist())
    return len(a & b) / max(1, len(a | b))


def test_pooler_is_stable_within_a_learned_sequence_and_changes_between_sequences():
    codes = _codes(12)
    seqs = [list(range(0, 6)), list(range(6, 12))]
    tm = _tm()
    tp = TemporalPooler(input_size=NCOL * CPC, column_dimensions=(256,), potential_pct=0.2,
                        active_sparsity=0.08, winner_sparsity=0.02, decay_rate=0.1, seed=2)
    outs = {}
    for rep in range(12):
        for k, seq in enumerate(seqs):
            for i, s in enumerate(seq):
                tm.compute(codes[s], True)
                out = tp.compute(tm.active_cells, True,
                                 predicted_active_cells=tm.predicted_active_cells)
                if rep == 11:
                    outs[(k, i)] = out
    within = np.mean([_jaccard(outs[(k, i)], outs[(k, i + 1)])
                      for k in range(2) for i in range(2, 5)])
    between = _jaccard(outs[(0, 5)], outs[(1, 5)])
    assert within > 0.5
    assert between < 0.25
    assert within > between + 0.3


def test_apical_context_selects_the_level1_prediction_in_a_two_branch_case():
    # A X Y and B X Y: X after A and after B are different cells, so each branch's Y gets
    # its own cell (yA, yB). yA learns apical context c1, yB context c2. After a reset, X
    # bursts and predicts both Y cells; the apical context picks one of them. The branches are
    # learned first without context (so that each has its Y cell), then with it.
    a, b, x, y = _codes(4, seed=5)
    c1 = SDR(64, np.arange(0, 10))
    c2 = SDR(64, np.arange(30, 40))
    tm = _tm(external_apical_size=64)
    for rep in range(10):
        for first, ctx in ((a, c1), (b, c2)):
            tm.reset()
            tm.compute(first, True)
            tm.compute(x, True, external_apical=ctx if rep >= 3 else None)
            tm.compute(y, True)
    y_cols = set(y.indices.tolist())

    def predicted_y_cells(ctx):
        tm.reset()
        tm.compute(x, False, external_apical=ctx)
        return {int(c) for c in tm.predictive_cells.indices if int(c) // CPC in y_cols}

    both = predicted_y_cells(None)
    p1, p2 = predicted_y_cells(c1), predicted_y_cells(c2)
    assert p1 and p2
    assert p1 != p2
    assert p1 < both and p2 < both
    assert not (p1 & p2)


def _model_cfg(**extra):
    return {
        "value": {"encoder": {"size": 200, "active_bits": 11}},
        "sp": {"column_dimensions": [256], "num_active_columns_per_inh_area": 10},
        "tm": {"cells_per_column": 4, "activation_threshold": 6, "min_threshold": 4,
               "max_new_synapse_count": 10},
        "predictor": {"steps": [1]},
        "likelihood": {"learning_period": 50, "estimation_samples": 20},
        **extra,
    }


@pytest.mark.slow
def test_model_levels_two_builds_the_hierarchy_and_saves_bit_identically(tmp_path):
    from htmkit.model import HTMModel
    from htmkit.streams import example_stream

    frame, _ = example_stream(120, seed=3)
    recs = [{"value": float(v), "timestamp": t}
            for v, t in zip(frame["value"], frame["timestamp"], strict=True)]
    cfg = _model_cfg(levels=2, level2={"pool": {"column_dimensions": [128]}})
    m = HTMModel.for_data([r["value"] for r in recs], cfg)
    assert "pool" in m.network and "level2" in m.network
    assert m.tm.params.external_apical_size == 128 * 4
    one = HTMModel.for_data([r["value"] for r in recs], _model_cfg())
    assert "pool" not in one.network and one.tm.params.external_apical_size == 0
    for r in recs[:60]:
        m.run(r)
    m.save(tmp_path / "m.htm")
    again = HTMModel.load(tmp_path / "m.htm")
    a = [m.run(r).anomaly_score for r in recs[60:]]
    b = [again.run(r).anomaly_score for r in recs[60:]]
    assert a == b
    assert m.network["level2"].core.num_segments() > 0


@pytest.mark.parametrize("extra, match", [
    ({"levels": 3}, "levels"),
    ({"levels": 2, "level2": {"nope": {}}}, "level2"),
    ({"levels": 2, "level2": {"pool": {"decay_rate": 2.0}}}, "level2.pool"),
])
def test_model_levels_errors_are_named(extra, match):
    from htmkit.errors import ParameterError
    from htmkit.model import HTMModel

    with pytest.raises(ParameterError, match=match):
        HTMModel.for_data([0.0, 1.0], _model_cfg(**extra))


def test_hierarchy_network_config_round_trips_and_the_fixed_pooler_does_not_learn():
    from htmkit.bench.long_range import hierarchy_config
    from htmkit.network import Network

    net = Network.from_config(hierarchy_config(0))
    cfg = net.to_config()
    assert cfg["regions"]["pool"]["learn"] is False
    assert Network.from_config(cfg).to_config() == cfg
    assert [lk.delay for lk in net.links if lk.kind == "apical"] == [1]
    codes = [SDR(1024, np.arange(i * 21, i * 21 + 21)) for i in range(4)]
    perm0 = net["pool"].core.synapses.arrays.perm.copy()
    for t in range(20):
        net.run({"input": codes[t % 4]})
    assert np.array_equal(net["pool"].core.synapses.arrays.perm, perm0)
    again = Network.from_state(net.get_state())
    for t in range(8):
        a = net.run({"input": codes[t % 3]})
        b = again.run({"input": codes[t % 3]})
        assert a["l1"] == b["l1"] and a["pool"] == b["pool"]


def test_pooler_region_learn_option_is_checked():
    from htmkit.errors import ParameterError
    from htmkit.network import TemporalPoolerRegion

    with pytest.raises(ParameterError, match="learn"):
        TemporalPoolerRegion(input_size=64, column_dimensions=(32,), learn="no")


def test_pooled_ablation_has_no_level2_and_no_apical_port():
    from htmkit.bench.long_range import pooled_config
    from htmkit.network import Network

    net = Network.from_config(pooled_config(0))
    assert "l2" not in net and "pool" in net
    assert "apical" not in net["l1"].input_shapes
