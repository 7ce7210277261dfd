"""Tokenizer speed: skrnn's tokenizers next to CountVectorizer on the same text.

Two workloads, each tokenized the same way by both libraries:

- ``tinyshakespeare.txt`` as one 1.1M-character document, by characters:
  ``CharTokenizer()`` and ``CountVectorizer(analyzer="char", lowercase=False)``
  (whose 1-gram characters are the same tokens, except that it first collapses
  runs of whitespace into one space);
- the 5,574 SMS Spam Collection messages, by words: ``WordTokenizer()`` and
  ``CountVectorizer(token_pattern=WordTokenizer's default)``, both lowercasing.

For each it prints the median wall time of ``--repeats`` runs, tokens per
second and the ratio CountVectorizer time / skrnn time (>= 1: skrnn is no
slower). The runs alternate between the two libraries so that both see the same
machine noise, and BLAS is pinned to one thread.

The bar (issue 3): skrnn's ``fit_transform``, the call a Pipeline makes, is no
slower than ``CountVectorizer.fit_transform``. ``fit`` followed by a separate
``transform`` tokenizes the text twice and is printed for information. The
script exits with status 1 when the bar is missed.

Data are read from ``../shared/data`` beside the checkout, or from the folder
in the ``SKRNN_DATA`` environment variable; without them the script says so and
exits with status 0.

Run: ``python benchmarks/bench_tokenizers.py [--repeats 7]``
"""

import argparse
import statistics
import sys
import time

from sklearn.feature_extraction.text import CountVectorizer
from threadpoolctl import threadpool_limits

from _common import data_dir
from skrnn import CharTokenizer, WordTokenizer
from skrnn._tokenizers import default_token_pattern


def load_data(folder):
    """(shakespeare text, list of SMS texts), or None when a file is missing."""
    shakespeare = folder / "tinyshakespeare.txt"
    sms = folder / "sms_spam_collection.tsv"
    if not (shakespeare.is_file() and sms.is_file()):
        return None
    text = shakespeare.read_text(encoding="utf-8")
    # label<TAB>text with a header and no quoting: split on the first tab.
    with sms.open(encoding="utf-8", newline="\n") as f:
        next(f)
        messages = [line.rstrip("\n").split("\t", 1)[1] for line in f]
    return text, messages


def median_seconds(candidates, repeats):
    """Median wall time of each zero-argument callable, runs interleaved."""
    times = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def bench(label, docs, skrnn_factory, cv_factory, repeats):
    """Time one workload; print its rows and return the fit_transform ratio."""
    n_tokens = int((skrnn_factory().fit_transform(docs) != 0).sum())
    n_cv_tokens = int(cv_factory().fit_transform(docs).sum())
    seconds = median_seconds(
        {
            "fit_transform": lambda: skrnn_factory().fit_transform(docs),
            "fit + transform": lambda: skrnn_factory().fit(docs).transform(docs),
            "cv": lambda: cv_factory().fit_transform(docs),
        },
        repeats,
    )
    skrnn_name = type(skrnn_factory()).__name__
    rows = [
        (f"{skrnn_name}.fit_transform", seconds["fit_transform"], n_tokens),
        (f"{skrnn_name}.fit + .transform", seconds["fit + transform"], n_tokens),
        ("CountVectorizer.fit_transform", seconds["cv"], n_cv_tokens),
    ]
    print(f"\n{label}")
    print(f"  {'method':34s} {'seconds':>9s} {'tokens/s':>12s} {'ratio':>7s}")
    for name, sec, tokens in rows:
        print(f"  {name:34s} {sec:9.4f} {tokens / sec:12,.0f} {seconds['cv'] / sec:7.2f}")
    if n_cv_tokens != n_tokens:
        print(f"  (CountVectorizer counted {n_cv_tokens:,} tokens, skrnn {n_tokens:,})")
    return seconds["cv"] / seconds["fit_transform"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per method (median)")
    args = parser.parse_args(argv)

    folder = data_dir()
    data = load_data(folder)
    if data is None:
        print(f"Benchmark data not found in {folder}; set SKRNN_DATA to the folder "
              "holding tinyshakespeare.txt and sms_spam_collection.tsv.")
        return 0
    text, messages = data

    with threadpool_limits(limits=1):
        ratios = {
            "characters": bench(
                f"tinyshakespeare.txt, 1 document of {len(text):,} characters",
                [text],
                CharTokenizer,
                lambda: CountVectorizer(analyzer="char", lowercase=False),
                args.repeats,
            ),
            "words": bench(
                f"sms_spam_collection.tsv, {len(messages):,} documents",
                messages,
                WordTokenizer,
                lambda: CountVectorizer(token_pattern=default_token_pattern()),
                args.repeats,
            ),
        }
    print("\nratio = CountVectorizer seconds / skrnn seconds (>= 1: skrnn no slower)")
    passed = all(r >= 1 for r in ratios.values())
    summary = ", ".join(f"{kind} {r:.2f}x" for kind, r in ratios.items())
    print(f"{'PASS' if passed else 'FAIL'}: skrnn fit_transform vs CountVectorizer "
          f"fit_transform: {summary}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
