"""Sphinx configuration of the htmkit documentation.

Build (warnings are errors, the gallery runs every example)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

Set ``HTMKIT_DOCS_SKIP_GALLERY=1`` to build the pages without running the examples.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# Document the source tree next to this file, not whatever htmkit is installed.
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("MPLBACKEND", "Agg")

import htmkit  # noqa: E402

project = "htmkit"
author = "the htmkit authors"
copyright = "the htmkit authors"
version = htmkit.__version__
release = htmkit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints",
                    "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip",
                    "auto_examples/*.json", "auto_examples/*.md5"]

# -- autodoc / autosummary / numpydoc -------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
# Members are listed by the class template (docs/_templates/autosummary/class.rst); module
# pages show the module docstring only, so no object is documented twice.
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"          # numpydoc's Parameters sections carry the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = False
nitpicky = False

# -- MyST (the experiment records are Markdown) ---------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

# -- sphinx-gallery -------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",      # run every example, not only plot_*.py
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}
if os.environ.get("HTMKIT_DOCS_SKIP_GALLERY"):
    sphinx_gallery_conf["plot_gallery"] = "False"

# -- HTML -----------------------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"htmkit {release}"
html_static_path: list[str] = []
html_theme_options = {
    "description": "Hierarchical Temporal Memory in Python",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "240px",
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}
