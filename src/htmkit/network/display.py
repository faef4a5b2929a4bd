"""Text summary and PNG drawing of a :class:`~htmkit.network.Network`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network


def _fmt_shape(shape: Any) -> str:
    return "x".join(str(int(d)) for d in shape)


def _describe(region: Any) -> str:
    d = getattr(region, "describe", None)
    return d() if callable(d) else type(region).__name__


def summary(net: Network) -> str:
    """Levels, regions (type, input ports, output shape and size) and links."""
    levels = net.levels
    lines = [f"Network {net.name!r}: {len(net.regions)} regions, {len(net.links)} links, "
             f"{max(levels.values(), default=-1) + 1} levels"]
    names = net.order
    width = max((len(n) for n in names), default=4)
    for level in sorted(set(levels.values())):
        lines.append(f"  level {level}")
        for nm in names:
            if levels[nm] != level:
                continue
            r = net[nm]
            ins = ", ".join(f"{p} {_fmt_shape(s)}" for p, s in dict(r.input_shapes).items())
            out = tuple(r.output_shape)
            ins = f"in: {ins}  " if ins else ""
            lines.append(f"    {nm:<{width}}  {_describe(r)}  {ins}out: {_fmt_shape(out)} "
                         f"({int(np.prod(out))} bits)")
    if net.links:
        lines.append("  links")
        for lk in net.links:
            lines.append(f"    {lk.describe()}")
    return "\n".join(lines)


def draw(net: Network, path: str | os.PathLike[str], *, dpi: int = 110) -> Path:
    """Write a PNG drawing of the network (one row of boxes per level, arrows for links)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import FancyBboxPatch
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError("Network.draw needs matplotlib (pip install htmkit[viz])") from exc

    levels = net.levels
    order = net.order
    n_levels = max(levels.values(), default=0) + 1
    rows: dict[int, list[str]] = {lv: [nm for nm in order if levels[nm] == lv]
                                  for lv in range(n_levels)}
    widest = max((len(r) for r in rows.values()), default=1)
    box_w, box_h, gap_x, gap_y = 2.6, 0.9, 0.5, 1.3
    fig_w = max(4.0, widest * (box_w + gap_x) + gap_x)
    fig_h = max(2.5, n_levels * (box_h + gap_y) + gap_y)
    fig = Figure(figsize=(fig_w, fig_h))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, fig_w)
    ax.set_ylim(0, fig_h)
    ax.axis("off")
    centers: dict[str, tuple[float, float]] = {}
    for lv, names in rows.items():
        y = gap_y + lv * (box_h + gap_y) + box_h / 2
        total = len(names) * box_w + (len(names) - 1) * gap_x
        x0 = (fig_w - total) / 2 + box_w / 2
        for i, nm in enumerate(names):
            centers[nm] = (x0 + i * (box_w + gap_x), y)
    colors = {0: "#dbe9f6", 1: "#e2f0d9", 2: "#fff2cc", 3: "#fbe5d6"}
    for nm, (x, y) in centers.items():
        r = net[nm]
        ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.04",
                                    facecolor=colors.get(levels[nm] % 4), edgecolor="#333333",
                                    linewidth=1.2))
        kind = getattr(r, "type_name", "") or type(r).__name__
        ax.text(x, y + 0.18, nm, ha="center", va="center", fontsize=9, fontweight="bold")
        ax.text(x, y - 0.18, f"{kind} {_fmt_shape(r.output_shape)}", ha="center",
                va="center", fontsize=7)
    styles = {"feedforward": "solid", "basal": "dotted", "apical": "dashed"}
    colours = {"feedforward": "#1f4e79", "basal": "#548235", "apical": "#c55a11"}
    for lk in net.links:
        (x1, y1), (x2, y2) = centers[lk.source], centers[lk.target]
        if lk.source == lk.target:
            start, end, rad = (x1 + box_w / 2, y1), (x1 + box_w / 2, y1 - 0.2), -1.5
        elif y2 > y1:  # upwards: leave from the top, arrive at the bottom
            start, end, rad = (x1, y1 + box_h / 2), (x2, y2 - box_h / 2), 0.0
        elif y2 < y1:  # feedback: downwards, curved
            start, end, rad = (x1 + 0.3, y1 - box_h / 2), (x2 + 0.3, y2 + box_h / 2), 0.25
        else:
            side = 1 if x2 > x1 else -1
            start, end, rad = (x1 + side * box_w / 2, y1), (x2 - side * box_w / 2, y2), 0.3
        style = "dashed" if (lk.delay and lk.kind == "feedforward") else styles.get(
            lk.kind, "dashdot")
        ax.annotate("", xy=end, xytext=start,
                    arrowprops=dict(arrowstyle="-|>", color=colours.get(lk.kind, "#7030a0"),
                                    linestyle=style, linewidth=1.3,
                                    connectionstyle=f"arc3,rad={rad}", shrinkA=2, shrinkB=2))
    ax.text(0.1, 0.15, "solid: feedforward   dashed: apical / delayed   dotted: basal",
            fontsize=7, color="#555555")
    ax.text(0.1, fig_h - 0.3, f"{net.name}", fontsize=10, fontweight="bold")
    path = Path(path)
    fig.savefig(path, dpi=dpi, format="png")
    return path
