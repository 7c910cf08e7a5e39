"""Every internal link of the built site leads somewhere.

Sphinx's own checks (``-n -W``) catch the cross-references it resolves; this
one reads the HTML it wrote, so it also covers links that Markdown pages,
templates and the theme write directly: every relative ``href`` and ``src``
must name a file of the build, and every ``#fragment`` an element id of that
file. External links (http, https, mailto) are not followed: the machines that
build the site have no network.

Run after the HTML build, with ``MLPFAST_DOCS_HTML`` pointing at it (default
``docs/_build/html``).
"""
import os
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

HTML_DIR = Path(os.environ.get(
    "MLPFAST_DOCS_HTML", Path(__file__).resolve().parent / "_build" / "html")).resolve()
# Sphinx's source copies and the search page's template are not pages of the site.
SKIPPED_FOLDERS = {"_sources", "_static"}


class LinksAndIds(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()
        self.links = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("id", "name"):
            if attributes.get(name):
                self.ids.add(attributes[name])
        for name in ("href", "src"):
            value = attributes.get(name)
            if value:
                self.links.append((tag, value))


@cache
def parsed(path):
    parser = LinksAndIds()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def site_pages():
    if not (HTML_DIR / "index.html").is_file():
        pytest.fail(f"no built site in {HTML_DIR}: build it first")
    return sorted(path for path in HTML_DIR.rglob("*.html")
                  if not SKIPPED_FOLDERS & set(path.relative_to(HTML_DIR).parts))


def broken_links(page):
    problems = []
    for tag, link in parsed(page).links:
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or link.startswith(("javascript:", "data:")):
            continue
        target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if not target.exists():
            problems.append(f"<{tag}> {link}: no file {target}")
        elif parts.fragment and target.suffix == ".html" and \
                unquote(parts.fragment) not in parsed(target).ids:
            problems.append(f"<{tag}> {link}: no id {parts.fragment!r} in {target.name}")
    return problems


def test_internal_links_resolve():
    pages = site_pages()
    assert len(pages) > 20, pages
    problems = {str(page.relative_to(HTML_DIR)): broken_links(page) for page in pages}
    problems = {page: found for page, found in problems.items() if found}
    assert not problems, "\n".join(
        f"{page}: {problem}" for page, found in problems.items() for problem in found)


def test_api_reference_lists_every_public_name():
    import mlpfast

    api = HTML_DIR / "api.html"
    ids = parsed(api).ids
    links = {link for _, link in parsed(api).links}
    for name in mlpfast.__all__:
        if name.startswith("__"):
            assert f"mlpfast.{name}" in ids, name
        else:
            assert f"generated/mlpfast.{name}.html#mlpfast.{name}" in links, name
