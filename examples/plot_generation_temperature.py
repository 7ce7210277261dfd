"""
=================================
Generated samples by temperature
=================================

Sample words from a character-level language model at several temperatures
and see what the temperature does to the distribution it samples from.

:meth:`~skrnn.RNNCharGenerator.generate` divides the model's logits by
``temperature`` before the softmax: ``temperature=0`` always takes the most
likely character (greedy decoding), 1 samples from the model's own
distribution, lower values sharpen it and higher values flatten it.
``top_k`` restricts sampling to the ``k`` most likely characters.

The corpus is every distinct lowercase word of 4 to 10 letters in Python's
documentation (``pydoc_data``, shipped with every CPython), one word per
document, so every sample is one invented word that the model ends itself.
"""

# %%
# Train the model
# ---------------
import re
import warnings

from pydoc_data.topics import topics
from sklearn.exceptions import ConvergenceWarning

from skrnn import RNNCharGenerator

text = "\n".join(topics[key] for key in sorted(topics))
words = sorted(set(re.findall(r"\b[a-z]{4,10}\b", text)))

model = RNNCharGenerator(hidden_size=128, cell="gru", max_iter=25, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed budget of epochs
    model.fit(words)
print(f"{len(words)} words; training loss {model.loss_curve_[-1]:.3f} nats per character")

# %%
# Samples
# -------
# The same seeds at each temperature. At 0 every sample is the same word; as
# the temperature grows the words get more varied, then less word-like.
temperatures = [0, 0.5, 1.0, 1.5, 2.0]
for temperature in temperatures:
    samples = [model.generate(temperature=temperature, random_state=seed) for seed in range(8)]
    print(f"temperature {temperature:>3}: {' '.join(samples)}")

# %%
# ``top_k=3`` at temperature 1.5 keeps the variety but cuts the unlikely
# characters that make high-temperature samples unreadable:
print(" ".join(model.generate(temperature=1.5, top_k=3, random_state=seed) for seed in range(8)))

# %%
# The next-character distribution
# -------------------------------
# ``predict_proba`` gives the model's distribution of the character that
# follows a prefix (column 0, shown as ``END``, ends the word). Dividing the
# log-probabilities by the temperature and renormalising is what sampling at
# that temperature draws from.
import matplotlib.pyplot as plt
import numpy as np

prefix = "func"
log_proba = model.predict_log_proba([prefix])[0]
labels = ["END" if c == "" else c for c in model.classes_]
order = np.argsort(-log_proba)[:12]

fig, axes = plt.subplots(1, 3, figsize=(10, 3.5), sharey=True)
for ax, temperature in zip(axes, (0.5, 1.0, 2.0)):
    scaled = np.exp(log_proba / temperature - np.max(log_proba / temperature))
    scaled /= scaled.sum()
    ax.bar(range(len(order)), scaled[order], color="C0")
    ax.set_xticks(range(len(order)), [labels[i] for i in order])
    ax.set_title(f"temperature {temperature}")
axes[0].set_ylabel(f"P(next character | {prefix!r})")
fig.tight_layout()
plt.show()

# %%
# Validity against variety
# ------------------------
# For each temperature, 200 samples: the share that are real words of the
# corpus, and the share of distinct samples. Low temperatures repeat a few
# safe words; high ones invent more and more non-words.
grid = np.linspace(0.1, 2.0, 10)
vocabulary = set(words)
real, distinct = [], []
for temperature in grid:
    samples = [model.generate(temperature=temperature, random_state=seed) for seed in range(200)]
    real.append(np.mean([s in vocabulary for s in samples]))
    distinct.append(len(set(samples)) / len(samples))

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(grid, real, "o-", label="samples that are words of the corpus")
ax.plot(grid, distinct, "s-", label="distinct samples")
ax.set_xlabel("temperature")
ax.set_ylabel("share of 200 samples")
ax.set_ylim(0, 1.05)
ax.legend()
fig.tight_layout()
plt.show()
