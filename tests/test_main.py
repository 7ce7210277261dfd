"""The command line and the README's quick start."""

import re
import subprocess
import sys
from pathlib import Path

from skrnn.__main__ import main, python_docs_corpus

ROOT = Path(__file__).resolve().parents[1]


def test_main_demo_trains_and_prints_samples(capsys):
    assert main(["demo", "--seconds", "0.1", "--hidden-size", "8"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"epoch 1: loss \d+\.\d+ nats/char", out)
    assert "sample at temperature 0.5" in out and "sample at temperature 1.0" in out


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
