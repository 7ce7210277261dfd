"""The command line: ``skrnn COMMAND`` (also ``python -m skrnn COMMAND``).

    skrnn demo                                  train on Python's docs, print samples
    skrnn train-generator TEXT_FILE -o MODEL    fit an RNNCharGenerator
    skrnn generate MODEL --prompt TEXT          stream generated text
    skrnn train-classifier TABLE -o MODEL       fit an RNNSequenceClassifier on a CSV/TSV
    skrnn classify MODEL [FILE|-]               one text per line in, label<TAB>probability out

Expected failures (a missing file, a bad column, a wrong model file, an
estimator's ValueError) print ``skrnn: error: <message>`` on one line and exit
with status 1; bad arguments exit with status 2. Models are written with
joblib to a temporary file in the target directory, synced, then renamed over
the target, so an interrupted run never leaves a broken model behind.
"""

import argparse
import codecs
import csv
import inspect
import io
import math
import os
import re
import stat
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import joblib
from sklearn.exceptions import ConvergenceWarning

from . import RNNCharGenerator, RNNSequenceClassifier, __version__
from ._core.cells import CELLS
from ._core.network import POOLINGS
from ._core.optimizers import SOLVERS
from ._progress import TrainingProgress

TRUSTED = (
    "Model files are pickles (joblib): loading one can run arbitrary code, so load only model files "
    "from sources you trust."
)
ROWS_PER_PREDICT = 256
# Commands whose standard output is progress for a person, not data for a program.
PROGRESS_ONLY = ("demo", "train-generator", "train-classifier")
# 'classify' prints label<TAB>probability lines, unquoted: a label holding a tab or a line break (any that
# str.splitlines knows) would split them.
OUTPUT_SEPARATORS = ("\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


class CommandError(Exception):
    """An expected failure, printed as ``skrnn: error: <message>`` with exit status 1."""


# -- arguments ------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Usage errors on one line, exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _Given:
    """Mixin for argparse actions: record the option's dest in ``namespace.given_options``.

    argparse calls an action only for an option on the command line, so ``--resume`` can tell an
    option given (even at its default value) from one left at its default.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, values, option_string)
        vars(namespace).setdefault("given_options", set()).add(self.dest)


class _GivenStore(_Given, argparse._StoreAction):
    pass


class _GivenStoreTrue(_Given, argparse._StoreTrueAction):
    pass


class _GivenBoolean(_Given, argparse.BooleanOptionalAction):
    pass


def _add(parser, *flags, low=None, high=None, low_open=False, high_open=False, **kwargs):
    """``parser.add_argument``, remembering the allowed range, checked by ``_check_ranges``."""
    action = parser.add_argument(*flags, **kwargs)
    action.bounds = (low, high, low_open, high_open)
    return action


def _check_ranges(parser, args):
    for action in parser._actions:
        bounds = getattr(action, "bounds", None)
        value = getattr(args, action.dest, None)
        if bounds is None or value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):  # nan passes every comparison
            parser.error(f"{action.option_strings[-1]} must be a finite number, got {value}")
        low, high, low_open, high_open = bounds
        below = low is not None and (value <= low if low_open else value < low)
        above = high is not None and (value >= high if high_open else value > high)
        if below or above:
            if high is None:
                rule = f"{'>' if low_open else '>='} {low}"
            else:
                rule = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
            parser.error(f"{action.option_strings[-1]} must be {rule}, got {value}")


def _int_or_none(text):
    if text.lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer or 'none', got {text!r}") from None


def _delimiter(text):
    named = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";"}
    value = named.get(text.lower(), text)
    if len(value) != 1:
        raise argparse.ArgumentTypeError(f"must be one character (or 'tab'), got {text!r}")
    return value


def _training_options(parser, defaults, unit):
    """Options shared by both training commands; defaults are the estimator's.

    Every option that ``parser`` gets from here on records itself when given (for ``--resume``).
    """
    parser.register("action", None, _GivenStore)
    parser.register("action", "store", _GivenStore)
    parser.register("action", "store_true", _GivenStoreTrue)
    parser.add_argument("-o", "--output", required=True, metavar="MODEL",
                        help="model file to write (joblib); replaced atomically when training ends")
    parser.add_argument("--resume", action="store_true",
                        help="go on training the model in MODEL, as fit with warm_start=True does: its "
                             "architecture, characters or classes and optimizer state are kept, and only "
                             "the options given here change (e.g. --max-iter, --learning-rate)")
    _add(parser, "--hidden-size", type=int, default=defaults["hidden_size"], low=1,
         help="units in each recurrent layer (default: %(default)s)")
    parser.add_argument("--cell", choices=sorted(CELLS), default=defaults["cell"],
                        help="recurrent cell (default: %(default)s)")
    _add(parser, "--num-layers", type=int, default=defaults["num_layers"], low=1,
         help="stacked recurrent layers (default: %(default)s)")
    _add(parser, "--embedding-dim", type=_int_or_none, default=defaults["embedding_dim"], low=1,
         help="size of a learned embedding of the inputs, or 'none' for none: each input selects a row of the "
              f"first layer's weights (default: {str(defaults['embedding_dim']).lower()})")
    _add(parser, "--dropout", type=float, default=defaults["dropout"], low=0, high=1, high_open=True,
         help="dropout rate between layers and before the output layer, during training (default: %(default)s)")
    _add(parser, "--batch-size", type=int, default=defaults["batch_size"], low=1,
         help=f"{'parallel streams of text' if unit == 'chars' else 'texts'} per update (default: %(default)s)")
    parser.add_argument("--solver", choices=sorted(SOLVERS), default=defaults["solver"],
                        help="optimizer (default: %(default)s)")
    _add(parser, "--learning-rate", type=float, default=defaults["learning_rate"], low=0, low_open=True,
         help="step size of the optimizer (default: %(default)s)")
    _add(parser, "--max-iter", type=int, default=defaults["max_iter"], low=1,
         help="maximum epochs (default: %(default)s)")
    _add(parser, "--tol", type=float, default=defaults["tol"], low=0,
         help=f"least improvement of the training loss (with --validation, of the validation "
              f"{'loss' if unit == 'chars' else 'accuracy'}) that counts (default: %(default)s)")
    _add(parser, "--n-iter-no-change", type=int, default=defaults["n_iter_no_change"], low=1,
         help="stop after this many epochs without such an improvement (default: %(default)s)")
    _add(parser, "--clip-norm", type=float, default=defaults["clip_norm"], low=0, low_open=True,
         help="rescale each update's gradient to at most this norm; smaller values steady a diverging "
              "training (default: %(default)s)")
    parser.add_argument("--validation", action=_GivenBoolean, default=False,
                        help="hold out --validation-fraction of the data, report validation scores each epoch, "
                             "stop when they stop improving and keep the best weights (early stopping; "
                             "default: off)")
    _add(parser, "--validation-fraction", type=float, default=defaults["validation_fraction"],
         low=0, high=1, low_open=True, high_open=True,
         help="held-out share with --validation (default: %(default)s)")
    _add(parser, "--seed", type=int, default=None, low=0, high=2**32 - 1,
         help="random seed, for reproducible training (default: random)")
    parser.add_argument("--encoding", default="utf-8", help="encoding of the input file (default: %(default)s)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help=f"no per-epoch lines (loss, validation, time, {unit}/s) and no progress bar")


def build_parser():
    generator = RNNCharGenerator().get_params()
    classifier = RNNSequenceClassifier().get_params()
    sampling = {name: p.default for name, p in inspect.signature(RNNCharGenerator.generate).parameters.items()}
    parser = _Parser(
        prog="skrnn",
        description="Recurrent neural networks for scikit-learn, from the command line.",
        epilog=TRUSTED,
    )
    parser.add_argument("--version", action="version", version=f"skrnn {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo_ = commands.add_parser(
        "demo", help="train a text generator on Python's docs and print samples",
        description="Train a character-level RNN on the text of Python's documentation, shipped with "
                    "every CPython (no download), and print samples as it learns. Ctrl-C ends the "
                    "training early and prints the final samples.",
    )
    _add(demo_, "--seconds", type=float, default=60.0, low=0, low_open=True,
         help="training time budget in seconds (default: %(default)s)")
    _add(demo_, "--hidden-size", type=int, default=128, low=1, help="recurrent units (default 128)")
    _add(demo_, "--seed", type=int, default=0, low=0, high=2**32 - 1, help="random seed (default 0)")

    train_gen = commands.add_parser(
        "train-generator", help="train a character-level text generator on a text file",
        description="Train an RNNCharGenerator on TEXT_FILE (- reads stdin) and save it to MODEL. "
                    "Prints one line per epoch: training loss, validation loss (with "
                    "--validation), seconds, characters per second and a short sample; on a terminal, "
                    "a live status line runs within the epoch. Ctrl-C stops after the current batch "
                    "and still saves the model trained so far (--resume goes on from it); a second Ctrl-C "
                    "aborts without saving.",
    )
    train_gen.add_argument("text_file", metavar="TEXT_FILE", help="training text (- for stdin)")
    _training_options(train_gen, generator, "chars")
    _add(train_gen, "--seq-length", type=int, default=generator["seq_length"], low=1,
         help="characters per chunk of backpropagation through time (default: %(default)s)")
    train_gen.add_argument("--lines", action="store_true",
                           help="each non-empty line is a separate document (e.g. a list of names), "
                                "whose end the model learns")
    train_gen.add_argument("--lowercase", action=_GivenBoolean, default=False,
                           help="lowercase the text (and later prompts) (default: off)")

    generate_ = commands.add_parser(
        "generate", help="generate text from a trained generator, streamed as it is produced",
        description="Print PROMPT followed by text that MODEL (made by 'skrnn train-generator') generates "
                    "to continue it, one character at a time, then a newline.",
        epilog=TRUSTED,
    )
    generate_.add_argument("model", metavar="MODEL", help="model file made by 'skrnn train-generator'")
    generate_.add_argument("--prompt", default="", help="text to continue (default: start a new document)")
    _add(generate_, "--n-chars", type=int, default=sampling["n_chars"], low=0,
         help="maximum characters to generate; fewer if the model ends the document (default: %(default)s)")
    _add(generate_, "--temperature", type=float, default=sampling["temperature"], low=0,
         help="0 picks the most likely character; higher is more varied (default: %(default)s)")
    _add(generate_, "--top-k", type=int, default=None, low=1,
         help="sample only among the K most likely characters (default: all)")
    _add(generate_, "--seed", type=int, default=None, low=0, high=2**32 - 1,
         help="random seed: the same seed gives the same text (default: random)")

    train_clf = commands.add_parser(
        "train-classifier", help="train a text classifier on a CSV/TSV table",
        description="Train an RNNSequenceClassifier on the text and label columns of TABLE, a CSV or "
                    "TSV file with a header line (- reads stdin), and save it to MODEL. Prints one line "
                    "per epoch: training loss, validation accuracy (with --validation), seconds and "
                    "sequences (texts) per second. Ctrl-C stops after the current batch and still saves "
                    "the model (--resume goes on from it); a second Ctrl-C aborts without saving.",
    )
    train_clf.add_argument("table", metavar="TABLE", help="CSV/TSV file with a header line (- for stdin)")
    _training_options(train_clf, classifier, "texts")
    train_clf.add_argument("--text-column", default="text", help="column of the texts (default: %(default)s)")
    train_clf.add_argument("--label-column", default="label",
                           help="column of the labels, which may hold no tab or line break (default: %(default)s)")
    train_clf.add_argument("--delimiter", type=_delimiter, default=None,
                           help="field separator, e.g. ',' or 'tab' (default: tab for .tsv/.tab files or a "
                                "header containing a tab, else comma)")
    train_clf.add_argument("--quotes", action=argparse.BooleanOptionalAction, default=None,
                           help="read double quotes as CSV quoting, so a quoted field may hold the delimiter "
                                "or line breaks (default: yes for comma-separated tables; for tab-separated "
                                "ones, yes where that reads the file without merging rows, since their texts "
                                "may open with a quotation mark)")
    train_clf.add_argument("--tokenizer", choices=["word", "char"], default=classifier["tokenizer"],
                           help="split texts into words or characters (default: %(default)s)")
    train_clf.add_argument("--pooling", choices=sorted(POOLINGS), default=classifier["pooling"],
                           help="how the steps' outputs become one vector (default: %(default)s)")
    train_clf.add_argument("--bidirectional", action=_GivenBoolean,
                           default=classifier["bidirectional"],
                           help="also read each text backwards "
                                f"(default: {'on' if classifier['bidirectional'] else 'off'})")
    _add(train_clf, "--max-len", type=int, default=None, low=1,
         help="keep only the first N tokens of each text (default: all)")
    train_clf.add_argument("--balanced", action=_GivenBoolean, default=False,
                           help="weight classes inversely to their frequency (class_weight='balanced'; default: off)")

    classify_ = commands.add_parser(
        "classify", help="label texts, one per line, with a trained classifier",
        description="Read one text per line from FILE (- or nothing: stdin) and print, for each, the "
                    "label MODEL (made by 'skrnn train-classifier') predicts and its probability: "
                    "label<TAB>probability.",
        epilog=TRUSTED,
    )
    classify_.add_argument("model", metavar="MODEL", help="model file made by 'skrnn train-classifier'")
    classify_.add_argument("file", metavar="FILE", nargs="?", default="-",
                           help="texts, one per line (default: - for stdin)")
    classify_.add_argument("--encoding", default="utf-8", help="encoding of FILE (default: %(default)s)")
    return parser, commands.choices


# -- files ----------------------------------------------------------------------


def _source(path):
    """How messages name an input: stdin for "-", else the quoted path."""
    return "stdin" if path == "-" else f"'{path}'"


def _os_error(exc, path):
    reasons = {
        FileNotFoundError: "no such file",
        IsADirectoryError: "is a directory",
        PermissionError: "permission denied",
    }
    reason = reasons.get(type(exc), exc.strerror or str(exc))
    return CommandError(f"cannot read '{path}': {reason}")


def _decode_error(exc, path, encoding, stream):
    byte = exc.object[exc.start : exc.start + 1].hex()
    where = ""
    try:
        # exc.start counts from the chunk the text layer was decoding (8 KB at a time, after any BOM); the
        # chunk ends where the file's byte position now stands
        offset = stream.buffer.tell() - len(exc.object) + exc.start
    except (AttributeError, OSError, ValueError):  # stdin or a pipe: no position to tell
        offset = None
    if offset is not None and offset >= 0:
        where = f" at offset {offset}"
        if path != "-" and "\n".encode(encoding) == b"\n":
            try:
                where += f", line {_line_at(path, offset)}"
            except OSError:  # gone since: the offset must do
                pass
    return CommandError(f"{_source(path)} is not {encoding} text (byte 0x{byte}{where}); pass its --encoding")


def _line_at(path, offset):
    """The line number of byte ``offset`` of the file ``path`` (an ASCII-compatible encoding)."""
    lines, left = 1, offset
    with open(path, "rb") as f:
        while left > 0:
            chunk = f.read(min(left, 1 << 20))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            left -= len(chunk)
    return lines


@contextmanager
def _text_input(path, encoding, newline=None):
    """Open ``path`` (or stdin for ``-``) as text; file errors become CommandError."""
    try:
        # Excel and Notepad start UTF-8 files with a byte order mark: skip it, don't read it as text
        codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
        if path == "-":
            stream = io.TextIOWrapper(sys.stdin.buffer, encoding=codec, newline=newline)
        else:
            stream = open(path, encoding=codec, newline=newline)
    except LookupError:
        raise CommandError(f"unknown encoding {encoding!r}") from None
    except OSError as exc:
        raise _os_error(exc, path) from None
    try:
        yield stream
    except UnicodeDecodeError as exc:
        raise _decode_error(exc, path, encoding, stream) from None
    except BrokenPipeError:  # writing the output, not reading the input
        raise
    except OSError as exc:
        raise _os_error(exc, path) from None
    finally:
        if path == "-":
            stream.detach()
        else:
            stream.close()


def _read_text(path, encoding, newline=None):
    with _text_input(path, encoding, newline) as stream:
        return stream.read()


def _check_output(path, data):
    """Fail before training, not after, when MODEL cannot be written (where a link points) or is the data."""
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise CommandError(f"cannot write the model to '{path}': is a directory")
    if str(path) == "-":  # "-" reads stdin elsewhere; a pickle on stdout would garble a terminal
        raise CommandError("cannot write the model to stdout ('-'); give a file name")
    if str(path).endswith(("/", os.sep)) or os.path.basename(path) in (".", ".."):  # realpath drops them
        raise CommandError(f"cannot write the model to '{path}': names a directory; give a file name")
    if target.exists() and _is_data(target, data):
        raise CommandError(f"cannot write the model to '{path}': it is the training data, read from "
                           f"{_source(data)}")
    directory = target.parent
    if not directory.is_dir():
        raise CommandError(f"cannot write the model to '{path}': directory '{directory}' does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise CommandError(f"cannot write the model to '{path}': directory '{directory}' is not writable")


def _is_data(target, data):
    """Whether the file ``target`` is the training data (a file, or the file redirected to stdin)."""
    try:
        data_stat = os.fstat(sys.stdin.fileno()) if data == "-" else os.stat(data)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):  # no such file; stdin is no file
        return False
    return os.path.samestat(data_stat, os.stat(target))


def save_model(model, path):
    """Write ``model`` with joblib to ``path`` atomically: temporary file, fsync, rename.

    A file replaced keeps its permissions, and a symbolic link its target.
    """
    target = Path(os.path.realpath(path))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if target.exists():
                mode = stat.S_IMODE(target.stat().st_mode)
            else:  # mkstemp's 0600 would surprise; honour the umask
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            os.fchmod(f.fileno(), mode)
            joblib.dump(model, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def load_model(path, expected, command, made_by):
    """Load a joblib model file and check that it holds a fitted ``expected`` estimator."""
    if not Path(path).exists():
        raise CommandError(f"cannot read '{path}': no such file")
    if Path(path).is_dir():
        raise CommandError(f"cannot read '{path}': is a directory")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = joblib.load(path)
        except OSError as exc:
            raise _os_error(exc, path) from None
        except Exception as exc:  # a damaged or foreign file fails in many ways inside unpickling
            detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            raise CommandError(f"'{path}' is not a skrnn model file, or it is damaged ({detail})") from None
    _print_warnings(caught)
    if not isinstance(model, expected):
        raise CommandError(
            f"'{path}' holds {type(model).__name__}, not {expected.__name__}: 'skrnn {command}' needs a "
            f"model made by 'skrnn {made_by}'"
        )
    if not hasattr(model, "weights_"):
        raise CommandError(f"'{path}' holds an unfitted {expected.__name__}; train one with 'skrnn {made_by}'")
    return model


# -- training -------------------------------------------------------------------


# The estimators' parameters that an option of the command line sets, by the option's name.
_OPTIONS = {
    "hidden_size": "--hidden-size", "num_layers": "--num-layers", "embedding_dim": "--embedding-dim",
    "batch_size": "--batch-size", "learning_rate": "--learning-rate", "max_iter": "--max-iter",
    "clip_norm": "--clip-norm", "validation_fraction": "--validation-fraction", "seq_length": "--seq-length",
    "max_len": "--max-len", "n_chars": "--n-chars", "top_k": "--top-k", "random_state": "--seed",
    "cell": "--cell", "dropout": "--dropout", "solver": "--solver", "lowercase": "--lowercase",
    "pooling": "--pooling", "bidirectional": "--bidirectional", "tokenizer": "--tokenizer",
    "temperature": "--temperature", "prompt": "--prompt", "tol": "--tol", "n_iter_no_change": "--n-iter-no-change",
}


def _one_line(message):
    return " ".join(str(message).split())


# A quoted value in a message ('spam', "it's"), not an apostrophe inside a word.
_QUOTED = re.compile(r"""(?<!\w)'(?:[^'\\]|\\.)*'(?!\w)|(?<!\w)"(?:[^"\\]|\\.)*"(?!\w)""")


