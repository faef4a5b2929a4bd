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

__all__ = ["hierarchy_stability", "movie_stability", "plot_hierarchy_fields",
           "plot_hierarchy_stability", "plot_movie_strip", "plot_receptive_fields",
           "plot_stability", "receptive_fields"]


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


# ------------------------------------------------------------ htmkit.vision.Hierarchy
def hierarchy_stability(model: Any, images: np.ndarray) -> dict[str, dict[str, float]]:
    """Per level of a :class:`~htmkit.vision.model.Hierarchy` (its SPs and its poolers, all
    patches together): mean Jaccard overlap of consecutive glimpses' outputs within a movie,
    and of the last glimpse's outputs between different images."""
    names: dict[str, list[str]] = {}
    for nm, r in model.network.regions.items():
        t = getattr(r, "type_name", "")
        if t in ("SpatialPooler", "TemporalPooler", "CountPooler") and nm[2:3].isdigit():
            names.setdefault(f"{'SP' if t == 'SpatialPooler' else 'pooler'} level {nm[2]}",
                             []).append(nm)
    within: dict[str, list[float]] = {k: [] for k in names}
    last: dict[str, list[np.ndarray]] = {k: [] for k in names}
    for img in images:
        recs = model.movie(img, record=[n for v in names.values() for n in v])["records"]
        for key, regs in names.items():
            seq = [np.concatenate([recs[n][t].flatten().indices + 10**6 * i
                                   for i, n in enumerate(regs)])
                   for t in range(len(recs[regs[0]]))]
            within[key] += [_jaccard(a, b) for a, b in zip(seq, seq[1:], strict=False)]
            last[key].append(seq[-1])
    out = {}
    for key in names:
        ls = last[key]
        between = [_jaccard(ls[i], ls[j]) for i in range(len(ls)) for j in range(i)]
        out[key] = {"within movie": float(np.mean(within[key])),
                    "between images": float(np.mean(between)) if between else 0.0}
    return out


def plot_hierarchy_stability(stab: dict[str, dict[str, float]], path: Path) -> Path:
    """Bar chart of :func:`hierarchy_stability` (one PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(stab)
    y = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(6.5, 0.6 * len(keys) + 1.2))
    ax.barh(y - 0.2, [stab[k]["within movie"] for k in keys], 0.4, label="within a movie")
    ax.barh(y + 0.2, [stab[k]["between images"] for k in keys], 0.4, label="between images")
    ax.set_yticks(y, keys)
    ax.set_xlim(0, 1)
    ax.set_xlabel("mean overlap (Jaccard)")
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_movie_strip(model: Any, image: np.ndarray, path: Path) -> Path:
    """One image's movie through every level of a :class:`~htmkit.vision.model.Hierarchy`:
    a column per glimpse; rows: the view, then per level its SP and pooler outputs (the
    patches side by side, each shown in its region's shape)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = ["eye"] + [nm for nm, r in model.network.regions.items()
                      if getattr(r, "type_name", "") in ("SpatialPooler", "TemporalPooler",
                                                         "CountPooler")]
    recs = model.movie(image, record=rows)["records"]
    T = len(recs["eye"])

    def as_img(sdr: Any) -> np.ndarray:
        d = np.asarray(sdr.dense, dtype=np.float32)
        if d.ndim == 1:
            side = int(np.ceil(np.sqrt(d.size)))
            d = np.pad(d, (0, side * side - d.size)).reshape(side, side)
        return d.reshape(d.shape[0], -1)

    fig, axes = plt.subplots(len(rows), T, figsize=(T * 0.9, len(rows) * 0.9))
    axes = np.atleast_2d(axes)
    for r, nm in enumerate(rows):
        for t in range(T):
            ax = axes[r, t]
            ax.imshow(as_img(recs[nm][t]), cmap="gray_r", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if t == 0:
                ax.set_ylabel(nm, fontsize=6, rotation=0, ha="right", va="center")
            if r == 0:
                ax.set_title(f"{t + 1}", fontsize=7)
    fig.suptitle("one image's movie through every level (columns: glimpses)", fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_hierarchy_fields(model: Any, path: Path, n: int = 16) -> Path:
    """Level-1 receptive fields of a :class:`~htmkit.vision.model.Hierarchy`: the
    permanences of the ``n`` most active columns of each level-1 SP patch (one row each)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sps = [nm for nm in model.network.regions if nm.startswith("sp1")]
    fig, axes = plt.subplots(len(sps), n, figsize=(n * 0.6, len(sps) * 0.7))
    axes = np.atleast_2d(axes)
    for r, nm in enumerate(sps):
        sp = model.network[nm].core
        shape = tuple(sp.params.input_dimensions)
        duty = np.asarray(sp.active_duty_cycles).ravel()
        for k, c in enumerate(np.argsort(-duty, kind="stable")[:n]):
            ax = axes[r, k]
            ax.imshow(np.asarray(sp.permanences(int(c)), np.float32).reshape(shape),
                      cmap="magma")
            ax.axis("off")
        axes[r, 0].set_title(nm, fontsize=6, loc="left")
    fig.suptitle("level-1 receptive fields (permanences of the most active columns)",
                 fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
