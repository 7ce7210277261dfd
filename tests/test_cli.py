"""The command line, driven as a user would (``python -m skrnn``), and the README's quick start."""

import inspect
import io
import os
import re
import signal
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import pytest
from sklearn.exceptions import ConvergenceWarning

from skrnn import RNNCharGenerator, RNNSequenceClassifier, _cli, _training
from skrnn._cli import build_parser, main, python_docs_corpus, save_model
from skrnn._progress import TrainingProgress, render

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--hidden-size", "8", "--max-iter", "2", "--seed", "0"]
TEXT = "the cat sat on the mat. the dog sat on the log. " * 20
REVIEWS = [
    ("great fun film", "pos"), ("loved it, great", "pos"), ("fun and moving", "pos"), ("a great story", "pos"),
    ("dull and slow", "neg"), ("boring, dull film", "neg"), ("slow and bad", "neg"), ("a bad story", "neg"),
]
CLASSIFY = "great fun\ndull and slow\n\na bad film\n"
GENERATE = ["--prompt", "the ", "--n-chars", "40", "--temperature", "0.8", "--seed", "3"]
COMMANDS = ["demo", "train-generator", "generate", "train-classifier", "classify"]


def skrnn(*args, input=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "skrnn", *map(str, args)], input=input, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def skrnn_side_by_side(commands, cwd):
    """{name: (args, stdin)} -> {name: result}, as many at once as there are cores.

    Each run pays about a second of CPU for importing scikit-learn.
    """
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {name: pool.submit(skrnn, *args, input=stdin, cwd=cwd) for name, (args, stdin) in commands.items()}
    return {name: future.result() for name, future in futures.items()}


def assert_error(result, status, *fragments):
    """Exit status, one line on stderr that says what is wrong, no traceback."""
    stderr = result.stderr
    assert result.returncode == status, stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("skrnn"), stderr
    for fragment in fragments:
        assert fragment in stderr


def assert_main_error(capsys, argv, *fragments):
    assert main([str(a) for a in argv]) == 1
    stderr = capsys.readouterr().err
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("skrnn: error: "), stderr
    for fragment in fragments:
        assert fragment in stderr


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cli")
    (workdir / "corpus.txt").write_text(TEXT)
    rows = ["id\treview\tsentiment"] + [f"{i}\t{text}\t{label}" for i, (text, label) in enumerate(REVIEWS)]
    (workdir / "reviews.tsv").write_text("\n".join(rows) + "\n")
    return workdir


@pytest.fixture(scope="module")
def trained(workdir):
    """gen.joblib and clf.joblib, made by the two training commands side by side."""
    return skrnn_side_by_side({
        "generator": (("train-generator", "corpus.txt", "-o", "gen.joblib", *TINY), None),
        "classifier": (("train-classifier", "reviews.tsv", "-o", "clf.joblib", "--text-column", "review",
                        "--label-column", "sentiment", *TINY), None),
    }, workdir)


@pytest.fixture(scope="module")
def runs(workdir, trained):
    """The user paths and the main error paths, as subprocesses.

    Further error paths call ``main`` in-process below, which is the same code.
    """
    workdir.joinpath("texts.txt").write_text(CLASSIFY)
    workdir.joinpath("corrupt.joblib").write_bytes(workdir.joinpath("clf.joblib").read_bytes()[:200])
    return skrnn_side_by_side({
        "generate": (("generate", "gen.joblib", *GENERATE), None),
        "classify stdin": (("classify", "clf.joblib"), CLASSIFY),
        "wrong model type": (("generate", "clf.joblib"), None),
        "negative temperature": (("generate", "gen.joblib", "--temperature", "-1"), None),
        "help generate": (("generate", "--help"), None),
        "missing file": (("train-generator", "no-such.txt", "-o", "x.joblib"), None),
        "bad column": (("train-classifier", "reviews.tsv", "-o", "x.joblib", "--text-column", "txt"), None),
        "corrupt model": (("classify", "corrupt.joblib", "texts.txt"), None),
    }, workdir)


# -- user paths -----------------------------------------------------------------


def test_cli_train_generator_prints_epochs_and_writes_only_the_model(workdir, trained):
    result = trained["generator"]
    assert result.returncode == 0, result.stderr
    assert re.search(r"Epoch 1: loss \d+\.\d+, .* s, [\d,]+ chars/s", result.stdout)
    assert "Saved RNNCharGenerator to 'gen.joblib': 2 epoch(s)" in result.stdout
    assert "\r" not in result.stderr  # no progress line when stderr is not a terminal
    assert isinstance(joblib.load(workdir / "gen.joblib"), RNNCharGenerator)
    assert not [p.name for p in workdir.iterdir() if p.name.endswith(".tmp")]


def test_cli_train_classifier_reads_named_columns(workdir, trained):
    result = trained["classifier"]
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Read {len(REVIEWS)} texts of 2 classes from 'reviews.tsv'.\n")
    assert re.search(r"Epoch 2: loss \d+\.\d+", result.stdout)
    model = joblib.load(workdir / "clf.joblib")
    assert isinstance(model, RNNSequenceClassifier) and list(model.classes_) == ["neg", "pos"]


