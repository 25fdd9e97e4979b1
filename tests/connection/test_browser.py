"""`xerolink connect --no-browser` with the printed link opened in a real headless
Chromium: the consent page, Allow and Cancel, and the page xerolink's callback shows,
which must say what actually happened. Without Chromium and its driver (Debian:
chromium, chromium-driver) the browser tests are skipped with the reason; the page
outcomes are also checked over plain HTTP."""

from __future__ import annotations

import http.client
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from connection.conftest import _read_url, free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
KAURI = "Kauri Bay Trading Ltd"


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (CHROMIUM and DRIVER):
        pytest.skip("Chromium and chromedriver are not installed (Debian: apt-get install "
                    "chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage"):
        options.add_argument(argument)
    # A phone's width: headless windows are at least 500 px, so emulate the device.
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": {
        "width": 375, "height": 812, "pixelRatio": 1}})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _connect(env, base: str, *args: str) -> tuple[Any, str]:
    proc = env.start("connect", "--xero-url", base, "--no-browser", "--port",
                     str(free_port()), "--timeout", "60", *args)
    proc.seen = []  # the lines printed up to the link
    url = _read_url(proc, proc.seen)
    assert url, "connect printed no link"
    proc.waiting_line = proc.stderr.readline()  # printed right after the link, or
    if proc.waiting_line.startswith("No browser was opened"):  # after what to do then
        proc.waiting_line = proc.stderr.readline()
    return proc, url


def _title(driver: Any) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "title"))
    return str(driver.find_element(By.ID, "title").text)


def test_allow_in_a_real_browser_names_the_connected_organisation(env, sandbox, browser,
                                                                  tmp_path) -> None:
    from selenium.webdriver.common.by import By

    proc, url = _connect(env, sandbox.base_url)
    browser.get(url)
    assert "sandbox" in browser.find_element(By.CLASS_NAME, "banner").text
    assert "View and manage your invoices, bills and quotes" in browser.page_source
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 375
    browser.save_screenshot(str(tmp_path / "consent.png"))
    browser.find_element(By.CSS_SELECTOR, "button.allow").click()
    assert _title(browser) == f"Connected to {KAURI}"
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 375
    browser.save_screenshot(str(tmp_path / "connected.png"))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Waiting up to 60 s" in proc.waiting_line and "Ctrl-C cancels" in proc.waiting_line
    assert Path(tmp_path / "connected.png").stat().st_size > 0


def test_cancel_in_a_real_browser_says_cancelled_and_exits_3(env, sandbox, browser) -> None:
    from selenium.webdriver.common.by import By

    proc, url = _connect(env, sandbox.base_url)
    browser.get(url)
    browser.find_element(By.CSS_SELECTOR, "button.cancel").click()
    assert _title(browser) == "Connection cancelled"
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3 and "cancelled in Xero" in err


# -- the page's outcome over plain HTTP (no browser needed) ---------------------------------
def _callback(url: str, **params: str) -> tuple[int, str]:
    """Play the browser's redirect to xerolink's callback with these parameters."""
    query = parse_qs(urlsplit(url).query)
    redirect = urlsplit(query["redirect_uri"][0])
    conn = http.client.HTTPConnection(redirect.hostname, redirect.port, timeout=60)
    from urllib.parse import urlencode

    conn.request("GET", f"{redirect.path}?{urlencode({**params, 'state': query['state'][0]})}")
    response = conn.getresponse()
    status, body = response.status, response.read().decode()
    conn.close()
    return status, body


def test_a_bogus_code_gets_a_failure_page_and_exit_6(env, sandbox) -> None:
    proc, url = _connect(env, sandbox.base_url)
    status, body = _callback(url, code="bogus-code")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 6, err
    assert status == 400 and "Not connected" in body
    assert "refused the authorisation code" in body and "connected to Xero" not in body


def test_several_organisations_without_tenant_get_a_failure_page_and_exit_2(env, sandbox
                                                                           ) -> None:
    from xerolink.sandbox.browser import approve

    sandbox.sandbox.options.bulk_connections = True
    proc, url = _connect(env, sandbox.base_url)
    location = approve(url)  # Allow, every organisation ticked
    code = parse_qs(urlsplit(location).query)["code"][0]
    _, body = _callback(url, code=code)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "Not connected" in body and "--tenant" in body


