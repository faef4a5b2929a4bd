"""
The streaming model: prediction and anomaly
===========================================

:class:`~htmkit.HTMModel` chains a value encoder (an RDSE), an optional timestamp encoder, a
Spatial Pooler, a Temporal Memory, a predictor (the SDR classifier) and an anomaly likelihood.
One configuration (a dict or a YAML file) describes it; ``model.run(record)`` takes one record
and returns the predictions for each configured step, the raw anomaly score and the anomaly
likelihood.

Here it learns a noisy periodic signal without timestamps and predicts one step ahead.
"""

# %%
# The model
# ---------
# Every key of the configuration is optional; the missing ones take the defaults in
# ``htmkit.model.DEFAULT_CONFIG``. Setting the time of day width to 0 switches the timestamp
# encoder off. :meth:`~htmkit.HTMModel.for_data` derives the value resolution from a sample.
import matplotlib.pyplot as plt
import numpy as np

from htmkit import HTMModel

rng = np.random.default_rng(0)
t = np.arange(1200)
signal = 10 + 5 * np.sin(2 * np.pi * t / 24) + 2 * np.sin(2 * np.pi * t / 6)
signal = signal + rng.normal(0, 0.2, len(t))

config = {
    "timestamp": {"encoder": {"time_of_day_width": 0}},
    "sp": {"column_dimensions": [1024], "num_active_columns_per_inh_area": 20},
    "tm": {"cells_per_column": 8, "activation_threshold": 8, "min_threshold": 6,
           "max_new_synapse_count": 12},
    "predictor": {"steps": [1]},
    "seed": 1,
}
model = HTMModel.for_data(signal, config)
print(model)

# %%
# Streaming
# ---------
predicted = np.full(len(t), np.nan)
anomaly = np.zeros(len(t))
for i, value in enumerate(signal):
    result = model.run(float(value))
    if i + 1 < len(t):
        predicted[i + 1] = result.predictions[1]
    anomaly[i] = result.anomaly_score

error = np.abs(predicted - signal)
print(f"mean absolute error of the one-step prediction: first 200 records "
      f"{np.nanmean(error[:200]):.2f}, last 200 {np.nanmean(error[-200:]):.2f}")
print(f"mean raw anomaly: first 200 {anomaly[:200].mean():.2f}, last 200 "
      f"{anomaly[-200:].mean():.2f}")

fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
ax0.plot(t[-120:], signal[-120:], label="value")
ax0.plot(t[-120:], predicted[-120:], label="predicted one step ahead", ls="--")
ax0.legend(loc="upper right")
ax1.plot(t[-120:], anomaly[-120:], color="C3")
ax1.set_ylabel("raw anomaly")
ax1.set_xlabel("record")
fig.tight_layout()
