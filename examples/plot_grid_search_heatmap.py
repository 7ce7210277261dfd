"""
=============================================================
Grid search over hidden size and learning rate, as a heat map
=============================================================

Tune :class:`~skrnn.RNNCharGenerator` with scikit-learn's
:class:`~sklearn.model_selection.GridSearchCV` and plot the cross-validated
score of every pair of ``hidden_size`` and ``learning_rate``.

A language model needs no labels and no scorer: its ``score`` method is the
mean log-likelihood per character of held-out text (in nats, higher is
better), which is what the search maximises. The corpus is every distinct
lowercase word of 4 to 10 letters in Python's documentation (``pydoc_data``,
shipped with every CPython), one word per document.
"""

# %%
# The search
# ----------
# Every fit gets the same small budget of epochs, so the search also shows
# which settings learn fastest. ``n_jobs=2`` runs two fits at a time; with
# ``random_state`` set the results are the same, to the bit, for any
# ``n_jobs``. The folds are shuffled because the word list is sorted: unshuffled,
# each fold would hold its own stretch of the alphabet, and a training part
# could miss letters that ``score`` then leaves out, with a warning.
import re
import time
import warnings

from pydoc_data.topics import topics
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

from skrnn import RNNCharGenerator

text = "\n".join(topics[key] for key in sorted(topics))
words = sorted(set(re.findall(r"\b[a-z]{4,10}\b", text)))

param_grid = {"hidden_size": [16, 32, 64, 128], "learning_rate": [0.001, 0.003, 0.01]}
search = GridSearchCV(
    RNNCharGenerator(max_iter=5, random_state=0),
    param_grid,
    cv=KFold(n_splits=3, shuffle=True, random_state=0),
    n_jobs=2,
)
start = time.perf_counter()
with warnings.catch_warnings():
    # 5 epochs are not convergence, on purpose; scikit-learn hands the filter to its workers.
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(words)
print(f"{len(search.cv_results_['params'])} candidates x 3 folds in {time.perf_counter() - start:.0f} s")
print(f"best: {search.best_params_}, log-likelihood {search.best_score_:.3f} nats per character")

# %%
# The heat map
# ------------
# ``cv_results_`` lists the candidates in the order of ``ParameterGrid``: the
# parameters sorted by name, the last one varying fastest, here
# ``learning_rate`` within ``hidden_size``.
import matplotlib.pyplot as plt

sizes, rates = param_grid["hidden_size"], param_grid["learning_rate"]
scores = search.cv_results_["mean_test_score"].reshape(len(sizes), len(rates))

fig, ax = plt.subplots(figsize=(5.5, 4.5))
image = ax.imshow(scores, cmap="viridis", origin="lower")
ax.set_xticks(range(len(rates)), [str(r) for r in rates])
ax.set_yticks(range(len(sizes)), [str(s) for s in sizes])
ax.set_xlabel("learning_rate")
ax.set_ylabel("hidden_size")
for i in range(len(sizes)):
    for j in range(len(rates)):
        best = scores[i, j] == scores.max()
        ax.text(j, i, f"{scores[i, j]:.3f}", ha="center", va="center",
                color="black" if best else "white", fontweight="bold" if best else "normal")
fig.colorbar(image, ax=ax, label="mean log-likelihood per character (nats)")
ax.set_title("3-fold cross-validated score, 5 epochs")
fig.tight_layout()
plt.show()

# %%
# The refitted best model
# -----------------------
# ``refit=True`` (the default) fitted the best candidate on all the words:
best = search.best_estimator_
print(" ".join(best.generate(temperature=0.8, random_state=seed) for seed in range(10)))
