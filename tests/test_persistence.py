"""Persistence: joblib in a fresh process, the skrnn version stamp, skops for untrusted files."""

import importlib
import io
import pickle
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException
from sklearn.base import BaseEstimator
from sklearn.pipeline import make_pipeline

import skrnn
import skrnn._base
from skrnn import CharTokenizer, RNNCharGenerator, RNNSequenceClassifier, WordTokenizer
from skrnn._persistence import trusted_types

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TEXTS = ["good", "not good", "very good", "bad", "not bad", "very bad"] * 4
LABELS = ["pos", "neg", "pos", "neg", "pos", "neg"] * 4
# Words and characters never seen at fit, and an empty document.
NEW_TEXTS = ["excellent!", "not terrible", "very very good", ""]
NAMES = ["anna", "emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn"]

# Loads every model of a directory in a new interpreter and runs the recorded
# calls: nothing but the model files crosses over (no vocabulary files).
LOAD_AND_CALL = """
import sys, warnings
from pathlib import Path
import joblib
folder = Path(sys.argv[1])
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    calls = joblib.load(folder / "calls.joblib")
    results = {}
    for name, model_calls in calls.items():
        model = joblib.load(folder / f"{name}.joblib")
        results[name] = [getattr(model, method)(*args, **kwargs) for method, args, kwargs in model_calls]
joblib.dump({"results": results, "warnings": [str(w.message) for w in caught]}, folder / "results.joblib")
"""


def _fit_models():
    """name -> (fitted model, [(method, args, kwargs), ...]) covering every input kind."""
    X_num = np.random.default_rng(0).normal(size=(24, 6, 3))
    y_num = (X_num[:, :, 0].sum(axis=1) > 0).astype(int)
    ids = WordTokenizer().fit_transform(TEXTS)

    def clf(**params):
        return RNNSequenceClassifier(hidden_size=8, max_iter=5, random_state=0, **params)

    texts = TEXTS[:6] + NEW_TEXTS
    generate_calls = [
        ("generate", ("a",), {"n_chars": 40, "random_state": 3}),
        ("generate", ("",), {"n_chars": 40, "temperature": 0.5, "top_k": 3, "random_state": 7}),
        ("predict_proba", (["em", "a"],), {}),
    ]
    return {
        "classifier-text": (clf().fit(TEXTS, LABELS), [("predict_proba", (texts,), {}), ("predict", (texts,), {})]),
        "classifier-char": (clf(tokenizer="char").fit(TEXTS, LABELS), [("predict_proba", (texts,), {})]),
        "classifier-tokens": (clf().fit(ids, LABELS), [("predict_proba", (ids,), {})]),
        "classifier-numeric": (clf().fit(X_num, y_num), [("predict_proba", (X_num,), {})]),
        "pipeline": (
            make_pipeline(WordTokenizer(max_tokens=4), clf()).fit(TEXTS, LABELS),
            [("predict_proba", (texts,), {})],
        ),
        "generator": (RNNCharGenerator(hidden_size=8, max_iter=2, random_state=0).fit(NAMES), generate_calls),
        "char-tokenizer": (CharTokenizer().fit(TEXTS), [("transform", (texts,), {})]),
        "word-tokenizer": (WordTokenizer().fit(TEXTS), [("transform", (texts,), {})]),
    }


@pytest.fixture(scope="module")
def fitted():
    return _fit_models()


def _call(model, calls):
    return [getattr(model, method)(*args, **kwargs) for method, args, kwargs in calls]


def _assert_same_results(expected, got):
    assert len(expected) == len(got)
    for a, b in zip(expected, got):
        assert type(a) is type(b)
        np.testing.assert_array_equal(a, b)


# -- joblib in a fresh process -------------------------------------------------------------


def test_joblib_round_trip_in_fresh_process(fitted, tmp_path):
    for name, (model, _) in fitted.items():
        joblib.dump(model, tmp_path / f"{name}.joblib")
    # One file per model: the tokenizer's vocabulary travels inside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{name}.joblib" for name in fitted)
    joblib.dump({name: calls for name, (_, calls) in fitted.items()}, tmp_path / "calls.joblib")

    subprocess.run([sys.executable, "-c", LOAD_AND_CALL, str(tmp_path)], cwd=tmp_path, check=True, timeout=120)
    loaded = joblib.load(tmp_path / "results.joblib")

    for name, (model, calls) in fitted.items():
        _assert_same_results(_call(model, calls), loaded["results"][name])
    assert not [w for w in loaded["warnings"] if "skrnn version" in w]


def test_joblib_generator_same_seed_same_text_after_reload(fitted, tmp_path):
    model, _ = fitted["generator"]
    joblib.dump(model, tmp_path / "generator.joblib")
    reloaded = joblib.load(tmp_path / "generator.joblib")
    texts = {reloaded.generate("a", 40, random_state=seed) for seed in range(5)}
    assert len(texts) > 1  # the seed matters, so equal text at equal seeds means something
    for seed in range(5):
        assert reloaded.generate("a", 40, random_state=seed) == model.generate("a", 40, random_state=seed)


# -- fitted state and version stamp ---------------------------------------------------------

PLAIN_SCALARS = (str, int, float, bool, type(None), np.generic)


