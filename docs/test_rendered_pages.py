"""The built site as a browser shows it: headless Chromium renders three pages.

Run after the HTML build (``bash .ci/docs_stage`` does both)::

    MLPFAST_DOCS_HTML=docs/_build/html MLPFAST_DOCS_SCREENSHOTS=docs/_build/screenshots \\
        pytest docs/test_rendered_pages.py

Chromium (Debian's ``chromium``) opens the index, the API page of
``MLPClassifier`` and the gallery page of ``plot_training_curve.py``; each test
reads the DOM as Chromium leaves it after running the theme's scripts
(``--dump-dom``) and keeps a screenshot of the page in
``MLPFAST_DOCS_SCREENSHOTS`` (default: ``screenshots/`` beside the HTML
folder), for a person to look at. Chromium and the built site are required:
without them the tests fail, they do not skip.

The files live in ``docs/``, not ``tests/``, so the package's own test suite
does not need a docs build.
"""
import os
import shutil
import struct
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup

import mlpfast

HTML_DIR = Path(os.environ.get(
    "MLPFAST_DOCS_HTML", Path(__file__).resolve().parent / "_build" / "html")).resolve()
SCREENSHOT_DIR = Path(os.environ.get("MLPFAST_DOCS_SCREENSHOTS", HTML_DIR.parent / "screenshots"))
WINDOW_WIDTH = 1280
# Chromium's first start on a busy 2-core machine takes a few seconds.
CHROMIUM_TIMEOUT_SECONDS = 90


def chromium_executable():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("no Chromium on PATH: apt-get install chromium")


def page_path(relative):
    path = HTML_DIR / relative
    if not path.is_file():
        pytest.fail(f"{path} does not exist: build the site first "
                    "(sphinx-build -b html docs docs/_build/html)")
    return path


def chromium(tmp_path, *arguments):
    """Run headless Chromium with a throw-away profile; its stdout."""
    command = [
        chromium_executable(), "--headless", "--disable-gpu", "--hide-scrollbars",
        # Root (as in CI) cannot use Chromium's sandbox; these pages are our own files.
        "--no-sandbox", f"--user-data-dir={tmp_path / 'profile'}",
        "--no-first-run", "--disable-extensions",
        # Lets the theme's scripts finish (navigation, colour mode) before the DOM is read.
        "--virtual-time-budget=3000", *arguments,
    ]
    completed = subprocess.run(command, capture_output=True, text=True,
                               timeout=CHROMIUM_TIMEOUT_SECONDS, check=False)
    assert completed.returncode == 0, f"{command}\n{completed.stderr[-2000:]}"
    return completed.stdout


def rendered(tmp_path, relative, screenshot_name, height):
    """The DOM of a built page after Chromium ran it, and its screenshot's path."""
    url = page_path(relative).as_uri()
    dom = BeautifulSoup(chromium(tmp_path, "--dump-dom", url), "html.parser")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    screenshot = SCREENSHOT_DIR / screenshot_name
    screenshot.unlink(missing_ok=True)
    chromium(tmp_path, f"--window-size={WINDOW_WIDTH},{height}", f"--screenshot={screenshot}", url)
    width, png_height = png_size(screenshot)
    assert (width, png_height) == (WINDOW_WIDTH, height), screenshot
    # A blank page compresses to a few KB; a rendered one with text is far larger.
    assert screenshot.stat().st_size > 30_000, f"{screenshot} looks blank"
    return dom, screenshot


def png_size(path):
    """(width, height) from a PNG's header."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def page_title(dom):
    return dom.title.get_text().split("\u2014")[0].strip()


def assert_themed(dom):
    """The theme's scripts ran: they set the colour mode on <html>."""
    assert dom.html.get("data-theme") in {"light", "dark"}, dom.html.attrs


def local_target(page, href):
    """The file a relative link of ``page`` points to."""
    return (page.parent / unquote(urlsplit(href).path)).resolve()


def test_index(tmp_path):
    dom, _ = rendered(tmp_path, "index.html", "index.png", 1000)

    assert page_title(dom) == "mlpfast"
    assert_themed(dom)
    assert dom.find("h1").get_text(strip=True).startswith("mlpfast")
    navbar = {link.get_text(strip=True): link["href"]
              for link in dom.select(".bd-header .navbar-nav a.nav-link")}
    for section in ("Getting started", "User guide", "Examples", "Benchmarks",
                    "API reference", "Changelog"):
        assert section in navbar, f"{section!r} missing from the navigation bar {navbar}"
        assert local_target(page_path("index.html"), navbar[section]).is_file(), section


def test_api_page_of_mlpclassifier(tmp_path):
    dom, _ = rendered(tmp_path, "generated/mlpfast.MLPClassifier.html",
                      "api_mlpclassifier.png", 1400)

    assert page_title(dom) == "mlpfast.MLPClassifier"
    assert_themed(dom)
    signature = dom.find(id="mlpfast.MLPClassifier")
    assert signature is not None and "MLPClassifier" in signature.get_text()
    fields = {dt.get_text(strip=True).rstrip(":"): dt.find_next_sibling("dd")
              for dt in dom.select("dl.py.class > dd > dl.field-list > dt")}
    assert {"Parameters", "Attributes"} <= set(fields), sorted(fields)
    # The parameter list names every constructor parameter, each with a type.
    documented = {strong.get_text(strip=True)
                  for strong in fields["Parameters"].select("dl > dt > strong")}
    for names in list(documented):
        documented.update(name.strip() for name in names.split(","))
    missing = set(mlpfast.MLPClassifier().get_params()) - documented
    assert not missing, f"parameters missing from the page: {sorted(missing)}"
    assert fields["Parameters"].select("dl > dt > .classifier")
    attributes = fields["Attributes"].get_text()
    for attribute in ("coefs_", "intercepts_", "loss_curve_", "validation_loss_curve_"):
        assert attribute in attributes
    # numpydoc's table of methods, each linking to its entry on the page.
    methods = dom.select("table.autosummary a")
    method_targets = {link.get_text(strip=True).split("(")[0]: link["href"] for link in methods}
    for method in ("fit", "partial_fit", "predict", "predict_proba", "score"):
        assert method in method_targets, sorted(method_targets)
        anchor = method_targets[method].split("#")[-1]
        assert dom.find(id=anchor) is not None, anchor
    assert dom.find(id="examples") or dom.find(string="Examples")


def test_gallery_example_with_its_figure(tmp_path):
    relative = "auto_examples/plot_training_curve.html"
    dom, _ = rendered(tmp_path, relative, "gallery_plot_training_curve.png", 1800)

    assert page_title(dom) == "Training curves with early stopping"
    assert_themed(dom)
    figures = dom.select("img.sphx-glr-single-img")
    assert len(figures) == 1, figures
    image = local_target(page_path(relative), figures[0]["src"])
    assert image.is_file(), image
    width, height = png_size(image)
    assert width >= 400 and height >= 300, (width, height)
    assert "training loss" in figures[0].get("alt", "")
    # What the script printed, captured by sphinx-gallery when the site was built.
    output = dom.select_one(".sphx-glr-script-out").get_text()
    assert "learning_rate_init=0.001" in output and "test accuracy" in output
    assert dom.select("div.highlight-Python, div.highlight-python3, div.highlight-default")
