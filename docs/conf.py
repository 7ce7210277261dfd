"""Sphinx configuration of the skrnn documentation.

Build (runs the gallery's examples, a few minutes on 2 cores)::

    sphinx-build -W -b html docs docs/_build/html

Without running the examples (what CI does)::

    sphinx-build -W -b html -D plot_gallery=0 docs docs/_build/html
"""

import os
import re
from pathlib import Path

from sklearn.base import BaseEstimator
from sphinx.util import logging

import skrnn

logger = logging.getLogger(__name__)

project = "skrnn"
author = "the skrnn developers"
copyright = "the skrnn developers"
release = skrnn.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"  # `x` in docstrings and pages is code, as in numpydoc's convention

# -- API reference -------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
# scikit-learn's set_output exists on a class but is unavailable on instances
# of transformers that opt out of output wrapping (the tokenizers): the class
# template leaves it out for them.
autosummary_context = {
    "no_set_output": [
        name for name in skrnn.__all__
        if isinstance(getattr(skrnn, name), type) and issubclass(getattr(skrnn, name), BaseEstimator)
        and not hasattr(getattr(skrnn, name)(), "set_output")
    ],
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# scikit-learn's metadata-routing methods (set_fit_request, ...) are generated
# for every estimator and link to scikit-learn's own user guide: leave them out.
_SKIPPED_MEMBERS = ("get_metadata_routing",)


def _skip_member(app, what, name, obj, skip, options):
    if name in _SKIPPED_MEMBERS or (name.startswith("set_") and name.endswith("_request")):
        return True
    return skip


_REF = re.compile(r":ref:`([^`<]*?)\s*(?:<[^`>]*>)?`")


def _unlink_sklearn_refs(app, what, name, obj, options, lines):
    """Turn :ref: roles of inherited scikit-learn docstrings into plain text.

    Methods such as ``score`` and ``set_output`` come from scikit-learn's
    mixins, whose docstrings link to labels of scikit-learn's own user guide
    that do not exist here.
    """
    if not getattr(obj, "__module__", "").startswith("sklearn."):
        return
    for i, line in enumerate(lines):
        lines[i] = _REF.sub(lambda m: m.group(1) or "scikit-learn's user guide", line)


def _check_api_complete(app, config):
    """Warn (an error under -W) when api.rst misses a name of skrnn.__all__."""
    listed = set(re.findall(r"^   (\w+)$", Path(app.srcdir, "api.rst").read_text(encoding="utf-8"), re.M))
    missing = sorted(set(skrnn.__all__) - listed - {"__version__"})
    if missing:
        logger.warning("docs/api.rst does not list these names of skrnn.__all__: %s", ", ".join(missing))


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _unlink_sklearn_refs)
    app.connect("config-inited", _check_api_complete)


# -- Gallery -------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("skrnn",),
    "backreferences_dir": os.path.join("gen_modules", "backreferences"),
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "abort_on_example_error": True,
    "write_computation_times": False,
}

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skrnn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False
