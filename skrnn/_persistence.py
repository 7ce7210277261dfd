"""Loading skrnn models from files you did not write: the types to trust in skops."""

from ._classifier import RNNSequenceClassifier
from ._generator import RNNCharGenerator
from ._tokenizers import CharTokenizer, WordTokenizer

_ESTIMATORS = (CharTokenizer, RNNCharGenerator, RNNSequenceClassifier, WordTokenizer)


def trusted_types():
    """The skrnn types to pass to ``skops.io.load(trusted=...)``.

    pickle and joblib files can run any code when loaded: load them only
    from sources you trust. ``skops.io`` files cannot; skops loads only the
    types it trusts (NumPy arrays, builtins, scikit-learn's estimators) and
    the ones you name. A fitted skrnn estimator holds nothing but its own
    classes (the estimators and tokenizers) and arrays, dicts, lists, str
    and numbers, so these types are all it needs.

    Check a file before trusting it: ``skops.io.get_untrusted_types(file=path)``
    should list nothing outside this list. A file that names any other type,
    such as a function passed as ``WordTokenizer(analyzer=...)``, needs your
    review before you add that type.

    Returns
    -------
    types : list of str
        Fully qualified names of skrnn's estimator and tokenizer classes.

    Examples
    --------
    >>> import skops.io as sio
    >>> from skrnn import RNNCharGenerator, trusted_types
    >>> model = RNNCharGenerator(hidden_size=8, max_iter=1, random_state=0).fit("hello")
    >>> data = sio.dumps(model)
    >>> set(sio.get_untrusted_types(data=data)) <= set(trusted_types())
    True
    >>> loaded = sio.loads(data, trusted=trusted_types())
    >>> loaded.generate("h", 4, random_state=0) == model.generate("h", 4, random_state=0)
    True
    """
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in _ESTIMATORS]
