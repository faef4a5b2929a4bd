"""Which endings the level-1 TM predicts at the dependent elements of ``deps`` (issue #16).

Usage: ``python tools/long_range_gate_diag.py N MODE`` (N elements, seed 0, MODE the level-1
``apical_mode`` of the hierarchy). Over the last 20% of the stream, counts the dependent
elements by whether the right ending is among the symbols whose SDR is at least half covered
by the predicted columns, and how many other symbols are.
"""

from __future__ import annotations

import collections
import sys

import htmkit.bench.long_range as L
from htmkit.network import Network
from htmkit.sdr import SDR


def main(argv: list[str]) -> None:
    n_el, mode = int(argv[0]), argv[1]
    stream = L.make_stream("deps", L.LongRangeConfig(length=n_el), 0)
    cfg = L.hierarchy_config(0)
    cfg["regions"]["l1"]["params"]["apical_mode"] = mode
    net = Network.from_config(cfg)
    ncol = int(L.TM_PARAMS["column_dimensions"][0])
    cpc = int(L.TM_PARAMS["cells_per_column"])
    codes = L.symbol_sdrs(stream.n_symbols, ncol, L.ENCODER_ACTIVE, 0)
    sdrs = [SDR(ncol, x) for x in codes]
    code_sets = [set(c.tolist()) for c in codes]
    l1 = net["l1"].core
    syms = stream.symbols
    counts: collections.Counter[str] = collections.Counter()
    for t in range(n_el - 1):
        net.run({"input": sdrs[int(syms[t])]})
        if t >= n_el * 0.8 and stream.dependent[t + 1]:
            cols = set((l1.predictive_cells.sparse // cpc).tolist())
            right = int(syms[t + 1])
            pred = [s for s in range(stream.n_symbols)
                    if 2 * len(cols & code_sets[s]) >= L.ENCODER_ACTIVE]
            others = sum(1 for s in pred if s != right)
            counts[f"{'right' if right in pred else 'not right'}, {others} other"] += 1
    print(mode, "apical segments", l1.num_segments(True), dict(counts))


if __name__ == "__main__":
    main(sys.argv[1:])