def _in_options(message):
    """An estimator's message in the command line's words: ``clip_norm=1.0`` -> ``--clip-norm 1.0``.

    Names without an underscore ("cell", "prompt") are English words too, so they change only as
    ``name=value`` or as scikit-learn's ``the 'name' parameter``. Quoted text is the user's data (a
    label, a character) and stays as it is.
    """
    parts, end = [], 0
    for quoted in _QUOTED.finditer(message):
        parts.append(_renamed(message[end : quoted.start()]))
        value = quoted.group()
        if value[1:-1] in _OPTIONS and message.startswith(" parameter", quoted.end()):
            value = f"'{_OPTIONS[value[1:-1]]}'"
        parts.append(value)
        end = quoted.end()
    parts.append(_renamed(message[end:]))
    return "".join(parts)


def _renamed(text):
    text = text.replace("early_stopping=True", "--validation").replace("early_stopping=False", "no --validation")
    # warm fits' messages: on the command line, --resume makes them
    text = text.replace("Set warm_start=False to start afresh", "Leave out --resume to train a new model")
    text = text.replace("set warm_start=False to start afresh", "leave out --resume to train a new model")
    text = text.replace("warm_start=True", "--resume")
    for name, option in _OPTIONS.items():
        text = re.sub(rf"(?<![\w-]){name}=(None\b)?", lambda m: f"{option} {'none' if m.group(1) else ''}", text)
        if "_" in name:
            text = re.sub(rf"(?<![\w-]){name}(?!\w)", option, text)
    return text


