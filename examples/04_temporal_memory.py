"""
Temporal Memory: learning sequences
===================================

The :class:`~htmkit.TemporalMemory` learns transitions between SDRs of active columns. Each
column has several cells; which cell of a column fires encodes the context the column's input
arrived in, so the same input in two sequences gets two representations. This example teaches
it two sequences that share their middle, ``A B C D`` and ``X B C Y``, and shows that:

* the raw anomaly (the share of active columns that were not predicted) falls as it learns;
* after ``A B C`` it predicts ``D``, and after ``X B C`` it predicts ``Y`` (high-order memory);
* an unexpected element is flagged with a high anomaly.

The call is ``tm.compute(columns, learn=True)``; the results are read from ``tm.active_cells``,
``tm.predictive_cells`` and ``tm.anomaly``.
"""

# %%
# Symbols as column SDRs
# ----------------------
import matplotlib.pyplot as plt
import numpy as np

from htmkit import SDR, TemporalMemory

n_columns, cells = 1024, 8
letters = {name: SDR.random(n_columns, sparsity=0.02, seed=i) for i, name in enumerate("ABCDXYZ")}
sequences = ["ABCD", "XBCY"]

tm = TemporalMemory(column_dimensions=n_columns, cells_per_column=cells,
                    activation_threshold=10, min_threshold=8, max_new_synapse_count=20,
                    initial_permanence=0.21, connected_permanence=0.5,
                    permanence_increment=0.1, permanence_decrement=0.05,
                    predicted_segment_decrement=0.02, seed=1)


def predicted_columns() -> SDR:
    """The columns that hold at least one predictive cell."""
    cols = np.unique(tm.predictive_cells.indices // cells)
    return SDR(n_columns, cols)


# %%
# Learning
# --------
# Each sequence is shown in turn; ``reset()`` marks the start of a new sequence.
history = []
for _repetition in range(30):
    for seq in sequences:
        tm.reset()
        for name in seq:
            tm.compute(letters[name], learn=True)
            history.append(tm.anomaly)
print(f"mean anomaly over the first repetition: {np.mean(history[:8]):.2f}, "
      f"over the last: {np.mean(history[-8:]):.2f}")

fig, ax = plt.subplots(figsize=(7, 3.4))
ax.plot(history, lw=1)
ax.set_xlabel("step")
ax.set_ylabel("raw anomaly")
ax.set_title("raw anomaly while learning ABCD and XBCY")
fig.tight_layout()

# %%
# High-order predictions
# ----------------------
# After the shared part ``B C``, the prediction depends on how the sequence started.
for seq in sequences:
    tm.reset()
    for name in seq[:3]:
        tm.compute(letters[name], learn=False)
    guess = predicted_columns()
    scores = {k: guess.overlap(v) / v.num_active for k, v in letters.items()}
    best = max(scores, key=scores.get)
    print(f"after {seq[:3]}: predicts {best} (share of its columns predicted: "
          f"{scores[best]:.2f}; of {'D' if best == 'Y' else 'Y'}: "
          f"{scores['D' if best == 'Y' else 'Y']:.2f})")

# %%
# A surprise
# ----------
# ``A B C Z`` ends in an element that was never seen there: every column of ``Z`` bursts.
tm.reset()
for name in "ABCZ":
    tm.compute(letters[name], learn=False)
    print(f"{name}: anomaly {tm.anomaly:.2f}, active cells {tm.active_cells.num_active}")
