"""Records stay out of the code: the figure count of ``src/`` and the README's results table.

Fast (no benchmark runs): both tools read files only.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools"


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(f"_tool_{name}", TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


count_figures = _tool("count_figures")
results_table = _tool("results_table")


def test_src_holds_at_most_30_figures(capsys):
    assert count_figures.main([str(ROOT / "src"), "--max", "30"]) == 0, capsys.readouterr()


def test_figure_count_fails_over_the_limit(tmp_path, capsys):
    (tmp_path / "m.py").write_text(
        '"""Measured 0.985 clean and 72.1 on NAB, 98% of the time."""\n'
        "x = 0.5  # tuned: 0.25 was worse\n"
        "def f():\n"
        '    """Example.\n\n    >>> f()\n    0.75\n    """\n'
        "    return 0.75\n"
    )
    assert count_figures.main([str(tmp_path), "--max", "5"]) == 0
    assert "4 benchmark figures" in capsys.readouterr().out  # docstring 3 + comment 1
    assert count_figures.main([str(tmp_path), "--max", "3"]) == 1


def test_readme_results_table_is_current(capsys):
    assert results_table.main(["--check"]) == 0, capsys.readouterr()


def test_results_check_fails_when_stale(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{results_table.START}\n| old |\n{results_table.END}\n")
    assert results_table.main(["--check", "--readme", str(readme)]) == 1
    assert results_table.main(["--write", "--readme", str(readme)]) == 0
    assert results_table.main(["--check", "--readme", str(readme)]) == 0


def test_table_names_files_not_machine_paths():
    block = results_table.render()
    measured, skipped = results_table.measured_rows()
    assert measured, "no benchmark JSON was tabulated"
    names = {p.name for p in results_table.RESULTS.glob("*.json")} - {results_table.PUBLISHED}
    for _, _, _, source in measured:
        assert source in names
    assert "/work/" not in block and "/home/" not in block and "shared/data" not in block
    assert "**published**" in block


def test_published_figures_carry_a_source_and_agree_with_the_code():
    data = json.loads((results_table.RESULTS / results_table.PUBLISHED).read_text())
    for entry in data["entries"]:
        assert entry["source"].strip() and entry["cite"].strip()
        assert entry["metrics"] and all(isinstance(v, int | float) for v in
                                        entry["metrics"].values())
    by_key = {(e["benchmark"], e["model"]): e["metrics"] for e in data["entries"]}
    taxi = pytest.importorskip("htmkit.bench.taxi")
    for model, figs in taxi.PUBLISHED_TAXI.items():
        assert by_key[("taxi", model)] == figs
    sequences = pytest.importorskip("htmkit.bench.sequences")
    for model, figs in sequences.PUBLISHED.items():
        assert by_key[("sequences", model)] == {k: v for k, v in figs.items() if v is not None}
    nab_bench = pytest.importorskip("htmkit.nab.bench")
    names = {"Numenta HTM": "Numenta HTM (backtracking TM)", "ARTime": "ARTime",
             "windowedGaussian": "windowedGaussian"}
    for name, figs in nab_bench.PUBLISHED.items():
        ours = by_key[("nab", names[name])]
        assert [round(ours[k], 1) for k in ("standard", "low_fp", "low_fn")] == list(figs)


def test_readme_length_and_links():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    assert len(text.split()) <= 1500
    assert "issue notes" not in text  # its figures come from files in the repository
    for link in re.findall(r"\]\((docs/experiments/[^)]+)\)", text):
        assert (ROOT / link).is_file(), link
    folder = ROOT / "docs" / "experiments"
    index = (folder / "index.md").read_text(encoding="utf-8")
    for page in re.findall(r"\]\(([\w-]+\.md)\)", index):
        assert (folder / page).is_file(), f"index.md links a missing page {page}"
    if ":glob:" not in index:  # a toctree glob lists every page; otherwise each is linked
        for page in sorted(p.name for p in folder.glob("*.md")):
            assert page == "index.md" or f"({page})" in index, f"{page} is not in index.md"