def _print_warnings(caught):
    for w in caught:
        if issubclass(w.category, (UserWarning, RuntimeWarning, FutureWarning)):
            print(f"skrnn: warning: {_in_options(_one_line(w.message))}", file=sys.stderr, flush=True)


def _said(caught, category, words):
    """The warnings of exactly ``category`` among ``caught`` whose message contains ``words``."""
    return [w for w in caught if w.category is category and words in str(w.message)]


@contextmanager
def _escaping_unencodable(stream):
    """Inside the block, characters that ``stream``'s encoding lacks are written as escapes.

    For the commands whose output is progress, not data: a sample in an epoch
    line that a cp1252 console cannot show must not end the training unsaved.
    """
    previous = getattr(stream, "errors", None)
    if not isinstance(stream, io.TextIOWrapper) or previous != "strict":
        yield
        return
    stream.reconfigure(errors="backslashreplace")
    try:
        yield
    finally:
        stream.reconfigure(errors=previous)


def _unencodable(text, stream):
    """The first character of ``text`` that ``stream``'s encoding cannot write, or None."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding, errors=getattr(stream, "errors", None) or "strict")
    except UnicodeEncodeError as exc:
        return exc.object[exc.start]
    except LookupError:  # an encoding Python does not know: let the write say so
        return None
    return None


def _encoding_advice(stream):
    return (f"the output's encoding ({getattr(stream, 'encoding', None)}) cannot write it; set PYTHONIOENCODING=utf-8 "
            "(or PYTHONUTF8=1) to write UTF-8")


@contextmanager
def _estimator_errors():
    """The estimators' ValueError messages (bad input, bad parameters) are written for users.

    TypeError is not caught: the command line only passes str, so one would be a bug.
    """
    try:
        yield
    except ValueError as exc:
        raise CommandError(_in_options(_one_line(exc))) from None


def _fit(fit):
    """Run ``fit()``, printing its warnings but for the expected ones -> (warnings caught, interrupted)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit()
    interrupted = _said(caught, UserWarning, "training interrupted")
    _print_warnings([w for w in caught if w not in interrupted and w.category is not ConvergenceWarning])
    return caught, bool(interrupted)


