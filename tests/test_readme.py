"""The README shows what rag_qa prints: every example is rerun (docs/examples.py --check)."""

import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def test_the_readme_examples_match_a_fresh_run():
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "examples.py"), "--check"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_readme_puts_the_two_commands_then_your_own_articles_first():
    headings = [line for line in (ROOT / "README.md").read_text("utf-8").splitlines() if line.startswith("## ")]
    assert headings[:2] == ["## Two commands", "## Use your own articles"]
