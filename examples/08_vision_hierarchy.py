"""
The vision hierarchy on the digits
==================================

:class:`htmkit.vision.VisionHierarchy` learns still images as movies: an eye moves over each
image in small steps, a level-1 Spatial Pooler with topology sees every view, its output is
pooled over the movie and feeds a level-2 Spatial Pooler, and a linear readout learns the
classes from the pooled representations. This example lets a small hierarchy learn part of
the 8x8 digits bundled with scikit-learn (zoomed 3x for the retina) and reads the classes from
its representations.

The full benchmark, with its baselines, is ``htmkit bench vision --dataset digits``.
"""

# %%
# Data
# ----
import matplotlib.pyplot as plt
import numpy as np

from htmkit.datasets import load_digits_dataset
from htmkit.vision import VisionHierarchy

images, labels = load_digits_dataset()  # uint8 [1797, 8, 8]
rng = np.random.default_rng(0)
order = rng.permutation(len(images))
train, test = order[:600], order[1500:]
print(f"{len(train)} training images, {len(test)} test images of shape {images.shape[1:]}")

# %%
# Learning
# --------
# ``learn_unsupervised`` lets the Spatial Poolers learn on the movies of ``n_learn`` training
# images; no labels are involved. ``transform`` then gives the pooled representation of each
# image (``learn=False``): one row of features per image.
model = VisionHierarchy(eye={"image_shape": (8, 8), "upsample": 3}, n_learn=300, seed=0)
model.learn_unsupervised(images[train])
train_features = model.transform(images[train])
test_features = model.transform(images[test])
print(f"{model.n_features} features per image; timing:",
      {k: round(v, 2) for k, v in model.timing.items()})

# %%
# Reading the classes
# -------------------
# ``fit``/``predict`` train and use the model's linear readout. To keep this example short, a
# nearest-neighbour readout (cosine similarity) is written out here instead, once on the
# hierarchy's features and once on the raw pixels. On tiny 8x8 images raw pixels are a strong
# baseline; docs/experiments/vision-mnist.md compares the models on MNIST.


def unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def nearest_neighbour_accuracy(train_x: np.ndarray, test_x: np.ndarray) -> float:
    nearest = np.argmax(unit(test_x) @ unit(train_x).T, axis=1)
    return float(np.mean(labels[train][nearest] == labels[test]))


print(f"1-nearest neighbour, hierarchy features: "
      f"{nearest_neighbour_accuracy(train_features, test_features):.2f}")
print(f"1-nearest neighbour, raw pixels:         "
      f"{nearest_neighbour_accuracy(images[train], images[test]):.2f}")

# %%
# What a movie looks like
# -----------------------
# The binary views of the first test image as the eye moves (the retina is 24x24).
views = model.views(images[test[:1]])[0]
fig, axes = plt.subplots(1, len(views), figsize=(1.2 * len(views), 1.6))
for k, (ax, view) in enumerate(zip(axes, views, strict=True)):
    ax.imshow(view, cmap="Greys", interpolation="nearest")
    ax.set_title(str(k), fontsize=8)
    ax.axis("off")
fig.suptitle(f"the movie of a {labels[test[0]]}")
fig.tight_layout()
