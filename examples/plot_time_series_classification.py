"""
==================================
Numeric time-series classification
==================================

Classify noisy waveforms of different lengths with
:class:`~skrnn.RNNSequenceClassifier` reading numbers, one value per step.

Each series is a sine, square, triangle or sawtooth wave with a random
period, phase, amplitude and length (40 to 120 steps), plus Gaussian noise. The
series have different lengths, so they are passed as a list of 1-D arrays;
a 2-D array ``(n_series, n_steps)`` or a 3-D array ``(n_series, n_steps,
n_features)`` works too when all series have the same length.
"""

# %%
# The data
# --------
import numpy as np
from scipy import signal

rng = np.random.default_rng(0)
SHAPES = {
    "sine": np.sin,
    "square": lambda t: signal.square(t),
    "triangle": lambda t: signal.sawtooth(t, width=0.5),
    "sawtooth": lambda t: signal.sawtooth(t),
}


def waveform(shape):
    n_steps = rng.integers(40, 121)
    period = rng.uniform(8, 30)
    t = 2 * np.pi * (np.arange(n_steps) / period + rng.random())
    return rng.uniform(0.5, 1.5) * SHAPES[shape](t) + rng.normal(scale=0.3, size=n_steps)


y = rng.choice(list(SHAPES), size=1200)
X = [waveform(shape) for shape in y]
print(f"{len(X)} series of {min(map(len, X))} to {max(map(len, X))} steps")

import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, len(SHAPES), figsize=(11, 2.5), sharey=True)
for ax, shape in zip(axes, SHAPES):
    for i in np.flatnonzero(y == shape)[:2]:
        ax.plot(X[i], linewidth=1)
    ax.set_title(shape)
    ax.set_xlabel("step")
fig.tight_layout()
plt.show()

# %%
# The classifier
# --------------
# The values are already centred with a spread near 1, the scale recurrent
# networks train best on; scale other data first (with statistics of the
# training series). ``pooling="mean"`` averages the network's output over
# each series' real steps: padding never enters it.
import time

from sklearn.model_selection import train_test_split

from skrnn import RNNSequenceClassifier

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
clf = RNNSequenceClassifier(
    hidden_size=32, pooling="mean", learning_rate=0.01, early_stopping=True, max_iter=60, random_state=0
)
start = time.perf_counter()
clf.fit(X_train, y_train)
print(f"input_type_={clf.input_type_!r}, {clf.n_iter_} epochs in {time.perf_counter() - start:.1f} s")
print(f"test accuracy {clf.score(X_test, y_test):.3f}")

# %%
# Errors and representation
# -------------------------
# The confusion matrix shows which shapes the network mixes up: expect sine
# and triangle waves, which the noise makes alike, to be the pair it confuses
# most. ``transform``
# returns the pooled vector each series is classified from; its first two
# principal components show how the classes separate.
from sklearn.decomposition import PCA
from sklearn.metrics import ConfusionMatrixDisplay

fig, (ax_cm, ax_pca) = plt.subplots(1, 2, figsize=(10, 4.2))
ConfusionMatrixDisplay.from_predictions(y_test, clf.predict(X_test), ax=ax_cm, colorbar=False)
ax_cm.set_title("test series")

embedded = PCA(n_components=2).fit_transform(clf.transform(X_test))
for shape in SHAPES:
    ax_pca.scatter(*embedded[y_test == shape].T, s=10, label=shape)
ax_pca.set_xlabel("first principal component")
ax_pca.set_ylabel("second principal component")
ax_pca.set_title("clf.transform(X_test)")
ax_pca.legend(fontsize="small")
fig.tight_layout()
plt.show()
