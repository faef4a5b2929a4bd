"""How well the apical context separates the two endings of ``deps`` (issue #16).

Usage: ``python tools/long_range_context.py [N]`` (default 10,000 elements, seed 0, the
hierarchy as configured). Over the last 20% of the stream, at the step before each dependent
element, takes the level-2 TM's cells (the apical input) and the pooled cells, and prints their
mean size, the mean overlap (shared bits / smaller set) of two contexts before the same ending
and before different endings, and per bit the largest difference between its frequencies in
the two endings' contexts.
"""

from __future__ import annotations

import sys

import numpy as np

import htmkit.bench.long_range as L
from htmkit.network import Network
from htmkit.sdr import SDR


def main(argv: list[str]) -> None:
    n_el = int(argv[0]) if argv else 10000
    stream = L.make_stream("deps", L.LongRangeConfig(length=n_el), 0)
    net = Network.from_config(L.hierarchy_config(0))
    codes = L.symbol_sdrs(stream.n_symbols, 1024, L.ENCODER_ACTIVE, 0)
    sdrs = [SDR(1024, x) for x in codes]
    syms = stream.symbols
    ctx: dict[str, list[set[int]]] = {"l2": [], "pool": []}
    labels = []
    for t in range(n_el - 1):
        net.run({"input": sdrs[int(syms[t])]})
        if t >= n_el * 0.8 and stream.dependent[t + 1]:
            for name in ctx:
                ctx[name].append(set(net[name].output.flatten().indices.tolist()))
            labels.append(int(syms[t + 1]))
    lab = np.array(labels)
    for name, cs in ctx.items():
        same, diff = [], []
        for i in range(len(cs)):
            for j in range(i + 1, len(cs)):
                ov = len(cs[i] & cs[j]) / max(1, min(len(cs[i]), len(cs[j])))
                (same if lab[i] == lab[j] else diff).append(ov)
        bits = sorted(set().union(*cs))
        pos = {b: k for k, b in enumerate(bits)}
        m = np.zeros((len(cs), len(bits)), bool)
        for i, c in enumerate(cs):
            m[i, [pos[b] for b in c]] = True
        f = np.array([m[lab == c].mean(0) for c in sorted(set(labels))])
        gap = np.abs(f[0] - f[1])
        print(f"{name}: mean size {np.mean([len(c) for c in cs]):.1f}, overlap same ending "
              f"{np.mean(same):.3f}, different ending {np.mean(diff):.3f}, largest frequency "
              f"difference of a bit {gap.max():.3f} ({int(np.sum(gap >= 0.3))} of {len(bits)} "
              "bits >= 0.3)")


if __name__ == "__main__":
    main(sys.argv[1:])
