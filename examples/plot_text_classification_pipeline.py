"""
====================================
A text-classification Pipeline
====================================

Classify short reviews with a :class:`~sklearn.pipeline.Pipeline` of
:class:`~skrnn.WordTokenizer` and :class:`~skrnn.RNNSequenceClassifier`, and
compare it with TF-IDF and logistic regression on the same split.

The reviews are generated, so the example needs no download, and built so that
word order matters: a negation flips the clause after it ("not good"), and in
"X but Y" the clause after "but" decides. "the plot was good but the ending
was bad" and "the plot was bad but the ending was good" hold the same words
and have opposite labels, which a bag of words cannot tell apart.
``benchmarks/bench_text_classification.py`` runs the same comparison on real
review and SMS data sets.
"""

# %%
# The data
# --------
# 3,000 reviews of one or two clauses; 5% of the labels are flipped, as noise.
import numpy as np

rng = np.random.default_rng(0)
SUBJECTS = ["the film", "the plot", "the acting", "the music", "the ending", "the cast",
            "this book", "the food", "the service", "the hotel", "the room", "the staff"]
POSITIVE = ["good", "great", "excellent", "fun", "lovely", "wonderful", "clever", "brilliant"]
NEGATIVE = ["bad", "awful", "boring", "dull", "poor", "terrible", "weak", "silly"]
INTENSIFIERS = ["", "", "very ", "really ", "quite ", "so "]


def clause():
    """(text, is_positive, is_negated) of one clause."""
    positive, negated = rng.random() < 0.5, rng.random() < 0.35
    adjective = rng.choice(POSITIVE if positive else NEGATIVE)
    text = (f"{rng.choice(SUBJECTS)} {rng.choice(['is', 'was'])} {'not ' if negated else ''}"
            f"{rng.choice(INTENSIFIERS)}{adjective}")
    return text, positive != negated, negated


def review():
    """(text, label, kind), kind being "plain", "negated" or "but"."""
    text, positive, negated = clause()
    kind = "negated" if negated else "plain"
    if rng.random() < 0.5:
        second, positive, _ = clause()
        text, kind = f"{text} but {second}", "but"
    return text, "positive" if positive else "negative", kind


texts, labels, kinds = map(np.array, zip(*(review() for _ in range(3000))))
noise = rng.random(labels.size) < 0.05
labels[noise] = np.where(labels[noise] == "positive", "negative", "positive")
for text, label in zip(texts[:5], labels[:5]):
    print(f"{label:>8}: {text}")

# %%
# The pipeline
# ------------
# The tokenizer turns each review into a row of word ids, padded with 0; the
# classifier reads the ids in order. ``early_stopping`` holds out 10% of the
# training reviews and keeps the weights of the epoch that classified them
# best.
import time

from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skrnn import RNNSequenceClassifier, WordTokenizer

X_train, X_test, y_train, y_test, kinds_train, kinds_test, _, noise_test = train_test_split(
    texts, labels, kinds, noise, test_size=0.3, stratify=labels, random_state=0
)
rnn = make_pipeline(
    WordTokenizer(),
    RNNSequenceClassifier(hidden_size=32, early_stopping=True, max_iter=40, random_state=0),
)
start = time.perf_counter()
rnn.fit(X_train, y_train)
print(f"fitted in {time.perf_counter() - start:.1f} s, {rnn[-1].n_iter_} epochs, "
      f"vocabulary of {rnn[0].n_tokens_} ids; test accuracy {rnn.score(X_test, y_test):.3f}")

# %%
# The baselines
# -------------
# TF-IDF weighted bags of words, and of words and word pairs, each with a
# logistic regression.
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

models = {
    "TF-IDF words + LR": make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)),
    "TF-IDF words, pairs + LR": make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000)),
}
for model in models.values():
    model.fit(X_train, y_train)
models["WordTokenizer + RNN"] = rnn

# %%
# Accuracy by kind of review
# --------------------------
# The bags of words do well on plain clauses and fail where order decides.
import matplotlib.pyplot as plt

groups = ["plain", "negated", "but", "all"]
fig, ax = plt.subplots(figsize=(7, 4))
width = 0.8 / len(models)
for k, (name, model) in enumerate(models.items()):
    correct = model.predict(X_test) == y_test
    accuracy = [correct[kinds_test == g].mean() if g != "all" else correct.mean() for g in groups]
    ax.bar(np.arange(len(groups)) + (k - 1) * width, accuracy, width, label=name)
# A flipped test label is one no model should get right: the best accuracy is the share left unflipped.
ceiling = 1 - noise_test.mean()
ax.axhline(ceiling, color="grey", linestyle=":", label=f"ceiling: {noise_test.mean():.0%} of test labels flipped")
ax.set_xticks(range(len(groups)), ["plain clause", "negated clause", '"X but Y"', "all"])
ax.set_ylabel("test accuracy")
ax.set_ylim(0, 1.05)
ax.legend(loc="lower left", fontsize="small")
fig.tight_layout()
plt.show()

# %%
# New reviews
# -----------
# Same words, different order. Words the tokenizer never saw ("soundtrack")
# become the unknown id and the rest of the sentence still counts.
new = [
    "the plot was good but the ending was bad",
    "the plot was bad but the ending was good",
    "the soundtrack is not boring",
    "the soundtrack is boring",
]
for text, proba in zip(new, rnn.predict_proba(new)):
    print(f"P(positive) = {proba[list(rnn.classes_).index('positive')]:.2f}  {text}")
