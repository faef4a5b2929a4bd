"""
Streaming anomaly detection
===========================

:class:`~htmkit.AnomalyDetector` is a ready streaming detector: value and time of day are
encoded, a Spatial Pooler and a Temporal Memory learn the stream, and the raw anomaly goes
through an :class:`~htmkit.AnomalyLikelihood` that asks how unusual the recent anomaly is for
*this* stream. Feed it one record at a time with ``detector.update(timestamp, value)``; it
returns a score in [0, 1]. The defaults need no tuning per stream.

The stream is htmkit's built-in example (:func:`htmkit.streams.example_stream`): an hourly
signal with daily and weekly seasonality and noise, with a spike, a level shift, a flat-lined
stretch and a change of the daily pattern injected in its last third.
"""

# %%
# The stream
# ----------
import matplotlib.pyplot as plt
import numpy as np

from htmkit import AnomalyDetector
from htmkit.streams import example_stream

frame, starts = example_stream(n=2000, seed=0)
values = frame["value"].to_numpy(float)
print(frame.head(3))
print("injected anomalies start at rows", starts.tolist())

# %%
# Scoring it record by record
# ---------------------------
# The value range is given here; leave ``min_value``/``max_value`` out and the detector derives
# it from its first records. The likelihood learns during the probationary period; only a value
# far outside everything seen so far (a spatial anomaly) scores there, which happens while
# the first records widen the seen range, so alarms are counted after it.
probation = 300
detector = AnomalyDetector(min_value=float(values.min()), max_value=float(values.max()),
                           probationary_period=probation, seed=0)
scores = np.array([detector.update(t, float(v))
                   for t, v in zip(frame["timestamp"], values, strict=True)])

threshold = 0.5
flagged = np.flatnonzero((scores >= threshold) & (np.arange(len(scores)) >= probation))
found = [bool(np.any((flagged >= s) & (flagged < s + 24))) for s in starts]
print(f"rows after the probationary period with score >= {threshold}: {flagged.tolist()}")
print(f"injected anomalies flagged within a day: {sum(found)} of {len(starts)}")

# %%
# Where it fired
# --------------
fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
ax0.plot(values, lw=0.6)
for s in starts:
    ax0.axvspan(s, s + 24, color="C3", alpha=0.2)
ax0.set_ylabel("value")
ax0.set_title("stream (injected anomalies shaded)")
ax1.plot(scores, lw=0.8, color="C1")
ax1.axhline(threshold, color="k", ls=":", lw=0.8)
ax1.axvline(probation, color="grey", ls="--", lw=0.8)
ax1.set_ylabel("anomaly score")
ax1.set_xlabel("record")
fig.tight_layout()

# %%
# Saving and resuming
# -------------------
# Every stateful htmkit object saves to a versioned file and loads back bit-identical, so a
# detector can be stopped and resumed mid-stream.
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "detector.htm"
    detector.save(path)
    resumed = AnomalyDetector.load(path)
    t, v = frame["timestamp"].iloc[-1], float(values[-1])
    print("same next score after load:", detector.update(t, v) == resumed.update(t, v))
