"""Sphinx configuration of mlpfast's documentation site.

Build it from the repository root, after ``pip install ".[docs]"``::

    sphinx-build -b html docs docs/_build/html

Sphinx imports the *installed* mlpfast (its compiled kernels are not in the
source folder), so this file does not put the checkout on ``sys.path``; a
developer with an in-place build sets ``PYTHONPATH`` to the checkout instead.
The build runs the gallery's examples, so their figures and printed output
are those of the documented version.
"""
import importlib.util
import re
from pathlib import Path

from docutils import nodes

import mlpfast

DOCS_DIR = Path(__file__).resolve().parent

project = "mlpfast"
author = "the mlpfast developers"
copyright = "2026, the mlpfast developers"
release = mlpfast.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build"]

# Every cross-reference must resolve: an unresolved one fails the build (-n
# with -W), which is the site's check of its internal references.
nitpicky = True

# -- API reference -------------------------------------------------------------
autosummary_generate = True
# The numpydoc Parameters tables already give each type; repeating the type
# hints in the signatures would only add references to numpy's and typing's
# classes, which cannot be resolved without intersphinx inventories (these
# machines cannot download them).
autodoc_typehints = "none"
# The estimators' fit, predict, get_params... live on base classes (mlpfast's
# _BaseMLP, scikit-learn's BaseEstimator and mixins): a user calls them on the
# estimator, so its page documents them with its own methods.
autodoc_default_options = {"members": True, "inherited-members": True}
# numpydoc lists the methods in a table on the class page; autodoc documents
# each of them below it, so the table's links resolve.
numpydoc_show_class_members = True
numpydoc_show_inherited_class_members = True
numpydoc_class_members_toctree = False
# Docstring checks that fail the build: every parameter documented (PR01), no
# documented parameter that the signature lacks (PR02), a summary (SS01).
numpydoc_validation_checks = {"PR01", "PR02", "SS01"}
# scikit-learn's inherited methods (get_params, set_output, ...) are its own
# to document; the checks apply to mlpfast's objects.
numpydoc_validation_exclude = {r"^sklearn\.", r"\.set_\w+_request$", r"\.__init__$"}



def _scikit_learn_page(name):
    """The scikit-learn documentation page of a public ``sklearn.`` name.

    scikit-learn documents each public class and function on a page of its own
    named after it; a method or attribute is an anchor on its class's page.
    """
    parts = name.split(".")
    # A lower-case last part after a capitalised one is a member of a class.
    if len(parts) > 2 and parts[-2][:1].isupper():
        page = ".".join(parts[:-1])
        return f"{SCIKIT_LEARN_API}{page}.html#{name}"
    return f"{SCIKIT_LEARN_API}{name}.html"


SCIKIT_LEARN_API = "https://scikit-learn.org/stable/modules/generated/"
ROLE = re.compile(r":(?:py:)?(?:term|ref|doc|class|func|meth|attr|obj|mod|data):`~?([^`<]*?)\s*(?:<[^>]*>)?`")


def link_scikit_learn_names(app, env, node, contnode):
    """Resolve ``:class:`sklearn...``` and similar to scikit-learn's site.

    These machines cannot download scikit-learn's intersphinx inventory, so
    the URL is built from the name, as scikit-learn lays out its API pages.
    """
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("sklearn."):
        return None
    reference = nodes.reference("", "", internal=False, refuri=_scikit_learn_page(target))
    reference += contnode
    return reference


def plain_foreign_roles(app, what, name, obj, options, lines):
    """Docstrings that scikit-learn wrote (inherited methods) cite its own
    glossary and labels, which exist only in its documentation: keep their
    text, drop the cross-reference."""
    module = getattr(obj, "__module__", None) or ""
    if module.startswith("mlpfast"):
        return
    lines[:] = [ROLE.sub(lambda match: f"``{match.group(1)}``", line) for line in lines]


def draw_benchmark_chart(app):
    """The Benchmarks page's bar chart, drawn from the table on that page by
    bench/plot_speedups.py, so that the two cannot disagree."""
    script = DOCS_DIR.parent / "bench" / "plot_speedups.py"
    spec = importlib.util.spec_from_file_location("plot_speedups", script)
    plot_speedups = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plot_speedups)
    BENCHMARK_CHART.parent.mkdir(parents=True, exist_ok=True)
    table = (DOCS_DIR / "benchmarks.md").read_text(encoding="utf-8")
    plot_speedups.draw(plot_speedups.read_table(table), BENCHMARK_CHART)


BENCHMARK_CHART = DOCS_DIR / "generated" / "bench_speedups.png"


def setup(app):
    app.connect("builder-inited", draw_benchmark_chart)
    app.connect("missing-reference", link_scikit_learn_names)
    # Before numpydoc (priority 500) turns the docstring into reST.
    app.connect("autodoc-process-docstring", plain_foreign_roles, priority=400)


# -- Markdown pages ------------------------------------------------------------
# Headings down to level 3 get anchors from their text (#threads), as on
# GitHub, so that links into a page keep working when a section moves.
myst_heading_anchors = 3

# -- Example gallery -----------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": [str(DOCS_DIR.parent / "examples")],
    "gallery_dirs": [str(DOCS_DIR / "auto_examples")],
    # Every example runs except dask_cluster.py: it starts a two-process dask
    # cluster, which takes longer on a busy 2-core machine than all the others
    # together and whose worker processes would import sphinx-build's main
    # module; tests/test_examples.py runs it. Its page shows the source.
    "filename_pattern": r"/(?!dask_cluster\.py$)[^/]+\.py$",
    "ignore_pattern": r"^$",
    "abort_on_example_error": True,
    "download_all_examples": False,
    # "Examples using X" on each API page.
    "doc_module": ("mlpfast",),
    "backreferences_dir": str(DOCS_DIR / "generated" / "backreferences"),
    "min_reported_time": 1,
}

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"mlpfast {release}"
html_static_path = []
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"changelog": [], "benchmarks": [], "getting_started": []}