def _train(model, X, y, args, unit, restore=None):
    """Fit with epoch lines and a status line; save atomically, also after Ctrl-C.

    ``restore``: parameters set back on the model before it is saved (those --resume changed for the fit).
    """
    start = time.perf_counter()

    def fit():
        with _estimator_errors(), TrainingProgress(unit=unit, enabled=not args.quiet):
            if y is None:
                model.fit(X)
            else:
                model.fit(X, y)

    caught, interrupted = _fit(fit)
    if _said(caught, RuntimeWarning, "training diverged") and model.n_iter_ == 0:
        kept = f"'{args.output}' was left as it was" if args.resume else "the model learned nothing and was not saved"
        raise CommandError(f"training diverged in its first epoch: {kept}; try a smaller --learning-rate or "
                           "--clip-norm")
    if interrupted:
        print(f"skrnn: training interrupted: saving the model trained so far to '{args.output}'",
              file=sys.stderr, flush=True)
    # the epoch lines were for this command, not for whoever refits the model
    model.set_params(**(restore or {"verbose": 0}))
    try:
        save_model(model, args.output)
    except OSError as exc:
        raise CommandError(f"cannot write the model to '{args.output}': {exc.strerror or exc}") from None
    epochs = f"{model.n_iter_} epoch(s)" + (f" ({len(model.loss_curve_)} in all)" if args.resume else "")
    loss = f", final loss {model.loss_curve_[-1]:.4f}" if model.loss_curve_ else ""
    if model.validation_scores_:  # --validation keeps the best epoch's weights, not the last's
        scores = model.validation_scores_
        score = model.best_validation_score_
        measure = f"validation accuracy {score:.4f}" if y is not None else f"validation loss {-score:.4f}"
        this_run = scores[len(scores) - model.n_iter_:] if model.n_iter_ else []
        # the first best, as training keeps it; numbered as the epoch lines number this run's epochs
        best = next((epoch for epoch, value in enumerate(this_run, 1) if value == score), None)
        kept = f"epoch {best}" if best else "the model it resumed"
        loss += f"; kept the weights of {kept}, {measure}"
    stopped = ""
    if any(w.category is ConvergenceWarning for w in caught):
        stopped = " (--max-iter reached; more epochs may help)"
    print(f"Saved {type(model).__name__} to '{args.output}': {epochs} in "
          f"{time.perf_counter() - start:.1f} s{loss}{stopped}.", flush=True)
    return 0