def _assert_plain(value, where):
    """Arrays (numbers or str), dicts, lists, tuples and scalars; skrnn estimators recursively."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            assert all(isinstance(item, str) for item in value.ravel()), f"{where}: object array of non-str"
        return
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, PLAIN_SCALARS), f"{where}: key {key!r}"
            _assert_plain(item, f"{where}[{key!r}]")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _assert_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, BaseEstimator):
        assert type(value).__module__.startswith(("skrnn.", "sklearn.")), f"{where}: {type(value)}"
        for key, item in vars(value).items():
            _assert_plain(item, f"{where}.{key}")
        return
    assert isinstance(value, PLAIN_SCALARS), f"{where} is {type(value).__name__}"


@pytest.mark.parametrize("name", ["classifier-text", "classifier-numeric", "generator", "word-tokenizer"])
def test_fitted_state_is_plain_data(fitted, name):
    model, _ = fitted[name]
    _assert_plain(model, name)


@pytest.mark.parametrize("name", ["classifier-text", "generator", "char-tokenizer", "word-tokenizer"])
def test_pickled_state_records_skrnn_version(fitted, name):
    model, _ = fitted[name]
    assert model.__getstate__()["_skrnn_version"] == skrnn.__version__


def _joblib_dumps(model):
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


FORMATS = {
    "pickle": (pickle.dumps, pickle.loads),
    "joblib": (_joblib_dumps, lambda data: joblib.load(io.BytesIO(data))),
    "skops": (sio.dumps, lambda data: sio.loads(data, trusted=trusted_types())),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["classifier-text", "generator", "char-tokenizer", "word-tokenizer"])
def test_loading_another_version_warns_naming_both(fitted, name, fmt, monkeypatch):
    dumps, loads = FORMATS[fmt]
    model, calls = fitted[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = loads(dumps(model))  # the same version loads silently
    with monkeypatch.context() as patch:
        patch.setattr(skrnn._base, "__version__", "0.0.1")  # as an older skrnn would save it
        old = dumps(model)
    with pytest.warns(skrnn.InconsistentVersionWarning) as caught:
        loaded = loads(old)
    # One warning per skrnn object in the file (a classifier's tokenizer_ has its own).
    both = f"from skrnn version 0.0.1 when using version {skrnn.__version__}."
    messages = [str(w.message) for w in caught]
    assert any(f"unpickle {type(model).__name__} {both}" in m for m in messages), messages
    assert all(both in m for m in messages), messages
    first = next(w.message for w in caught if w.message.estimator_name == type(model).__name__)
    assert (first.original_skrnn_version, first.current_skrnn_version) == ("0.0.1", skrnn.__version__)
    assert not hasattr(loaded, "_skrnn_version")  # the stamp is read, not kept as an attribute
    _assert_same_results(_call(model, calls), _call(loaded, calls))
    _assert_same_results(_call(model, calls), _call(same, calls))


@pytest.mark.parametrize("name", ["classifier-text", "generator", "word-tokenizer"])
def test_loading_a_state_without_version_warns(fitted, name):
    # A state that __getstate__ did not write (an older skrnn's, or one built by hand) is not silently trusted.
    model, calls = fitted[name]
    state = model.__getstate__()
    del state["_skrnn_version"]
    loaded = type(model).__new__(type(model))
    with pytest.warns(skrnn.InconsistentVersionWarning, match="from skrnn version unknown when using"):
        loaded.__setstate__(state)
    _assert_same_results(_call(model, calls), _call(loaded, calls))


def test_version_warning_can_be_made_an_error(fitted, monkeypatch):
    model, _ = fitted["generator"]
    with monkeypatch.context() as patch:
        patch.setattr(skrnn._base, "__version__", "0.0.1")
        data = pickle.dumps(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error", skrnn.InconsistentVersionWarning)
        with pytest.raises(skrnn.InconsistentVersionWarning):
            pickle.loads(data)
    assert issubclass(skrnn.InconsistentVersionWarning, UserWarning)  # filters on UserWarning still apply


# -- skops: files from untrusted sources ----------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["classifier-text", "classifier-char", "classifier-tokens", "classifier-numeric", "pipeline", "generator",
     "char-tokenizer", "word-tokenizer"],
)
def test_skops_trusted_types_load_identical_model(fitted, name, tmp_path):
    model, calls = fitted[name]
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    # Only skrnn's own classes need trust: no numpy, builtins or functions.
    assert untrusted
    assert set(untrusted) <= set(trusted_types())
    with pytest.raises(UntrustedTypesFoundException):
        sio.load(path)
    loaded = sio.load(path, trusted=trusted_types())
    assert type(loaded) is type(model)
    _assert_same_results(_call(model, calls), _call(loaded, calls))


def _split_on_spaces(doc):
    return doc.split()


def test_skops_refuses_a_function_in_the_model(tmp_path):
    # A function is code: trusted_types() does not cover it, so it needs the user's review.
    tokenizer = WordTokenizer(analyzer=_split_on_spaces).fit(TEXTS)
    path = tmp_path / "tokenizer.skops"
    sio.dump(tokenizer, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert [t for t in untrusted if t not in trusted_types()] == [f"{__name__}._split_on_spaces"]
    with pytest.raises(UntrustedTypesFoundException, match="_split_on_spaces"):
        sio.load(path, trusted=trusted_types())


def test_trusted_types_are_the_public_estimators():
    classes = set()
    for qualified in trusted_types():
        module, _, name = qualified.rpartition(".")
        classes.add(getattr(importlib.import_module(module), name))
    public = {getattr(skrnn, name) for name in skrnn.__all__ if isinstance(getattr(skrnn, name), type)}
    assert classes == {cls for cls in public if issubclass(cls, BaseEstimator)}
