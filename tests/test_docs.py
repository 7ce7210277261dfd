"""The documentation: Examples sections, the API page, the gallery's scripts, the guide's snippets, the build.

The gallery's scripts are checked statically (a title, allowed imports): they
train real models and are run by the full documentation build, not here.
"""

import ast
import doctest
import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import skrnn

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("plot_*.py"))
PUBLIC = [name for name in skrnn.__all__ if name != "__version__"]
# What an example may import: skrnn, its dependencies, matplotlib for the
# plots, Dask for the distributed example, and the standard library.
ALLOWED_IMPORTS = {"skrnn", "sklearn", "numpy", "scipy", "matplotlib", "joblib", "dask", "distributed"}
SPHINX_PACKAGES = ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme", "matplotlib")
# Pages whose code is written as doctests (>>>), and the packages each needs beyond skrnn's own.
PAGES = {
    "quick_start.rst": (),
    "user_guide/input_types.rst": ("pandas",),
    "user_guide/cells.rst": (),
    "user_guide/training.rst": (),
    "user_guide/generation.rst": (),
    "user_guide/model_selection.rst": (),
    "user_guide/persistence.rst": ("skops",),
}


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_has_examples_section(name):
    doc = inspect.getdoc(getattr(skrnn, name)) or ""
    section = re.search(r"^Examples\n-{8}\n(.*?)(?=^\S[^\n]*\n-{3,}\n|\Z)", doc, re.M | re.S)
    assert section, f"skrnn.{name} has no numpydoc 'Examples' section in its docstring"
    assert ">>>" in section.group(1), f"the Examples section of skrnn.{name} holds no doctest"


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_examples_are_collected_as_doctests(name):
    # pytest runs them with --doctest-modules (pyproject.toml): they must be
    # found in the object's own docstring, with at least one example.
    obj = getattr(skrnn, name)
    tests = doctest.DocTestFinder(recurse=False).find(obj, name)
    assert tests and tests[0].examples


def test_api_reference_lists_every_public_name():
    listed = set(re.findall(r"^   (\w+)$", (DOCS / "api.rst").read_text(encoding="utf-8"), re.M))
    assert set(PUBLIC) <= listed, f"docs/api.rst misses {sorted(set(PUBLIC) - listed)}"
    assert listed <= set(PUBLIC), f"docs/api.rst lists names outside skrnn.__all__: {sorted(listed - set(PUBLIC))}"


def test_gallery_has_a_header_and_examples():
    assert (EXAMPLES / "GALLERY_HEADER.rst").is_file()
    assert len(EXAMPLE_FILES) >= 6


def _top_level_imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_has_title_and_allowed_imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    doc = ast.get_docstring(tree, clean=False)
    assert doc, f"{path.name} has no module docstring"
    lines = doc.strip("\n").splitlines()
    # sphinx-gallery's title: a line of text under (and over) a line of '=' at least as long.
    assert len(lines) >= 3 and set(lines[0]) == {"="} and set(lines[2]) == {"="}, (
        f"{path.name}: the docstring must open with a title over- and underlined with '='"
    )
    title = lines[1].strip()
    assert title and len(lines[0]) >= len(lines[1]) and len(lines[2]) >= len(lines[1])
    allowed = ALLOWED_IMPORTS | set(sys.stdlib_module_names)
    imported = set(_top_level_imports(tree))
    assert imported <= allowed, f"{path.name} imports {sorted(imported - allowed)}, outside {sorted(ALLOWED_IMPORTS)}"


def test_doc_links_to_examples_point_to_existing_files():
    targets = set()
    for page in DOCS.rglob("*.rst"):
        if {"_build", "auto_examples", "gen_modules"} & set(page.relative_to(DOCS).parts):
            continue
        targets |= set(re.findall(r"sphx_glr_auto_examples_(\w+\.py)", page.read_text(encoding="utf-8")))
    assert targets
    missing = sorted(t for t in targets if not (EXAMPLES / t).is_file())
    assert not missing, f"the docs link to examples that do not exist: {missing}"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_snippets_run(page, tmp_path, monkeypatch):
    for module in PAGES[page]:
        pytest.importorskip(module)
    monkeypatch.chdir(tmp_path)  # snippets that save models write here
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(DOCS / page), module_relative=False, optionflags=flags, verbose=False,
                              report=True)
    assert result.attempted > 0, f"docs/{page} holds no doctest"
    assert result.failed == 0, f"{result.failed} of the {result.attempted} examples of docs/{page} failed (see stdout)"


def test_docs_build_without_warnings(tmp_path):
    missing = [name for name in SPHINX_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"the docs extra is not installed (missing {', '.join(missing)}): pip install -e '.[docs]'")
    command = [
        sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
        "-D", "plot_gallery=0", "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html"),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    assert (tmp_path / "html" / "index.html").is_file()
    for name in PUBLIC:
        assert (tmp_path / "html" / "gen_modules" / f"skrnn.{name}.html").is_file()
