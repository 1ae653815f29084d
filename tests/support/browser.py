"""A headless Chromium for the real-browser tests: Debian's chromium and chromedriver (make browser-deps)."""

import os
import shutil

import pytest


def chrome(window: str = "1280,1600"):
    """A started browser, or a skip (a failure on CI, which installs them) when Chromium is missing."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        reason = "Debian's chromium and chromium-driver are not installed (make browser-deps)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs them; missing there is a broken set-up, not a skip
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # The flags that keep a root, headless Chromium off the network and quiet on this machine.
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={window}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP violations land in the console log
    browser = webdriver.Chrome(service=Service(driver), options=options)
    browser.implicitly_wait(5)
    # A page that never finishes loading fails the test instead of holding it.
    browser.set_page_load_timeout(20)
    return browser