def _shared_params(args):
    return dict(
        hidden_size=args.hidden_size, cell=args.cell, num_layers=args.num_layers,
        embedding_dim=args.embedding_dim, dropout=args.dropout, batch_size=args.batch_size,
        solver=args.solver, learning_rate=args.learning_rate, max_iter=args.max_iter, tol=args.tol,
        n_iter_no_change=args.n_iter_no_change, clip_norm=args.clip_norm,
        early_stopping=args.validation, validation_fraction=args.validation_fraction,
        random_state=args.seed, verbose=0 if args.quiet else 1,
    )


# Estimator parameters set by an option of another name (the rest share theirs).
_PARAM_OPTIONS = {
    "early_stopping": "validation", "random_state": "seed", "verbose": "quiet", "class_weight": "balanced",
}


# Options that a resumed training cannot change, and why.
_FIXED_ON_RESUME = {
    "seed": "training goes on with the random stream the model saved",
    "tokenizer": "the model keeps the tokenizer, and its vocabulary, of its first training",
}


def _model(cls, args, params, command):
    """(model, parameters to restore before saving): ``cls(**params)``, or with --resume the model in
    MODEL, set to train on (warm_start) with the parameters of the options given."""
    if not args.resume:
        return cls(**params), None
    if not Path(args.output).exists():
        raise CommandError(f"--resume goes on training the model in '{args.output}', which does not exist; "
                           "leave out --resume to train a new one")
    given = getattr(args, "given_options", set())
    for option, why in _FIXED_ON_RESUME.items():
        if option in given:
            raise CommandError(f"--{option} cannot change with --resume: {why}")
    model = load_model(args.output, cls, f"{command} --resume", command)
    restore = {"warm_start": model.warm_start, "verbose": model.verbose}
    changed = {name: value for name, value in params.items() if _PARAM_OPTIONS.get(name, name) in given}
    model.set_params(**{**changed, "verbose": params["verbose"], "warm_start": True})
    return model, restore


