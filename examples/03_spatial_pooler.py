"""
Spatial Pooler: learning an input set
=====================================

The :class:`~htmkit.SpatialPooler` maps input SDRs to a fixed number of active columns. Each
column has a potential pool of input bits and learns permanences on them; after learning, a
column's connected synapses form its receptive field, and similar inputs activate similar
columns. This example trains an SP with local inhibition (columns on a grid over the image) on
the 8x8 digits bundled with scikit-learn, upsampled to 16x16, and measures how much of its
output survives noise in the input before and after learning.
"""

# %%
# The input set
# -------------
import matplotlib.pyplot as plt
import numpy as np

from htmkit import SpatialPooler
from htmkit.datasets import load_digits_dataset
from htmkit.encoders import ImageEncoder

images, labels = load_digits_dataset(scale=2)  # uint8 [1797, 16, 16]
encoder = ImageEncoder(image_shape=(16, 16), threshold_mode="fixed", threshold=0.3)
rng = np.random.default_rng(0)
order = rng.permutation(len(images))
train = [encoder.encode(images[i]) for i in order[:400]]
probes = [encoder.encode(images[i]) for i in order[400:500]]
noisy = [p.add_noise(0.1, seed=k) for k, p in enumerate(probes)]
print(f"{len(train)} training images, input {train[0].shape}, "
      f"{np.mean([t.num_active for t in train]):.0f} on-pixels on average")

# %%
# The Spatial Pooler
# ------------------
# Columns on a 16x16x4 grid, each seeing a window of radius 3 around its place in the image;
# 5% of the columns in each neighbourhood win. ``compute(input, learn)`` returns the SDR of
# active columns.
sp = SpatialPooler(input_dimensions=(16, 16), column_dimensions=(16, 16, 4), potential_radius=3,
                   potential_pct=0.8, global_inhibition=False, local_area_density=0.05,
                   syn_perm_active_inc=0.04, syn_perm_inactive_dec=0.04, syn_perm_connected=0.2,
                   boost_strength=1.0, wrap_around=False, seed=0)


def robustness() -> float:
    """Mean share of the active columns of a clean probe that stay active under noise."""
    clean = [sp.compute(p, learn=False) for p in probes]
    moved = [sp.compute(p, learn=False) for p in noisy]
    kept = [c.overlap(m) / max(c.num_active, 1) for c, m in zip(clean, moved, strict=True)]
    return float(np.mean(kept))


before = robustness()
for _epoch in range(2):
    for x in train:
        sp.compute(x, learn=True)
after = robustness()
print(f"output kept under 10% input noise: {before:.2f} before learning, {after:.2f} after")

columns = sp.compute(probes[0], learn=False)
print("active columns for one probe:", columns.num_active, "of", sp.num_columns)

# %%
# Receptive fields
# ----------------
# The permanences of the most active columns: each has learned a piece of stroke.
duty = np.asarray(sp.active_duty_cycles).ravel()
top = np.argsort(-duty, kind="stable")[:36]
fig, axes = plt.subplots(6, 6, figsize=(6, 6))
for ax, c in zip(axes.ravel(), top, strict=True):
    ax.imshow(np.asarray(sp.permanences(int(c))).reshape(16, 16), cmap="magma", vmin=0, vmax=1)
    ax.axis("off")
fig.suptitle("permanences of the 36 most active columns")
fig.tight_layout()
