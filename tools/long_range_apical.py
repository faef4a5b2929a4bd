"""Ablation of the hierarchy's apical feedback (issue #16): the level-1 TM's ``apical_mode``,
the apical source and the decrement, on the long-range tasks, beside the single TM.

Usage: ``python tools/long_range_apical.py LENGTH VARIANTS TASKS [SEED]`` where VARIANTS is a
comma list of ``tm`` and ``MODE[:SOURCE[:DECREMENT[:ACT/MIN/NEW]]]`` (MODE ``tiebreak`` /
``gate``; SOURCE ``l2`` (default, the level-2 TM's cells) or ``pool`` (the pooled cells);
DECREMENT the level-1 ``predicted_segment_decrement``; ACT/MIN/NEW the apical activation
threshold, min threshold and sample size), e.g. ``10000 tm,tiebreak,gate,gate:pool deps,reber``.
The variants are built from :data:`htmkit.bench.long_range.HIERARCHY_CONFIG` in this script;
the library's configuration is not changed.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

import htmkit.bench.long_range as L

BASE = copy.deepcopy(L.HIERARCHY_CONFIG)


def variant(spec: str) -> dict[str, Any]:
    cfg = copy.deepcopy(BASE)
    mode, src, dec, ap = (spec.split(":") + ["", "", ""])[:4]
    cfg["regions"]["l1"]["params"]["apical_mode"] = mode
    if ap:
        act, low, new = (int(x) for x in ap.split("/"))
        cfg["regions"]["l1"]["params"].update(apical_activation_threshold=act,
                                              apical_min_threshold=low,
                                              apical_max_new_synapse_count=new)
    if dec:
        cfg["regions"]["l1"]["params"]["predicted_segment_decrement"] = float(dec)
    if src == "pool":
        cfg["links"] = [lk for lk in cfg["links"] if lk.get("kind") != "apical"] + [
            {"source": "pool", "target": "l1", "kind": "apical", "delay": 1}]
    return cfg


def main(argv: list[str]) -> None:
    length, variants, tasks = int(argv[0]), argv[1].split(","), argv[2].split(",")
    seed = int(argv[3]) if len(argv) > 3 else 0
    cfg = L.LongRangeConfig(length=length, window=50)
    for task in tasks:
        stream = L.make_stream(task, cfg, seed)
        for v in variants:
            if v == "tm":
                r = L.run_model("tm", stream, seed, cfg)
                names = ("tm",)
            else:
                L.HIERARCHY_CONFIG.clear()
                L.HIERARCHY_CONFIG.update(variant(v))
                try:
                    r = L.run_model("hierarchy", stream, seed, cfg)
                finally:
                    L.HIERARCHY_CONFIG.clear()
                    L.HIERARCHY_CONFIG.update(copy.deepcopy(BASE))
                names = ("hierarchy", "hierarchy-top")
            for m in names:
                s = L.score_run(stream, r[m][0], 50)
                info = r[m][1]
                print(task, v, m, round(s["final_dependent"], 3), round(s["final_other"], 3),
                      round(info["seconds_per_element"] * 1e3, 2), "ms/el",
                      info.get("probe_level2_dependent"), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