def train_generator(args):
    _check_output(args.output, args.text_file)
    params = dict(seq_length=args.seq_length, lowercase=args.lowercase, **_shared_params(args))
    model, restore = _model(RNNCharGenerator, args, params, "train-generator")  # before reading all the input
    text = _read_text(args.text_file, args.encoding)
    source = _source(args.text_file)
    X = [line for line in text.splitlines() if line.strip()] if args.lines else text
    if not X:
        raise CommandError(f"{source} holds no text to train on")
    print(f"Read {_count(len(X), 'line' if args.lines else 'character')} from {source}.", flush=True)
    return _train(model, X, None, args, "chars", restore)


def _count(n, noun):
    return f"{n:,} {noun}" + ("" if n == 1 else "es" if noun.endswith("s") else "s")


def _splits_output(label):
    return any(separator in label for separator in OUTPUT_SEPARATORS)


class _TableError(CommandError):
    """A row that cannot be read; ``line`` says how far the reading got."""

    def __init__(self, message, line):
        super().__init__(message)
        self.line = line


def _read_table(args):
    source = _source(args.table)
    text = _read_text(args.table, args.encoding, newline="")
    if not text.strip():
        raise CommandError(f"{source} is empty; expected a header line with columns "
                           f"'{args.text_column}' and '{args.label_column}', then one row per text")
    delimiter = args.delimiter
    if delimiter is None:
        tabbed = Path(args.table).suffix.lower() in (".tsv", ".tab") or "\t" in text.split("\n", 1)[0]
        delimiter = "\t" if tabbed else ","
    if args.quotes is not None or delimiter != "\t":
        return _parse_table(text, args, source, delimiter, quotes=args.quotes is not False)
    # Tab-separated files come both ways: quoted where a field needs it (pandas, the csv module and Excel
    # write them so) or not at all, with texts that may open with a quotation mark (the data sets beside
    # this project), which read quoted swallow the lines up to the next quotation mark. So both readings are
    # tried: quoted where it reads the rows the plain one does, or where the plain one fails (a quoted
    # field holds a tab or a line break).
    readings = []
    for quotes in (True, False):
        try:
            readings.append(_parse_table(text, args, source, delimiter, quotes))
        except _TableError as exc:
            readings.append(exc)
    quoted, plain = readings
    if isinstance(quoted, _TableError) and isinstance(plain, _TableError):
        raise max(readings, key=lambda exc: exc.line)  # the reading that got further is the file's
    if isinstance(plain, _TableError):
        return quoted
    if isinstance(quoted, _TableError) or len(quoted[0]) != len(plain[0]):
        return plain
    return quoted


