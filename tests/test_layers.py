"""The layers: the library never loads the benchmarks, the CLI or heavy optional packages at
import time, the command line's ``--help`` stays light, and the import contract in
pyproject.toml (``lint-imports``) holds."""

from __future__ import annotations

import importlib.util
import json
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import htmkit

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(htmkit.__file__).resolve().parents[1]

#: Packages above the library: benchmarks, NAB runner, applications, command line.
UPPER = ("htmkit.bench", "htmkit.nab", "htmkit.apps", "htmkit.cli")
#: What no library module may load when it is imported.
HEAVY = ("pandas", "typer", "rich", "torch", "matplotlib", "sklearn", "river", "ray",
         *UPPER)


def _library_modules() -> list[str]:
    """Every module of the package that is not above the library (found on disk, so a new
    module is checked without being listed here)."""
    names = ["htmkit"]
    for info in pkgutil.walk_packages([str(SRC / "htmkit")], prefix="htmkit."):
        if not info.name.startswith(UPPER):
            names.append(info.name)
    return sorted(names)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


_PROBE = """
import importlib, json, sys
heavy = {heavy!r}
def loaded():
    return sorted(h for h in heavy if h in sys.modules)
out = {{}}
for name in {names!r}:
    importlib.import_module(name)
    out[name] = loaded()
print(json.dumps(out))
"""


def test_import_htmkit_is_light():
    res = _run("import sys, htmkit; print(sorted(m for m in ('numpy', 'numba', 'scipy', "
               "'pandas', 'typer', 'rich', 'torch', 'matplotlib') if m in sys.modules))")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_library_modules_do_not_load_heavy_or_upper_modules():
    names = _library_modules()
    for expected in ("htmkit.sdr", "htmkit.encoders", "htmkit.spatial_pooler",
                     "htmkit.temporal_memory", "htmkit.backtracking_tm", "htmkit.temporal_pooler",
                     "htmkit.model", "htmkit.detector", "htmkit.network", "htmkit.vision",
                     "htmkit.vision.hierarchy", "htmkit.readout", "htmkit.streams"):
        assert expected in names
    # imported one after the other in one process: the first module after which a heavy
    # module shows up is the one that loaded it
    res = _run(_PROBE.format(heavy=HEAVY, names=names))
    assert res.returncode == 0, res.stderr
    seen = json.loads(res.stdout.strip().splitlines()[-1])
    culprits = {}
    before: list[str] = []
    for name in names:
        new = sorted(set(seen[name]) - set(before))
        if new:
            culprits[name] = new
        before = seen[name]
    assert culprits == {}


@pytest.mark.parametrize("args", [["--help"], ["bench", "--help"], ["--version"]])
def test_cli_help_does_not_import_the_work(args):
    code = (
        "import sys\n"
        f"sys.argv = ['htmkit', *{args!r}]\n"
        "from htmkit.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('LOADED', sorted(m for m in ('numpy', 'numba', 'pandas', 'torch', 'matplotlib', "
        "'scipy', 'htmkit.bench', 'htmkit.apps', 'htmkit.nab.runner') if m in sys.modules))\n"
    )
    res = _run(code)
    assert res.returncode == 0, res.stderr
    assert "LOADED []" in res.stdout
    if args == ["--help"]:
        for command in ("demo", "run", "anomaly", "nab", "bench"):
            assert command in res.stdout


def test_import_contract_holds():
    if importlib.util.find_spec("importlinter") is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which(
        "lint-imports")
    assert exe, "lint-imports not found next to the Python that runs the tests"
    env = dict(os.environ, PYTHONPATH=str(SRC))
    res = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                         env=env, timeout=300, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout
