"""
SDR basics
==========

A sparse distributed representation (SDR) is a large binary array with few active bits.
:class:`htmkit.SDR` stores the sorted flat indices of the active bits; it is immutable and
hashable. This example builds SDRs, compares them by overlap and shows why random SDRs are
robust to noise: two random SDRs barely overlap, while a noisy copy keeps most of its bits.
"""

# %%
# Building SDRs
# -------------
# From active indices, from a dense 0/1 array, or at random with a given sparsity.
import matplotlib.pyplot as plt
import numpy as np

from htmkit import SDR

a = SDR(10, [1, 5, 7])
b = SDR.from_dense([0, 1, 0, 0, 0, 1, 0, 0, 0, 1])
print(a, "active:", a.indices.tolist(), "sparsity:", a.sparsity)
print("overlap(a, b) =", a.overlap(b))
print("union:", a.union(b).indices.tolist(), "intersection:", a.intersection(b).indices.tolist())

x = SDR.random((32, 32), sparsity=0.02, seed=1)
print(x.shape, x.size, x.num_active, "active bits")

# %%
# Overlap, noise and chance
# -------------------------
# ``add_noise(f)`` moves a fraction ``f`` of the active bits to other places; the number of
# active bits stays the same. The overlap with the original falls linearly, while the overlap
# between unrelated random SDRs stays near ``n * s**2``.
fractions = np.linspace(0.0, 1.0, 11)
kept = [x.overlap(x.add_noise(float(f), seed=2)) / x.num_active for f in fractions]
chance = np.mean([x.overlap(SDR.random((32, 32), 0.02, seed=s)) for s in range(100)])
print(f"mean overlap with 100 unrelated random SDRs: {chance:.2f} of {x.num_active} bits")

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.6))
ax0.imshow(x.dense, cmap="Greys", interpolation="nearest")
ax0.set_title("a random 32x32 SDR (2% active)")
ax0.axis("off")
ax1.plot(fractions, kept, "o-", label="noisy copy")
ax1.axhline(chance / x.num_active, color="C1", ls="--", label="unrelated SDR")
ax1.set_xlabel("fraction of bits moved")
ax1.set_ylabel("overlap / active bits")
ax1.legend()
fig.tight_layout()

# %%
# Shapes and concatenation
# ------------------------
# An SDR has a shape (for topology: images, column grids); ``reshape`` and ``flatten`` keep the
# same bits, and ``SDR.concatenate`` joins SDRs along an axis, as encoders of records do.
left, right = SDR((4, 4), [0, 5]), SDR((4, 4), [15])
joined = SDR.concatenate([left, right], axis=1)
print(joined.shape, joined.coordinates)
print(joined.flatten().indices.tolist())