def _parse_table(text, args, source, delimiter, quotes):
    """(texts, labels) of a table read with or without CSV quoting; _TableError where a row can't be read."""
    # strict: a quote left open, or text after a closing one, is an error, not merged rows.
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True,
                        quoting=csv.QUOTE_MINIMAL if quotes else csv.QUOTE_NONE)

    def error(message):
        return _TableError(f"{source}, line {reader.line_num}: {message}", reader.line_num)

    try:
        header = [name.strip() for name in next(reader)]
        columns = []
        for name, option in ((args.text_column, "--text-column"), (args.label_column, "--label-column")):
            if name not in header:
                hint = "; is the delimiter right? (--delimiter)" if len(header) == 1 else ""
                raise _TableError(f"{source} has no column '{name}' (columns: {', '.join(header)}); "
                                  f"choose one with {option}{hint}", 1)
            columns.append(header.index(name))
        texts, labels = [], []
        for row in reader:
            if not row:
                continue
            # More fields than the header: a text holding the delimiter, unquoted; its tail would be lost.
            if len(row) <= max(columns) or any(field.strip() for field in row[len(header):]):
                hint = "; a text that holds the delimiter must be quoted" if len(row) > len(header) else ""
                raise error(f"{len(row)} field(s), expected {len(header)} as in the header{hint}")
            label = row[columns[1]].strip()
            if not label:
                raise error(f"no label in column '{args.label_column}'")
            if _splits_output(label):
                raise error(f"the label {label!r} in column '{args.label_column}' holds a tab or a line break, "
                            "which would split the label<TAB>probability lines of 'skrnn classify'; remove them "
                            "from the labels")
            texts.append(row[columns[0]])
            labels.append(label)
    except csv.Error as exc:
        hint = "; a field that opens with a double quote must close it (or pass --no-quotes)" if quotes else ""
        raise error(str(exc).replace("\t", "\\t") + hint) from None  # the csv module names the tab itself
    if not texts:
        raise _TableError(f"{source} has a header but no rows to train on", reader.line_num)
    return texts, labels


def train_classifier(args):
    _check_output(args.output, args.table)
    params = dict(
        tokenizer=args.tokenizer, pooling=args.pooling, bidirectional=args.bidirectional,
        max_len=args.max_len, class_weight="balanced" if args.balanced else None, **_shared_params(args),
    )
    model, restore = _model(RNNSequenceClassifier, args, params, "train-classifier")  # before reading the table
    texts, labels = _read_table(args)
    print(f"Read {_count(len(texts), 'text')} of {_count(len(set(labels)), 'class')} from {_source(args.table)}.",
          flush=True)
    return _train(model, texts, labels, args, "texts", restore)


# -- inference ------------------------------------------------------------------


