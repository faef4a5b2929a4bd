"""Every example of the docs gallery (``examples/*.py``) runs to the end in a fresh process.

Marked ``slow``: the examples train models (each within a minute). They use only built-in
data: generated streams and the 8x8 digits bundled with scikit-learn.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

pytestmark = pytest.mark.slow


def test_there_are_examples():
    assert len(EXAMPLES) >= 6, [p.name for p in EXAMPLES]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path):
    pytest.importorskip("matplotlib")
    if "load_digits_dataset" in path.read_text(encoding="utf-8"):
        pytest.importorskip("sklearn")
    # the source tree first, so the examples run against this checkout
    paths = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(paths))
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f"{path.name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")

def test_examples_have_a_gallery_header():
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        assert text.startswith('"""\n'), f"{path.name}: no docstring header"
        title = text.splitlines()[1]
        assert text.splitlines()[2] == "=" * len(title), f"{path.name}: title not underlined"


def test_docs_build_without_warnings(tmp_path):
    """The site builds with warnings as errors (the gallery's examples are run above, so
    ``HTMKIT_DOCS_SKIP_GALLERY`` leaves them out here; CI builds the full site)."""
    for module in ("sphinx", "numpydoc", "sphinx_gallery", "myst_parser", "matplotlib"):
        pytest.importorskip(module)
    env = dict(os.environ, HTMKIT_DOCS_SKIP_GALLERY="1", MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "html")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"docs build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    assert (tmp_path / "html" / "index.html").is_file()
