"""Command line: ``skrnn demo`` (also ``python -m skrnn demo``)."""

import argparse
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning


def python_docs_corpus():
    """The text of Python's own documentation topics, shipped with every CPython."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics))


def demo(seconds=60.0, hidden_size=128, seed=0, out=None):
    """Train a character model on Python's docs for about ``seconds`` and print samples."""
    from . import RNNCharGenerator

    out = sys.stdout if out is None else out

    text = python_docs_corpus()
    print(f"skrnn demo: a character-level RNN learns {len(text):,} characters of Python's documentation "
          f"(pydoc_data) for about {seconds:.0f} s.", file=out, flush=True)
    # One epoch per fit, warm-started, so the demo can stop on a time budget.
    model = RNNCharGenerator(hidden_size=hidden_size, max_iter=1, warm_start=True, random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        while time.perf_counter() - start < seconds:
            model.fit(text)
            sample = model.generate("The ", n_chars=50, temperature=0.7, random_state=seed)
            print(f"epoch {len(model.loss_curve_)}: loss {model.loss_curve_[-1]:.3f} nats/char, "
                  f"{time.perf_counter() - start:.0f} s  The {sample!r}", file=out, flush=True)
    print(f"\nTrained {len(model.loss_curve_)} epoch(s) in {time.perf_counter() - start:.0f} s; "
          f"training loss {model.loss_curve_[0]:.3f} -> {model.loss_curve_[-1]:.3f} nats/char.", file=out)
    for temperature in (0.5, 1.0):
        sample = model.generate("The ", n_chars=300, temperature=temperature, random_state=seed)
        print(f"\n--- sample at temperature {temperature} ---\nThe {sample}", file=out, flush=True)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(prog="skrnn", description="Recurrent neural networks for scikit-learn.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_demo = commands.add_parser("demo", help="train a text generator on Python's docs and print samples")
    run_demo.add_argument("--seconds", type=float, default=60.0, help="training time budget (default 60)")
    run_demo.add_argument("--hidden-size", type=int, default=128, help="recurrent units (default 128)")
    run_demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.seconds <= 0 or args.hidden_size < 1:
        parser.error("--seconds must be > 0 and --hidden-size >= 1")
    try:
        demo(seconds=args.seconds, hidden_size=args.hidden_size, seed=args.seed)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
