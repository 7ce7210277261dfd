"""
===================================
Training and validation loss curves
===================================

Train a character-level language model with each recurrent cell and plot its
training and validation loss after every epoch.

The corpus is every distinct lowercase word of 4 to 10 letters in Python's
own documentation (the ``pydoc_data`` package, shipped with every CPython),
one word per document: the model learns how words are spelled, and where they
end.

With ``early_stopping=True``, :class:`~skrnn.RNNCharGenerator` holds out
``validation_fraction`` of the documents, scores them after each epoch and
stops when that score stops improving, keeping the weights of the best epoch.
``loss_curve_`` holds the training loss of each epoch and
``validation_scores_`` the validation log-likelihood, both per character and
in nats: the validation loss is its negative.
"""

# %%
# The corpus
# ----------
import re

from pydoc_data.topics import topics

text = "\n".join(topics[key] for key in sorted(topics))
words = sorted(set(re.findall(r"\b[a-z]{4,10}\b", text)))
print(f"{len(words)} words, e.g. {words[::500]}")

# %%
# One model per cell
# ------------------
# The three models share every other parameter and the random seed, hence the
# same split into training and validation words.
import time

from skrnn import RNNCharGenerator

models = {}
for cell in ("rnn", "gru", "lstm"):
    start = time.perf_counter()
    models[cell] = RNNCharGenerator(
        hidden_size=64,
        cell=cell,
        max_iter=40,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        random_state=0,
    ).fit(words)
    model = models[cell]
    print(
        f"{cell}: {model.n_iter_} epochs in {time.perf_counter() - start:.1f} s, "
        f"best validation loss {-model.best_validation_score_:.3f} nats per character"
    )

# %%
# The curves
# ----------
# Solid lines are the training loss, averaged over each epoch's updates while
# the weights change; dashed lines the validation loss, measured on held-out
# words at the end of each epoch. A dot marks the epoch whose weights were
# kept.
import matplotlib.pyplot as plt
import numpy as np

fig, ax = plt.subplots(figsize=(7, 4.5))
for (cell, model), color in zip(models.items(), ("C0", "C1", "C2")):
    epochs = np.arange(1, len(model.loss_curve_) + 1)
    validation_loss = -np.asarray(model.validation_scores_)
    best = int(np.argmin(validation_loss))
    ax.plot(epochs, model.loss_curve_, color=color, label=f"{cell}, training")
    ax.plot(epochs, validation_loss, color=color, linestyle="--", label=f"{cell}, validation")
    ax.plot(epochs[best], validation_loss[best], "o", color=color)
ax.set_xlabel("epoch")
ax.set_ylabel("loss (nats per character)")
ax.set_title("RNNCharGenerator on words of Python's documentation")
ax.legend(ncol=3, fontsize="small")
fig.tight_layout()
plt.show()

# %%
# Each model ends with samples of its own words:
for cell, model in models.items():
    samples = [model.generate(temperature=0.8, random_state=seed) for seed in range(8)]
    print(f"{cell:>4}: {' '.join(samples)}")
