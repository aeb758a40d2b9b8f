"""What the browser side needs, each missing one named in one line with its install."""

import sys

import pytest

from edgesr.errors import EdgesrError, MissingDependencyError
from edgesr.web.browser import Browser, find_tools, require_selenium


def test_missing_chromium_or_chromedriver_names_the_apt_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("EDGESR_CHROMIUM", raising=False)
    monkeypatch.delenv("EDGESR_CHROMEDRIVER", raising=False)
    with pytest.raises(MissingDependencyError, match=r"^Chromium .*not found.*apt-get install chromium chromium-driver"):
        find_tools(chromedriver="/usr/bin/chromedriver")
    assert find_tools("/opt/chromium", "/opt/chromedriver") == ("/opt/chromium", "/opt/chromedriver")


def test_missing_selenium_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "selenium", None)
    monkeypatch.setitem(sys.modules, "selenium.webdriver", None)
    with pytest.raises(MissingDependencyError, match=r"selenium is not installed.*pip install 'edgesr\[web\]'"):
        require_selenium()
    with pytest.raises(MissingDependencyError, match="selenium"):
        with Browser(None):
            pass


def test_a_closed_browser_says_how_to_open_it():
    browser = Browser(None)
    with pytest.raises(EdgesrError, match="context manager"):
        browser.call("done(1);")
    browser.close()  # closing what never opened is a no-op
