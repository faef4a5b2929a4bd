"""What a trained :class:`~htmkit.vision.hierarchy.VisionHierarchy` learned, as numbers and
pictures: receptive fields in pixel space per level, and the stability of its representations
over a movie.

:func:`receptive_fields` and :func:`movie_stability` need numpy only; the ``plot_*`` functions
import matplotlib (the ``viz`` extra) when called, never at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["movie_stability", "plot_receptive_fields", "plot_stability", "receptive_fields"]


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a), np.asarray(b)
    union = np.union1d(a, b).size
    return float(np.intersect1d(a, b).size / union) if union else 1.0


def receptive_fields(h: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Connected receptive fields in pixel space: level-1 columns ``[n1, H, W]`` (their
    permanences) and level-2 columns ``[n2, H, W]`` (the sum of the level-1 fields of their
    connected inputs), or ``None`` without level 2."""
    H, W = h.params.retina_shape
    n1 = h.sp1.num_columns
    rf1 = np.stack([np.asarray(h.sp1.permanences(c), np.float32).reshape(H, W)
                    for c in range(n1)])
    conn1 = rf1 >= h.params.synapses.perm_connected
    if h.sp2 is None:
        return rf1, None
    n2 = h.sp2.num_columns
    rf2 = np.zeros((n2, H, W), np.float32)
    flat1 = conn1.reshape(n1, -1).astype(np.float32)
    for c in range(n2):
        inputs = np.asarray(h.sp2.connected_synapses(c).indices)
        if inputs.size:
            rf2[c] = flat1[inputs].sum(axis=0).reshape(H, W)
    return rf1, rf2


def plot_receptive_fields(h: Any, path: Path, n: int = 32) -> Path:
    """Receptive fields of the most active columns of both levels (one PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rf1, rf2 = receptive_fields(h)
    rows = [("level 1", rf1, h.sp1)] + ([("level 2", rf2, h.sp2)] if rf2 is not None else [])
    cols = 16
    per = int(np.ceil(n / cols))
    fig, axes = plt.subplots(per * len(rows), cols, figsize=(cols * 0.8, per * len(rows) * 0.9))
    axes = np.atleast_2d(axes)
    for ax in axes.ravel():
        ax.axis("off")
    for r, (label, rf, sp) in enumerate(rows):
        duty = np.asarray(sp.active_duty_cycles).ravel()
        top = np.argsort(-duty, kind="stable")[:n]
        for k, c in enumerate(top):
            ax = axes[r * per + k // cols, k % cols]
            ax.imshow(rf[c], cmap="magma")
        axes[r * per, 0].set_title(label, fontsize=8, loc="left")
    fig.suptitle("learned receptive fields in pixel space (most active columns)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def movie_stability(h: Any, images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Mean overlap (Jaccard) of consecutive steps within a movie, per stage, and of the
    pooled level-2 output of images of different classes."""
    steps: dict[str, list[float]] = {"level 1 (per view)": [], "level-1 union window": [],
                                     "level 2 (per step)": []}
    pooled = []
    for img in images:
        tr = h.run_movie(img)
        for key, seq in (("level 1 (per view)", tr["a1"]), ("level-1 union window", tr["p1"]),
                         ("level 2 (per step)", tr["a2"])):
            steps[key] += [_jaccard(a, b) for a, b in zip(seq, seq[1:], strict=False)]
        pooled.append(np.flatnonzero(tr["pool2"] >= 0.5))
    across = [_jaccard(pooled[i], pooled[j]) for i in range(len(images))
              for j in range(i + 1, len(images)) if labels[i] != labels[j]]
    out = {k: float(np.mean(v)) for k, v in steps.items()}
    out["pooled level 2, different digits"] = float(np.mean(across)) if across else 0.0
    return out


def plot_stability(stab: dict[str, float], path: Path) -> Path:
    """Bar chart of :func:`movie_stability`'s overlaps (one PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    names = list(stab)
    ax.barh(names, [stab[k] for k in names], color=["C0", "C1", "C2", "C7"][: len(names)])
    ax.set_xlim(0, 1)
    ax.set_xlabel("mean overlap (Jaccard)")
    ax.set_title("stability over a movie (consecutive steps)\nvs different digits")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