def generate(args):
    model = load_model(args.model, RNNCharGenerator, "generate", "train-generator")
    with _estimator_errors():  # the prompt and the arguments are checked before the first character
        chars = model.iter_generate(args.prompt, n_chars=args.n_chars, temperature=args.temperature,
                                    top_k=args.top_k, random_state=args.seed)
    out = sys.stdout
    text = args.prompt
    try:
        out.write(text)
        out.flush()
        for text in chars:
            out.write(text)
            out.flush()
    except UnicodeEncodeError:
        out.write("\n")
        raise CommandError(f"the text holds {_unencodable(text, out)!r}, but {_encoding_advice(out)}") from None
    if not text.endswith("\n"):
        out.write("\n")
    out.flush()
    return 0


def classify(args):
    model = load_model(args.model, RNNSequenceClassifier, "classify", "train-classifier")
    # A model fitted in Python may hold any label; checked before any output, not at the first bad line.
    bad = [label for label in map(str, model.classes_) if _splits_output(label)]
    if bad:
        raise CommandError(f"'{args.model}' has the class label {bad[0]!r}, which holds a tab or a line break and "
                           "would split the label<TAB>probability lines; refit it with labels without them")
    bad = [label for label in map(str, model.classes_) if _unencodable(label, sys.stdout)]
    if bad:
        raise CommandError(f"'{args.model}' has the class label {bad[0]!r}, but {_encoding_advice(sys.stdout)}")
    source = _source(args.file)
    n_texts = 0
    with _text_input(args.file, args.encoding) as stream:
        rows = 1 if stream.isatty() else ROWS_PER_PREDICT  # typed lines get answers at once
        batch = []
        for line in stream:
            batch.append(line.rstrip("\n"))
            if len(batch) == rows:
                n_texts += _print_labels(model, batch)
                batch = []
        if batch:
            n_texts += _print_labels(model, batch)
    if n_texts == 0:
        raise CommandError(f"{source} holds no text: expected one text per line")
    return 0


def _print_labels(model, texts):
    with _estimator_errors():
        proba = model.predict_proba(texts)
    best = proba.argmax(axis=1)
    lines = [f"{model.classes_[k]}\t{p:.4f}\n" for k, p in zip(best, proba[range(len(texts)), best])]
    sys.stdout.write("".join(lines))
    sys.stdout.flush()
    return len(texts)


# -- demo -----------------------------------------------------------------------


def python_docs_corpus():
    """The text of Python's own documentation topics, shipped with every CPython."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics))


def demo(seconds=60.0, hidden_size=128, seed=0, out=None):
    """Train a character model on Python's docs for about ``seconds`` and print samples."""
    out = sys.stdout if out is None else out

    text = python_docs_corpus()
    print(f"skrnn demo: a character-level RNN learns {len(text):,} characters of Python's documentation "
          f"(pydoc_data) for about {seconds:.0f} s.", file=out, flush=True)
    # One epoch per fit, warm-started, so the demo can stop on a time budget.
    model = RNNCharGenerator(hidden_size=hidden_size, max_iter=1, warm_start=True, random_state=seed)
    start = time.perf_counter()
    while True:  # one epoch at least, however short the budget
        _, interrupted = _fit(lambda: model.fit(text))
        if interrupted:  # Ctrl-C: stop training, show what the model learned
            print("skrnn: training interrupted", file=sys.stderr, flush=True)
            break
        sample = model.generate("The ", n_chars=50, temperature=0.7, random_state=seed)
        print(f"epoch {len(model.loss_curve_)}: loss {model.loss_curve_[-1]:.3f} nats/char, "
              f"{time.perf_counter() - start:.0f} s  The {sample!r}", file=out, flush=True)
        if time.perf_counter() - start >= seconds:
            break
    curve = model.loss_curve_  # empty when Ctrl-C came before the first batch ended
    progress = f"training loss {curve[0]:.3f} -> {curve[-1]:.3f} nats/char" if curve else "no batch completed"
    print(f"\nTrained {len(curve)} epoch(s) in {time.perf_counter() - start:.0f} s; {progress}.", file=out)
    for temperature in (0.5, 1.0):
        sample = model.generate("The ", n_chars=300, temperature=temperature, random_state=seed)
        print(f"\n--- sample at temperature {temperature} ---\nThe {sample}", file=out, flush=True)
    return model


def _demo(args):
    demo(seconds=args.seconds, hidden_size=args.hidden_size, seed=args.seed)
    return 0


COMMANDS = {
    "demo": _demo,
    "train-generator": train_generator,
    "generate": generate,
    "train-classifier": train_classifier,
    "classify": classify,
}


def main(argv=None):
    parser, subparsers = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # the command's parser says it, so that the hint names the command's --help
        subparsers.get(args.command, parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 0
    _check_ranges(subparsers[args.command], args)
    try:
        if args.command in PROGRESS_ONLY:
            with _escaping_unencodable(sys.stdout):
                return COMMANDS[args.command](args)
        return COMMANDS[args.command](args)
    except CommandError as exc:
        print(f"skrnn: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `skrnn generate MODEL | head`: stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("\nskrnn: interrupted", file=sys.stderr)
        return 130