@pytest.mark.parametrize("flag, expected", [
    ((), RNNSequenceClassifier().bidirectional),  # the estimator's default, whatever it is
    (("--bidirectional",), True),
    (("--no-bidirectional",), False),
])
def test_cli_bidirectional_follows_the_estimator_default(flag, expected):
    args = build_parser()[0].parse_args(["train-classifier", "t.tsv", "-o", "m.joblib", *flag])
    assert args.bidirectional is expected


@pytest.mark.parametrize("value, expected", [("none", None), ("None", None), ("16", 16)])
def test_cli_embedding_dim_takes_none(value, expected):
    # the help showed "(default: None)" for the generator, and None was refused
    args = build_parser()[0].parse_args(["train-generator", "t.txt", "-o", "m", "--embedding-dim", value])
    assert args.embedding_dim == expected


def test_cli_generate_same_seed_gives_same_text(runs, workdir, capsys):
    first = runs["generate"]
    assert first.returncode == 0 and first.stderr == "", first.stderr
    assert main(["generate", str(workdir / "gen.joblib"), *GENERATE]) == 0
    assert capsys.readouterr().out == first.stdout
    assert first.stdout.startswith("the ") and first.stdout.endswith("\n")
    model = joblib.load(workdir / "gen.joblib")
    assert first.stdout.rstrip("\n") == "the " + model.generate("the ", 40, temperature=0.8, random_state=3)


def test_cli_classify_reads_a_file_and_stdin(runs, workdir, capsys):
    from_stdin = runs["classify stdin"]
    assert from_stdin.returncode == 0 and from_stdin.stderr == "", from_stdin.stderr
    assert main(["classify", str(workdir / "clf.joblib"), str(workdir / "texts.txt")]) == 0
    assert capsys.readouterr().out == from_stdin.stdout
    lines = from_stdin.stdout.splitlines()
    assert len(lines) == 4
    assert all(re.fullmatch(r"(pos|neg)\t(0\.\d{4}|1\.0000)", line) for line in lines), lines
    model = joblib.load(workdir / "clf.joblib")
    assert [line.split("\t")[0] for line in lines] == list(model.predict(CLASSIFY.splitlines()))


