"""Where the two-level hierarchy's time goes (issue #16): cProfile of one ``deps`` run.

Usage: ``python tools/long_range_profile.py N [MODE]`` (N elements, seed 0; MODE the level-1
``apical_mode``, default ``tiebreak``). Prints ms per element (after 200 warm-up elements),
the store sizes of both TMs and the functions by internal time: ``tm_compute`` is the level-1
TM (with its apical segments), ``tm_compute_basal`` the level-2 TM, ``temporal_pooler`` the
pooler, the rest network and Python overhead.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time

import htmkit.bench.long_range as L
from htmkit.network import Network
from htmkit.sdr import SDR


def main(argv: list[str]) -> None:
    n_el = int(argv[0])
    mode = argv[1] if len(argv) > 1 else "tiebreak"
    stream = L.make_stream("deps", L.LongRangeConfig(length=n_el), 0)
    cfg = L.hierarchy_config(0)
    cfg["regions"]["l1"]["params"]["apical_mode"] = mode
    net = Network.from_config(cfg)
    codes = L.symbol_sdrs(stream.n_symbols, 1024, L.ENCODER_ACTIVE, 0)
    sdrs = [SDR(1024, x) for x in codes]
    syms = stream.symbols
    for t in range(200):
        net.run({"input": sdrs[int(syms[t])]})
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for t in range(200, n_el):
        net.run({"input": sdrs[int(syms[t])]})
    prof.disable()
    wall = time.perf_counter() - t0
    print(f"apical_mode {mode}: {wall / (n_el - 200) * 1e3:.2f} ms/element "
          f"({n_el - 200} elements, cProfile on, {wall:.3f} s)")
    l1, l2 = net["l1"].core, net["l2"].core
    print("l1 basal segments/synapses", l1.num_segments(), l1.num_synapses(),
          "apical", l1.num_segments(True), l1.num_synapses(True))
    print("l2 segments/synapses", l2.num_segments(), l2.num_synapses(),
          "active cells", l2.active_cells.num_active)
    pstats.Stats(prof).sort_stats("tottime").print_stats(10)


if __name__ == "__main__":
    main(sys.argv[1:])
