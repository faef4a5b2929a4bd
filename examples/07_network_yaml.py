"""
A network declared in YAML
==========================

:class:`htmkit.network.Network` wires named regions with links. A network can be built in code
(``add_region`` and ``link``) or declared in a configuration (a dict, or a YAML or JSON file)
and built with :meth:`Network.from_config <htmkit.network.Network.from_config>`. Each call of
``run(inputs)`` computes one step of every region in topological order and returns the main
output of each.

This network reads a number, encodes it, pools it with a Spatial Pooler, learns its sequence
with a Temporal Memory and has a classifier predict the next symbol from the TM's cells. The
sequence ``0 1 2 3 4 3 2 1`` is high-order: after ``3`` comes ``4`` or ``2``, depending on
the way the sequence is going.
"""

# %%
# The configuration
# -----------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import yaml

from htmkit.network import Network

CONFIG = """
name: sequence-net
regions:
  number:
    type: Encoder
    encoder: ScalarEncoder
    params: {minimum: 0, maximum: 4, size: 100, active_bits: 10}
  sp:
    type: SpatialPooler
    params: {column_dimensions: [512], local_area_density: 0.04, seed: 1}
  tm:
    type: TemporalMemory
    params: {cells_per_column: 8, activation_threshold: 8, min_threshold: 6,
             max_new_synapse_count: 12, seed: 1}
  next:
    type: Classifier
    params: {max_classes: 5, steps: [1], alpha: 0.3}
links:
  - {source: number, target: sp}
  - {source: sp, target: tm}
  - {source: tm, target: next}
"""
net = Network.from_config(yaml.safe_load(CONFIG))
print(net)

# %%
# Running it
# ----------
# Sensors and classifiers take their values from ``run``: the number to encode, and the label
# the classifier learns (here the symbol itself; it predicts the one a step later).
pattern = [0, 1, 2, 3, 4, 3, 2, 1]
anomaly, correct = [], []
for step in range(80 * len(pattern)):
    symbol = pattern[step % len(pattern)]
    following = pattern[(step + 1) % len(pattern)]
    net.run({"number": float(symbol), "next": symbol})
    anomaly.append(net["tm"].anomaly)
    probs = net["next"].inference.get(1)  # empty until the classifier has learned something
    correct.append(probs is not None and probs.size > 0 and int(np.argmax(probs)) == following)

n = len(pattern) * 10
print(f"raw anomaly, first {n} steps: {np.mean(anomaly[:n]):.2f}, last {n}: "
      f"{np.mean(anomaly[-n:]):.2f}")
print(f"next symbol predicted correctly, last {n} steps: {np.mean(correct[-n:]):.0%}")

fig, ax = plt.subplots(figsize=(7, 3.4))
ax.plot(np.convolve(anomaly, np.ones(8) / 8, mode="valid"), label="raw anomaly")
ax.plot(np.convolve(correct, np.ones(8) / 8, mode="valid"), label="next symbol correct")
ax.set_xlabel("step (moving mean over 8 steps)")
ax.legend()
fig.tight_layout()

# %%
# Saving the configuration and the state
# --------------------------------------
# ``to_config`` gives back the declaration; ``save``/``load`` keep the learned state as well.
with tempfile.TemporaryDirectory() as tmp:
    cfg_path = net.save_config(Path(tmp) / "net.yaml")
    print(cfg_path.read_text()[:300], "...")
    net.save(Path(tmp) / "net.htm")
    again = Network.load(Path(tmp) / "net.htm")
    a = net.run({"number": 0.0}, learn=False)
    b = again.run({"number": 0.0}, learn=False)
    print("same outputs after load:", all(a[k] == b[k] for k in a))