def test_cli_interrupted_training_still_saves_the_model(workdir):
    (workdir / "long.txt").write_text(python_docs_corpus()[:40_000])
    process = subprocess.Popen(
        [sys.executable, "-m", "skrnn", "train-generator", "long.txt", "-o", "interrupted.joblib",
         "--hidden-size", "8", "--max-iter", "1000", "--validation", "--seed", "0"],
        cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    read = process.stdout.readline()
    first_epoch = process.stdout.readline()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert read == "Read 40,000 characters from 'long.txt'.\n"
    assert re.match(r"Epoch 1: loss [\d.]+, validation loss [\d.]+, [\d.]+ s, [\d,]+ chars/s, sample", first_epoch)
    assert process.returncode == 0, err
    assert "training interrupted: saving the model trained so far" in err and "Traceback" not in err
    assert isinstance(joblib.load(workdir / "interrupted.joblib"), RNNCharGenerator)


def test_cli_help_says_model_files_must_be_trusted(runs):
    result = runs["help generate"]
    assert result.returncode == 0 and result.stderr == ""
    assert "usage: skrnn generate" in result.stdout and "--temperature" in result.stdout
    assert "sources you trust" in " ".join(result.stdout.split())


@pytest.mark.parametrize("command", COMMANDS)
def test_cli_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"usage: skrnn {command}" in out
    if command in ("generate", "classify"):  # the commands that load model files
        assert "sources you trust" in out


@pytest.mark.parametrize("command, defaults", [
    ("train-generator", RNNCharGenerator().get_params()),
    ("train-classifier", RNNSequenceClassifier().get_params()),
    ("generate", {name: p.default for name, p in inspect.signature(RNNCharGenerator.generate).parameters.items()}),
])
def test_cli_help_shows_the_estimators_defaults(command, defaults, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    shown = {}
    for option in re.split(r"\n  (?=-)", capsys.readouterr().out)[1:]:  # [0]: usage and description
        text = " ".join(option.split())
        default = re.search(r"\(default: ([^)]*)\)", text)
        if default:
            shown[re.search(r"--([\w-]+)", text)[1].replace("-", "_")] = default[1]
    checked = shown.keys() & defaults.keys()
    assert len(checked) >= 2, shown
    for name in checked:
        if defaults[name] in (None, ""):  # said in words: "all", "start a new document", ...
            assert not re.fullmatch(r"[\d.]+", shown[name]), (name, shown[name])
        elif isinstance(defaults[name], bool):  # a flag and its --no- form
            assert shown[name] == ("on" if defaults[name] else "off"), (name, shown[name], defaults[name])
        else:
            assert shown[name] == str(defaults[name]), (name, shown[name], defaults[name])


# -- error paths ----------------------------------------------------------------


@pytest.mark.parametrize("name, status, fragments", [
    ("wrong model type", 1, ["'clf.joblib' holds RNNSequenceClassifier, not RNNCharGenerator",
                             "skrnn train-generator"]),
    ("negative temperature", 2, ["--temperature must be >= 0"]),
    ("missing file", 1, ["cannot read 'no-such.txt': no such file"]),
    ("bad column", 1, ["has no column 'txt'", "id, review, sentiment", "--text-column"]),
    ("corrupt model", 1, ["'corrupt.joblib' is not a skrnn model file, or it is damaged"]),
])
def test_cli_errors_are_one_line_with_exit_status(name, status, fragments, runs, workdir):
    assert_error(runs[name], status, *fragments)
    assert not (workdir / "x.joblib").exists()


def test_cli_file_errors_in_process(capsys, workdir, trained):
    generator_file, classifier_file = workdir / "gen.joblib", workdir / "clf.joblib"
    (workdir / "empty.txt").write_text("")
    (workdir / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    assert_main_error(capsys, ["train-generator", workdir, "-o", workdir / "m"], "is a directory")
    assert_main_error(capsys, ["train-generator", workdir / "empty.txt", "-o", workdir / "m"], "holds no text")
    assert_main_error(capsys, ["train-generator", workdir / "latin1.txt", "-o", workdir / "m"],
                      "is not utf-8 text", "--encoding")
    assert_main_error(capsys, ["train-generator", workdir / "corpus.txt", "-o", workdir / "nowhere" / "m"],
                      "directory", "does not exist")
    assert_main_error(capsys, ["classify", generator_file, workdir / "empty.txt"],
                      "holds RNNCharGenerator, not RNNSequenceClassifier")
    assert_main_error(capsys, ["classify", classifier_file, workdir / "empty.txt"], "holds no text")
    assert_main_error(capsys, ["generate", generator_file, "--prompt", "XYZ"], "prompt contains characters")
    # Linux hands argv bytes that do not decode to Python as lone surrogates (surrogateescape).
    assert_main_error(capsys, ["generate", generator_file, "--prompt", "the \udcff"],
                      "prompt contains characters", "\\udcff")
    assert_main_error(capsys, ["generate", workdir / "corpus.txt"], "is not a skrnn model file, or it is damaged")


def test_cli_table_errors_in_process(capsys, workdir):
    (workdir / "one_class.csv").write_text("text,label\nhello,a\nworld,a\n")
    (workdir / "short_row.csv").write_text("text,label\nhello,a\nworld\n")
    (workdir / "header_only.csv").write_text("text,label\n")
    (workdir / "semicolons.csv").write_text("text;label\nhello;a\n")
    out = ["-o", workdir / "m", *TINY]
    assert_main_error(capsys, ["train-classifier", workdir / "one_class.csv", *out], "one class only")
    assert_main_error(capsys, ["train-classifier", workdir / "short_row.csv", *out], "line 3: 1 field(s)")
    assert_main_error(capsys, ["train-classifier", workdir / "header_only.csv", *out], "no rows")
    assert_main_error(capsys, ["train-classifier", workdir / "semicolons.csv", *out], "--delimiter")
    (workdir / "no_label.csv").write_text("text,label\nhello,a\nworld, \nagain,b\n")
    assert_main_error(capsys, ["train-classifier", workdir / "no_label.csv", *out], "line 3: no label in column 'label'")
    (workdir / "open_quote.csv").write_text('text,label\n"hello,a\nworld,b\n')  # the quote is never closed
    assert_main_error(capsys, ["train-classifier", workdir / "open_quote.csv", *out], "line 3: unexpected end of data")
    assert not (workdir / "m").exists()


@pytest.mark.parametrize("table, line, shown", [
    ('text,label\nhello,"a\tb"\nworld,c\n', 2, r"'a\tb'"),
    ('text\tlabel\nhello\t"a\tb"\nworld\tc\n', 2, r"'a\tb'"),  # quoted TSV, as pandas writes it
    ('text,label\nhello,c\nworld,"a\nb"\n', 4, r"'a\nb'"),
    ('text,label\nhello,"a\rb"\nworld,c\n', 2, r"'a\rb'"),
    ('text,label\nhello,a\u2028b\nworld,c\n', 2, r"'a\u2028b'"),  # a line break to str.splitlines
], ids=["tab-csv", "tab-tsv", "newline", "carriage-return", "line-separator"])
def test_cli_train_classifier_refuses_labels_that_split_the_output(capsys, tmp_path, table, line, shown):
    # classify prints unquoted label<TAB>probability lines: such a label split them into more columns or lines
    (tmp_path / "table.csv").write_bytes(table.encode())
    assert_main_error(capsys, ["train-classifier", tmp_path / "table.csv", "-o", tmp_path / "m", *TINY],
                      f"line {line}: the label {shown} in column 'label' holds a tab or a line break")
    assert not (tmp_path / "m").exists()


def test_cli_classify_refuses_a_model_whose_labels_split_the_output(capsys, tmp_path):
    model = RNNSequenceClassifier(hidden_size=4, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(["good", "bad"], ["pos\tgood", "neg"])  # fitted in Python, where any label goes
    save_model(model, tmp_path / "m.joblib")
    (tmp_path / "texts.txt").write_text("good\n")
    assert main(["classify", str(tmp_path / "m.joblib"), str(tmp_path / "texts.txt")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before the first line, not halfway through
    assert captured.err == (f"skrnn: error: '{tmp_path / 'm.joblib'}' has the class label 'pos\\tgood', which holds "
                            "a tab or a line break and would split the label<TAB>probability lines; refit it with "
                            "labels without them\n")


def _read_table(path, **options):
    args = build_parser()[0].parse_args(["train-classifier", str(path), "-o", "m", *options.get("argv", [])])
    return _cli._read_table(args)


def test_cli_tables_tab_separated_without_quoting_csv_with_it(tmp_path):
    # a review opening with a quotation mark: 6 in sentiment_imdb.tsv, and read as CSV they swallowed 252 rows
    rows = ['label\ttext', '1\t"Brazil" is a film about paperwork.', '0\tdull', '1\tfun, "really"']
    (tmp_path / "quoted.tsv").write_text("\n".join(rows) + "\n")
    texts, labels = _read_table(tmp_path / "quoted.tsv")
    assert texts == ['"Brazil" is a film about paperwork.', "dull", 'fun, "really"'] and labels == ["1", "0", "1"]
    with pytest.raises(_cli.CommandError, match=r"line 2: '\\t' expected after '\"'; .*--no-quotes"):
        _read_table(tmp_path / "quoted.tsv", argv=["--quotes"])  # as CSV: a field can't go on after its quote
    (tmp_path / "quoted.csv").write_text('text,label\n"one, two",a\n"three\nfour",b\n')
    texts, labels = _read_table(tmp_path / "quoted.csv")
    assert texts == ["one, two", "three\nfour"] and labels == ["a", "b"]
    # tab-separated and quoted where needed, as pandas.to_csv(sep="\t") and the csv module write
    (tmp_path / "pandas.tsv").write_text('text\tlabel\n"He said ""hi"""\ta\n"two\nlines"\tb\nplain\ta\n')
    assert _read_table(tmp_path / "pandas.tsv") == (['He said "hi"', "two\nlines", "plain"], ["a", "b", "a"])
    # a quoted field holding a tab and a line break: it read as rows merged by a stray quote, and quoting went off
    (tmp_path / "both.tsv").write_text('label\ttext\npos\t"good\tgreat\nyes"\nneg\tbad\n')
    assert _read_table(tmp_path / "both.tsv") == (["good\tgreat\nyes", "bad"], ["pos", "neg"])
    # quoted, with rows of fewer fields (an optional last column) or a trailing tab: quoting stays on
    (tmp_path / "ragged.tsv").write_text('text\tlabel\tnote\n"He said ""hi"""\ta\nplain\ta\tx\n"two\nlines"\tb\t\n')
    assert _read_table(tmp_path / "ragged.tsv") == (['He said "hi"', "plain", "two\nlines"], ["a", "a", "b"])
    # unquoted, a quotation mark opening one text and closing a later one: quoted, the rows would merge
    (tmp_path / "stray.tsv").write_text('label\ttext\n1\t"start\n0\tmiddle\n1\tend"\n')
    assert _read_table(tmp_path / "stray.tsv") == (['"start', "middle", 'end"'], ["1", "0", "1"])


@pytest.mark.parametrize("name, table", [
    ("commas.csv", "label,text\npos,good, really good\nneg,bad\n"),
    ("tabs.tsv", "label\ttext\npos\tgood\treally good\nneg\tbad\n"),
])
def test_cli_tables_refuse_rows_with_more_fields_than_the_header(tmp_path, name, table):
    # the text was cut at its first delimiter and the rest dropped without a word: "really good" was never read
    (tmp_path / name).write_text(table)
    with pytest.raises(_cli.CommandError, match=r"line 2: 3 field\(s\), expected 2 as in the header; a text "
                                                r"that holds the delimiter must be quoted"):
        _read_table(tmp_path / name)
    (tmp_path / "trailing.csv").write_text("label,text\npos,good,\nneg,bad, \n")  # empty extra fields: harmless
    assert _read_table(tmp_path / "trailing.csv") == (["good", "bad"], ["pos", "neg"])


def test_cli_estimator_messages_name_the_options(capsys, tmp_path):
    # they named the estimators' parameters (validation_fraction=0.01, early_stopping=False), not the options
    (tmp_path / "t.csv").write_text("text,label\n" + "good,pos\nbad,neg\n" * 5)
    assert_main_error(capsys, ["train-classifier", tmp_path / "t.csv", "-o", tmp_path / "m", "--validation",
                               "--validation-fraction", "0.01", *TINY],
                      "--validation holds out --validation-fraction 0.01 of the 10 training sequences",
                      "another --validation-fraction, or no --validation")
    assert _cli._in_options("set clip_norm (e.g. clip_norm=1.0); the 'temperature' parameter; the cell") == (
        "set --clip-norm (e.g. --clip-norm 1.0); the '--temperature' parameter; the cell")
    # quoted text is the user's data: a label named like a parameter stayed '--learning-rate'
    (tmp_path / "one.csv").write_text("text,label\nhello,learning_rate\nbye,learning_rate\n")
    assert_main_error(capsys, ["train-classifier", tmp_path / "one.csv", "-o", tmp_path / "m", *TINY],
                      "one class only ('learning_rate')")
    assert _cli._in_options("the model's learning_rate='x' don't") == "the model's --learning-rate 'x' don't"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_cli_output_its_encoding_cannot_write(capsys, tmp_path, monkeypatch):
    # As a Windows console or a redirect in cp1252: an epoch line's sample ended the training unsaved,
    # and generate died in a traceback.
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    monkeypatch.setattr(sys, "stdout", stdout)
    (tmp_path / "t.txt").write_text("中文 😀 text\n" * 20, encoding="utf-8")
    assert main(["train-generator", str(tmp_path / "t.txt"), "-o", str(tmp_path / "g"), *TINY]) == 0
    assert (tmp_path / "g").exists() and stdout.errors == "strict"  # escaped in the block only
    assert_main_error(capsys, ["generate", tmp_path / "g", "--prompt", "中", "--seed", "0"],
                      "the text holds '中', but the output's encoding (cp1252) cannot write it",
                      "PYTHONIOENCODING=utf-8")
    with pytest.warns(ConvergenceWarning):  # caught: not on stderr, where the error is expected alone
        model = RNNSequenceClassifier(hidden_size=2, max_iter=1).fit(["good", "bad"] * 3, ["😀", "ok"] * 3)
    save_model(model, tmp_path / "c")
    assert_main_error(capsys, ["classify", tmp_path / "c", tmp_path / "t.txt"],
                      "has the class label '😀', but the output's encoding (cp1252) cannot write it")


def test_cli_validation_says_which_epoch_it_kept(capsys, tmp_path):
    # the summary gave the last epoch's loss, while the model holds the best validation epoch's weights
    (tmp_path / "t.csv").write_text("text,label\n" + "good,pos\nbad,neg\nnot good,neg\nnot bad,pos\n" * 10)
    assert main(["train-classifier", str(tmp_path / "t.csv"), "-o", str(tmp_path / "m"), "--validation", *TINY]) == 0
    model = joblib.load(tmp_path / "m")
    best = max(range(len(model.validation_scores_)), key=model.validation_scores_.__getitem__)
    out = capsys.readouterr().out
    assert f"kept the weights of epoch {best + 1}, validation accuracy {model.validation_scores_[best]:.4f}" in out
    assert model.verbose == 0  # the epoch lines were the command's; a refit in Python is quiet


def test_cli_tol_and_n_iter_no_change_decide_when_training_stops(capsys, tmp_path):
    (tmp_path / "t.csv").write_text("text,label\n" + "good,pos\nbad,neg\nnot good,neg\nnot bad,pos\n" * 10)
    argv = ["train-classifier", str(tmp_path / "t.csv"), "-o", str(tmp_path / "m"), "--hidden-size", "8",
            "--max-iter", "50", "--tol", "10", "--n-iter-no-change", "1"]
    assert main(argv) == 0
    model = joblib.load(tmp_path / "m")
    assert (model.tol, model.n_iter_no_change, model.n_iter_) == (10.0, 1, 2)  # no loss falls by 10 after epoch 1
    assert "Training loss did not improve by more than tol=10.0 for 1 consecutive epoch. Stopping." in (
        capsys.readouterr().out
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_cli_resume_goes_on_training_with_only_the_options_given(capsys, tmp_path):
    (tmp_path / "t.txt").write_text(TEXT)
    argv = ["train-generator", str(tmp_path / "t.txt"), "-o", str(tmp_path / "m")]
    assert main([*argv, "--hidden-size", "8", "--max-iter", "1", "--seed", "0", "-q"]) == 0
    first = joblib.load(tmp_path / "m")
    # --learning-rate at the estimator's default is given, so it applies; --hidden-size (default 128) is not
    assert main([*argv, "--resume", "--max-iter", "2", "--learning-rate", "0.002", "--validation"]) == 0
    out = capsys.readouterr().out
    model = joblib.load(tmp_path / "m")
    assert (model.hidden_size, model.max_iter, model.early_stopping) == (8, 2, True)
    assert model.loss_curve_[0] == first.loss_curve_[0] and len(model.loss_curve_) == 1 + model.n_iter_
    assert "Epoch 1: loss" in out and f"{model.n_iter_} epoch(s) ({len(model.loss_curve_)} in all)" in out
    this_run = model.validation_scores_[-model.n_iter_:]  # numbered as the run's epoch lines number them
    assert f"kept the weights of epoch {this_run.index(max(this_run)) + 1}, validation loss" in out
    assert (model.warm_start, model.verbose) == (False, 0)  # as saved before: a refit in Python starts afresh
    assert main([*argv, "--resume", "--max-iter", "1", "--no-validation", "-q"]) == 0
    assert joblib.load(tmp_path / "m").early_stopping is False

    (tmp_path / "u.txt").write_text("THE CAT")
    assert_main_error(capsys, ["train-generator", tmp_path / "u.txt", "-o", tmp_path / "m", "--resume"],
                      "--resume continues with the characters of the previous fit", "['A', 'C', 'E', 'H', 'T']",
                      "leave out --resume to train a new model")
    assert_main_error(capsys, [*argv, "--resume", "--hidden-size", "16"],
                      "--resume needs the architecture of the previous fit, but --hidden-size 8 -> 16")
    assert_main_error(capsys, [*argv, "--resume", "--embedding-dim", "4"],  # as the option is spelt
                      "but --embedding-dim none -> 4")
    assert_main_error(capsys, [*argv[:-1], tmp_path / "new", "--resume"],
                      f"--resume goes on training the model in '{tmp_path / 'new'}', which does not exist")
    (tmp_path / "t.csv").write_text("text,label\n" + "good,pos\nbad,neg\n" * 5)
    assert_main_error(capsys, ["train-classifier", tmp_path / "t.csv", "-o", tmp_path / "m", "--resume"],
                      "holds RNNCharGenerator, not RNNSequenceClassifier",
                      "'skrnn train-classifier --resume' needs a model made by 'skrnn train-classifier'")
    # would be saved, yet change nothing
    assert_main_error(capsys, [*argv, "--resume", "--seed", "1"], "--seed cannot change with --resume")
    # a resumed run that diverges at once leaves the file as it was, as a fresh one writes none
    assert main([*argv, "--resume", "--learning-rate", "1e6", "--clip-norm", "1e30", "-q"]) == 1
    warning, error = capsys.readouterr().err.strip().splitlines()  # the estimator's warning, then the error
    assert "training diverged in epoch 1" in warning
    assert error.startswith("skrnn: error: training diverged in its first epoch") and "was left as it was" in error
    assert len(joblib.load(tmp_path / "m").loss_curve_) == len(model.loss_curve_) + 1  # failed runs saved nothing
    assert joblib.load(tmp_path / "m").learning_rate == 0.002


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_cli_resume_applies_classifier_options_given_as_no_flags(capsys, tmp_path):
    (tmp_path / "t.csv").write_text("text,label\n" + "good,pos\nbad,neg\n" * 5)
    argv = ["train-classifier", str(tmp_path / "t.csv"), "-o", str(tmp_path / "m"), "--hidden-size", "4", "-q"]
    assert main([*argv, "--max-iter", "1"]) == 0
    assert main([*argv, "--max-iter", "1", "--resume", "--balanced"]) == 0
    model = joblib.load(tmp_path / "m")
    assert (model.class_weight, len(model.loss_curve_)) == ("balanced", 2)
    assert_main_error(capsys, [*argv, "--resume", "--no-bidirectional"], "--bidirectional True -> False")
    assert_main_error(capsys, [*argv, "--resume", "--tokenizer", "char"], "--tokenizer cannot change with --resume",
                      "keeps the tokenizer")
    # a model made in Python keeps its own warm_start and verbose in the file
    save_model(model.set_params(warm_start=True, verbose=1), tmp_path / "m")
    assert main([*argv, "--max-iter", "1", "--resume", "--no-balanced"]) == 0
    model = joblib.load(tmp_path / "m")
    assert (model.warm_start, model.verbose, model.class_weight, len(model.loss_curve_)) == (True, 1, None, 3)


def test_cli_refuses_to_write_the_model_over_its_data_or_as_a_folder(capsys, tmp_path, monkeypatch):
    (tmp_path / "data.txt").write_text("hello world\n")
    assert_main_error(capsys, ["train-generator", tmp_path / "data.txt", "-o", tmp_path / "data.txt", *TINY],
                      "it is the training data, read from '")
    with open(tmp_path / "data.txt") as data:  # skrnn train-generator - -o data.txt < data.txt
        monkeypatch.setattr(sys, "stdin", data)
        assert_main_error(capsys, ["train-generator", "-", "-o", tmp_path / "data.txt", *TINY],
                          "it is the training data, read from stdin")
    assert (tmp_path / "data.txt").read_text() == "hello world\n"
    assert_main_error(capsys, ["train-generator", tmp_path / "data.txt", "-o", f"{tmp_path / 'new'}/", *TINY],
                      "names a directory; give a file name")
    assert_main_error(capsys, ["train-generator", tmp_path / "data.txt", "-o", "-", *TINY], "to stdout ('-')")
    assert_main_error(capsys, ["train-generator", tmp_path / "data.txt", "-o", f"{tmp_path / 'new'}/.", *TINY],
                      "names a directory; give a file name")
    assert not (tmp_path / "new").exists()  # it was written as a file named "new"


def test_cli_decode_errors_give_the_byte_offset_and_line_in_the_file(capsys, tmp_path, trained, workdir):
    # the offset was counted from the 8 KB chunk being decoded, after any byte order mark
    (tmp_path / "big.txt").write_bytes(b"hello world\n" * 2000 + b"caf\xe9\n")
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfab\xff\n")
    assert_main_error(capsys, ["train-generator", tmp_path / "bom.txt", "-o", tmp_path / "m"],
                      "(byte 0xff at offset 5, line 1)")
    assert main(["classify", str(workdir / "clf.joblib"), str(tmp_path / "big.txt")]) == 1
    assert "(byte 0xe9 at offset 24003, line 2001); pass its --encoding" in capsys.readouterr().err
    with open(tmp_path / "big.txt", "rb") as data:  # skrnn classify clf.joblib < big.txt: a position, no path
        process = subprocess.run([sys.executable, "-m", "skrnn", "classify", str(workdir / "clf.joblib")],
                                 stdin=data, capture_output=True, text=True)
    assert process.returncode == 1 and process.stderr.strip().splitlines()[-1] == (
        "skrnn: error: stdin is not utf-8 text (byte 0xe9 at offset 24003); pass its --encoding")


def test_cli_reads_utf8_with_a_byte_order_mark(tmp_path):
    (tmp_path / "excel.csv").write_bytes("\ufefftext,label\nhé,a\nho, b\n".encode())  # Excel's "CSV UTF-8"
    assert _read_table(tmp_path / "excel.csv") == (["hé", "ho"], ["a", "b"])  # labels stripped too
    (tmp_path / "notes.txt").write_bytes("\ufeffhello".encode())
    assert _cli._read_text(tmp_path / "notes.txt", "utf-8") == "hello"


@pytest.mark.parametrize("argv, message", [
    (["generate", "m", "--top-k", "0"], "--top-k must be >= 1"),
    (["train-generator", "t", "-o", "m", "--hidden-size", "0"], "--hidden-size must be >= 1"),
    (["train-generator", "t", "-o", "m", "--validation-fraction", "1"], "--validation-fraction must be in (0, 1)"),
    (["train-classifier", "t", "-o", "m", "--delimiter", "ab"], "must be one character"),
    (["train-classifier", "t"], "required: -o/--output"),
    (["demo", "--seed", "-1"], "--seed must be in [0, 4294967295]"),
    (["train-generator", "t", "-o", "m", "--clip-norm", "0"], "--clip-norm must be > 0"),
    (["frobnicate"], "invalid choice"),
    (["generate", "m", "--lines"], "unrecognized arguments: --lines (see 'skrnn generate --help')"),
    (["train-classifier", "t", "-o", "m", "--embedding-dim", "x"], "--embedding-dim: must be an integer or 'none'"),
    (["generate", "m", "--temperature", "nan"], "--temperature must be a finite number, got nan"),
    (["train-generator", "t", "-o", "m", "--learning-rate", "inf"], "--learning-rate must be a finite number"),
])
def test_cli_bad_arguments_exit_2_on_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    stderr = capsys.readouterr().err
    assert exit_.value.code == 2 and message in stderr and len(stderr.strip().splitlines()) == 1, stderr


# -- model files and progress ---------------------------------------------------


class _Unpicklable:
    def __reduce__(self):
        raise KeyboardInterrupt  # as if Ctrl-C came in the middle of writing


def test_save_model_is_atomic(tmp_path):
    target = tmp_path / "model.joblib"
    save_model(RNNSequenceClassifier(hidden_size=8), target)
    before = target.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        save_model({"model": _Unpicklable()}, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.joblib"]


def test_cli_checks_where_a_link_points_before_training(capsys, tmp_path):
    (tmp_path / "link.joblib").symlink_to(tmp_path / "missing" / "model.joblib")
    (tmp_path / "t.txt").write_text(TEXT)
    assert_main_error(capsys, ["train-generator", tmp_path / "t.txt", "-o", tmp_path / "link.joblib", *TINY],
                      "directory", "does not exist")


def test_save_model_keeps_permissions_and_links(tmp_path):
    target, link = tmp_path / "model.joblib", tmp_path / "latest.joblib"
    save_model(RNNSequenceClassifier(hidden_size=8), target)
    target.chmod(0o600)  # a private model stays private when retrained
    link.symlink_to(target.name)
    save_model(RNNSequenceClassifier(hidden_size=9), link)
    assert link.is_symlink() and joblib.load(target).hidden_size == 9
    assert target.stat().st_mode & 0o777 == 0o600


def test_cli_training_that_diverges_at_once_saves_nothing(capsys, tmp_path):
    table = tmp_path / "reviews.tsv"
    table.write_text("text\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in REVIEWS * 4))
    argv = ["train-classifier", table, "-o", tmp_path / "m", *TINY, "--batch-size", "4", "--solver", "sgd",
            "--learning-rate", "1e6"]  # 8 updates an epoch, the first of which explodes
    assert main([str(a) for a in argv]) == 1
    err = capsys.readouterr().err
    assert "training diverged in its first epoch: the model learned nothing and was not saved" in err
    assert "--clip-norm" in err and not (tmp_path / "m").exists()


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_silent_when_not_a_terminal(capsys):
    stream = io.StringIO()
    stdout = sys.stdout
    with TrainingProgress(stream=stream, interval=0.001) as progress:
        assert sys.stdout is stdout
    assert not progress.active and stream.getvalue() == ""


def test_progress_counts_epochs_and_clears_its_line(capsys):
    stream = _Terminal()
    with TrainingProgress(stream=stream, interval=0.001) as progress:
        progress._stop.wait(0.05)
        print("Epoch 1: loss 1.0", flush=True)
        progress._stop.wait(0.05)
    drawn = stream.getvalue()
    assert "epoch 1," in drawn and "epoch 2," in drawn
    assert drawn.endswith("\r\033[K")
    assert capsys.readouterr().out == "Epoch 1: loss 1.0\n"


@pytest.mark.parametrize("corpus", ["hello world", [f"name{i % 7}" for i in range(100)]])
def test_progress_follows_the_training_batches(corpus):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with TrainingProgress(stream=_Terminal(), interval=60) as progress:
            RNNCharGenerator(hidden_size=4, max_iter=1, random_state=0).fit(corpus)
            assert progress.done == progress.total > 0  # the epoch's last batch fills the bar
    assert _training.ON_BATCH.get() is None


def test_progress_render_shows_bar_and_throughput():
    line = render(3, 2.0, 50, 100, "chars")
    assert line.startswith("epoch 3  [##########----------]  50%")
    assert "50/100 chars" in line and "25 chars/s" in line
    assert render(1, 1.5) == "| epoch 1, 1.5 s"
    # after the last batch (validation, the epoch line's sample): the batches' throughput, not a falling one
    ending = render(3, 8.0, 100, 100, "chars", trained=2.0)
    assert ending.startswith("epoch 3  [####################] 100%  ending the epoch")
    assert ending.endswith("  50 chars/s  8.0 s")


def test_progress_keeps_the_batches_throughput_after_the_last_one():
    progress = TrainingProgress(stream=_Terminal())
    progress.update(50, 100)
    assert progress.trained is None
    progress.update(100, 100)
    assert progress.trained is not None and progress.trained >= 0
    # the generator's total is an estimate: a batch beyond it is still training, not the epoch ending
    progress.update(120, 100)
    assert progress.trained is None


# -- moved unchanged from tests/test_main.py ------------------------------------


def test_main_demo_trains_and_prints_samples(capsys):
    # a budget shorter than one epoch still trains one (it trained none, then failed on the missing curve)
    assert main(["demo", "--seconds", "1e-9", "--hidden-size", "8"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"epoch 1: loss \d+\.\d+ nats/char", out)
    assert "sample at temperature 0.5" in out and "sample at temperature 1.0" in out


def test_main_demo_stops_at_ctrl_c_and_prints_samples(capsys, monkeypatch):
    from skrnn import _generator

    calls = {"train_step": 0, "fit": 0}
    train_step, fit = _generator.train_step, RNNCharGenerator.fit

    def interrupting(*args, **kwargs):
        calls["train_step"] += 1
        if calls["train_step"] == 2:  # Ctrl-C in the first epoch
            signal.raise_signal(signal.SIGINT)
        return train_step(*args, **kwargs)

    def counted(self, X, y=None):
        calls["fit"] += 1
        assert calls["fit"] == 1, "the demo trained on after Ctrl-C"
        return fit(self, X, y)

    monkeypatch.setattr(_generator, "train_step", interrupting)
    monkeypatch.setattr(RNNCharGenerator, "fit", counted)
    assert main(["demo", "--seconds", "1000", "--hidden-size", "4"]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [
        "RNNCharGenerator: stopping after this minibatch (Ctrl-C again: fit raises KeyboardInterrupt and keeps "
        "nothing)",
        "skrnn: training interrupted",
    ]
    assert "Trained 1 epoch(s)" in captured.out and "sample at temperature 1.0" in captured.out


def test_main_demo_corpus_is_embedded():
    text = python_docs_corpus()
    assert len(text) > 100_000 and "statement" in text


def test_main_without_command_prints_help(capsys):
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


def test_main_rejects_bad_arguments():
    result = subprocess.run([sys.executable, "-m", "skrnn", "demo", "--seconds", "-1"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "--seconds must be > 0" in result.stderr and "Traceback" not in result.stderr


def test_readme_quick_start_has_exactly_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", quick_start, flags=re.S)
    commands = [line for block in blocks for line in block.splitlines() if line.strip()]
    assert commands == ['pip install . && python -m skrnn demo', 'pip install -e ".[test]" && python -m pytest']


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    assert "quick-start: tests" in script
    extracted = subprocess.run(
        ["awk", script.split("awk '", 1)[1].split("' README.md", 1)[0], "README.md"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert extracted == 'pip install -e ".[test]" && python -m pytest'


def test_ci_tests_the_oldest_versions_pyproject_admits():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    # The runtime dependencies and what the tests need; the test extra's own
    # "skrnn[distributed]" names no version. A constraint takes no extra: dask[distributed]
    # is pinned as dask, which pins distributed to its own version.
    dependencies = [*project["dependencies"], *extras["test"], *extras["distributed"]]
    lower_bounds = dict(
        re.fullmatch(r"([\w-]+)(?:\[[\w,]+\])?>=([\d.]+)", dep).groups()
        for dep in dependencies
        if not dep.startswith("skrnn[")
    )
    lines = (ROOT / ".ci" / "oldest.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))

    def release(version):  # "1.6" and "1.6.0" alike
        return ([int(part) for part in version.split(".")] + [0, 0])[:3]

    assert {name: release(pin) for name, pin in pins.items()} == {
        name: release(bound) for name, bound in lower_bounds.items()
    }
    assert "-c .ci/oldest.txt && python -m pytest" in (ROOT / ".ci" / "run").read_text()
