"""Segments, synapses, store bytes and TM CPU time along a long high-order stream.

The TM of ``htmkit bench sequences`` (:data:`htmkit.bench.sequences.HTM_PARAMS`, seed 0) over
the Cui et al. (2016) stream (``generate_stream``: sequences with shared middles, noise
symbols, endings swapped half way), printing one JSON line per checkpoint. Run it once per
checkout (``PYTHONPATH`` picks the checkout) to compare them:

    PYTHONPATH=src python tools/tm_long_stream.py --length 50000 --every 5000
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--length", type=int, default=50000)
    ap.add_argument("--every", type=int, default=5000)
    a = ap.parse_args()
    from htmkit.bench.seqdata import generate_stream
    from htmkit.bench.sequences import ENCODER_ACTIVE, HTM_PARAMS, symbol_sdrs
    from htmkit.sdr import SDR
    from htmkit.temporal_memory import TemporalMemory

    stream = generate_stream(seed=0, length=a.length, switch_at=a.length // 2)
    codes = symbol_sdrs(stream.n_total_symbols, 2048, ENCODER_ACTIVE, 0)
    sdrs = [SDR(2048, codes[int(s)]) for s in stream.symbols]
    tm = TemporalMemory(seed=0, **HTM_PARAMS)
    cpu = 0.0
    for t, sdr in enumerate(sdrs, 1):
        c0 = time.process_time()
        tm.compute(sdr, learn=True)
        cpu += time.process_time() - c0
        if t % a.every == 0:
            print(json.dumps({"elements": t, "segments": tm.num_segments(),
                              "synapses": tm.num_synapses(),
                              "store_mb": tm.basal_store.nbytes() / 2**20,
                              "cpu_ms_per_step": cpu / a.every * 1e3}), flush=True)
            cpu = 0.0



if __name__ == "__main__":
    main()
