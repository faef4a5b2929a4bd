"""
Encoders
========

Encoders turn values into SDRs so that similar values share active bits. Every encoder has
``encode(value) -> SDR`` and ``size``; a missing value (``None`` or NaN) encodes to an SDR with
no active bits. This example compares a :class:`~htmkit.encoders.ScalarEncoder` (a contiguous
block of bits over a bounded range) with an :class:`~htmkit.encoders.RDSE` (random buckets,
unbounded range), then encodes dates, categories and whole records.
"""

# %%
# Scalars: similar values overlap
# -------------------------------
import datetime as dt

import matplotlib.pyplot as plt
import numpy as np

from htmkit.encoders import RDSE, CategoryEncoder, DateEncoder, MultiEncoder, ScalarEncoder

scalar = ScalarEncoder(minimum=0.0, maximum=100.0, size=400, active_bits=21)
rdse = RDSE(size=400, active_bits=21, resolution=1.0, seed=1)
print("scalar:", scalar.encode(50.0))
print("rdse:  ", rdse.encode(50.0))
print("missing value:", scalar.encode(None).num_active, "active bits")

values = np.linspace(30.0, 70.0, 81)
ref_s, ref_r = scalar.encode(50.0), rdse.encode(50.0)
overlap_s = [scalar.encode(float(v)).overlap(ref_s) for v in values]
overlap_r = [rdse.encode(float(v)).overlap(ref_r) for v in values]

fig, ax = plt.subplots(figsize=(7, 3.6))
ax.plot(values, overlap_s, label="ScalarEncoder")
ax.plot(values, overlap_r, label="RDSE (resolution 1)")
ax.set_xlabel("value")
ax.set_ylabel("overlap with the encoding of 50")
ax.legend()
fig.tight_layout()

# %%
# Dates and categories
# --------------------
# The :class:`~htmkit.encoders.DateEncoder` encodes the parts of a timestamp you give a width:
# here the time of day (periodic) and the weekend flag.
dates = DateEncoder(time_of_day_width=21, time_of_day_radius=4.0, weekend_width=11)
t0 = dt.datetime(2026, 3, 2, 9, 0)  # a Monday morning
for hours in (0, 1, 6, 12, 24 * 5):
    t = t0 + dt.timedelta(hours=hours)
    print(f"{t:%a %H:%M}  overlap with Monday 09:00: {dates.encode(t).overlap(dates.encode(t0))}")

colours = CategoryEncoder(categories=["red", "green", "blue"], active_bits=10)
print("red vs blue overlap:", colours.encode("red").overlap(colours.encode("blue")))

# %%
# Records
# -------
# A :class:`~htmkit.encoders.MultiEncoder` concatenates the encodings of named fields; ``split``
# cuts an output back into its fields.
record = MultiEncoder({"price": scalar, "colour": colours})
sdr = record.encode({"price": 42.0, "colour": "green"})
print("record:", sdr, "offsets:", record.offsets)
print({name: part.num_active for name, part in record.split(sdr).items()})