def test_unticking_every_organisation_ends_the_wait(env, sandbox) -> None:
    import re

    from support import request

    sandbox.sandbox.options.bulk_connections = True
    proc, url = _connect(env, sandbox.base_url)
    page = request(sandbox.base_url, "GET", url.removeprefix(sandbox.base_url))[2].decode()
    request_id = re.search(r'name="request_id" value="([^"]+)"', page).group(1)
    status, headers, _ = request(sandbox.base_url, "POST", "/identity/connect/authorize",
                                 body=f"request_id={request_id}&decision=allow".encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 302
    location = headers["location"]
    assert "error=access_denied" in location
    conn = http.client.HTTPConnection(urlsplit(location).hostname, urlsplit(location).port,
                                      timeout=60)
    conn.request("GET", f"{urlsplit(location).path}?{urlsplit(location).query}")
    conn.getresponse().read()
    conn.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err


def test_the_page_says_so_while_the_terminal_asks_which_organisation(tmp_path, sandbox
                                                                    ) -> None:
    """Several organisations and a person at the terminal: the browser is told to go back
    to the terminal, which then asks; the chosen organisation is connected."""
    import os
    import threading

    from xerolink.api import Xerolink
    from xerolink.sandbox import PKCE_CLIENT_ID
    from xerolink.sandbox.browser import approve
    from xerolink.services import connection as service
    from xerolink.xero.endpoints import Endpoints
    from xerolink.xero.oauth import DEFAULT_SCOPES

    sandbox.sandbox.options.bulk_connections = True
    env = {**os.environ, "XEROLINK_HOME": str(tmp_path / "home"), "XEROLINK_USER": "alice",
           "XEROLINK_TOKEN_STORE": "file"}
    app = Xerolink(env=env)
    endpoints = Endpoints.at(sandbox.base_url)
    pages: list[str] = []

    def browser(url: str) -> None:
        def go() -> None:
            location = urlsplit(approve(url))
            conn = http.client.HTTPConnection(location.hostname, location.port, timeout=60)
            conn.request("GET", f"{location.path}?{location.query}")
            pages.append(conn.getresponse().read().decode())
            conn.close()

        threading.Thread(target=go, daemon=True).start()

    asked: list[int] = []

    def choose(tenants: list[Any]) -> Any:
        for _ in range(100):  # the page is answered before the terminal asks
            if pages:
                break
            threading.Event().wait(0.05)
        asked.append(len(tenants))
        return tenants[1]

    options = service.ConnectOptions(endpoints=endpoints, client_id=PKCE_CLIENT_ID,
                                     scopes=DEFAULT_SCOPES, port=free_port(), timeout=30)
    try:
        connected = app.connect(options, show_url=browser, choose=choose)
    finally:
        app.close()
    assert asked == [2]
    assert "Choose the organisation in your terminal" in pages[0]
    assert connected.connection.tenant_name == "Wattle & Stone Supplies Pty Ltd"


WATTLE = "Wattle & Stone Supplies Pty Ltd"


def test_allowing_the_preselected_organisation_when_tenant_names_another_says_choose_it(
        env, sandbox, browser) -> None:
    """--tenant names the second organisation; the consent page preselects the first
    and the person clicks Allow: the page (in words, not CLI text) and the terminal say
    to choose the named one on the consent page; nothing is connected."""
    from selenium.webdriver.common.by import By

    proc, url = _connect(env, sandbox.base_url, "--tenant", WATTLE)
    browser.get(url)
    checked = browser.find_element(By.CSS_SELECTOR, "input[name=tenant]:checked")
    assert checked.find_element(By.XPATH, "..").text.strip() == KAURI
    browser.find_element(By.CSS_SELECTOR, "button.allow").click()
    assert _title(browser) == f"Choose {WATTLE} on the consent page"
    message = browser.find_element(By.ID, "message").text
    assert f"access to {KAURI}, not {WATTLE}" in message and f"choose {WATTLE}" in message
    assert "--tenant" not in message and "xerolink connect" not in message
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 375
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert f"choose {WATTLE} on Xero's consent page" in err
    assert f"On Xero's consent page, choose {WATTLE}" in "".join(proc.seen)
    assert env.run("status", "--offline").returncode == 3, "nothing was connected"


def test_the_tenant_mismatch_page_over_plain_http(env, sandbox) -> None:
    from xerolink.sandbox.browser import approve

    proc, url = _connect(env, sandbox.base_url, "--tenant", WATTLE)
    location = approve(url)  # Allow, with the page's preselected organisation
    code = parse_qs(urlsplit(location).query)["code"][0]
    status, body = _callback(url, code=code)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert status == 400 and f"Choose {WATTLE.replace('&', '&amp;')} on the consent page" in body
    assert "--tenant" not in body and "no organisation matches" not in body
    assert f"choose {WATTLE} on Xero's consent page" in err
