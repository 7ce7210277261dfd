"""skrnn: recurrent neural networks as scikit-learn estimators."""

__version__ = "0.1.0.dev0"

from ._base import InconsistentVersionWarning  # noqa: E402
from ._classifier import RNNSequenceClassifier  # noqa: E402
from ._generator import RNNCharGenerator  # noqa: E402
from ._persistence import trusted_types  # noqa: E402
from ._tokenizers import CharTokenizer, WordTokenizer  # noqa: E402

__all__ = [
    "CharTokenizer",
    "InconsistentVersionWarning",
    "RNNCharGenerator",
    "RNNSequenceClassifier",
    "WordTokenizer",
    "__version__",
    "trusted_types",
]
