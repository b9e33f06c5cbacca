"""The staff pages in a real Chromium: sign in, My day, done, and the huddle board following the ledger."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from web_fixtures import NOW, PASSWORD, Server, make_practice, sophie

pytestmark = pytest.mark.browser

CHROMIUM, DRIVER = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver"
LATER = "2026-03-03T11:45:00-05:00"
EVEN_LATER = "2026-03-03T13:30:00-05:00"


def follows_another_process(driver, practice, now):
    """``sophie run`` in another process; the board reloads by itself within 5 seconds, showing the change."""
    before = driver.find_element(By.CSS_SELECTOR, 'meta[name="sophie-version"]').get_attribute("content")
    driver.execute_script("window.sophieNotReloaded = true;")
    ran = sophie("run", "--now", now, cwd=practice.root)
    assert ran.returncode == 0, ran.stderr
    WebDriverWait(driver, 5).until(lambda d: d.execute_script("return window.sophieNotReloaded") is None)
    WebDriverWait(driver, 5).until(lambda d: d.find_elements(By.CSS_SELECTOR, 'meta[name="sophie-version"]'))
    after = driver.find_element(By.CSS_SELECTOR, 'meta[name="sophie-version"]').get_attribute("content")
    assert after != before


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.fail("chromium and chromium-driver are needed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1100",
                 "--force-device-scale-factor=1"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Where screenshots go: $SOPHIE_SCREENSHOTS (docs/images when refreshing the docs), else a temp dir."""
    target = Path(os.environ.get("SOPHIE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    target.mkdir(parents=True, exist_ok=True)
    return target


def sign_in(driver, server, staff_id):
    driver.delete_all_cookies()
    driver.get(server.url + "/sign-in")
    driver.find_element(By.NAME, "staff_id").send_keys(staff_id)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button.primary").click()
    WebDriverWait(driver, 30).until(lambda d: d.current_url.endswith("/my-day"))


def test_sign_in_see_my_day_click_done_and_watch_the_board_follow_the_ledger(browser, shots, tmp_path):
    practice = make_practice(tmp_path)
    server = Server(practice.root)
    try:
        browser.get(server.url + "/sign-in")
        browser.save_screenshot(str(shots / "sign-in.png"))
        sign_in(browser, server, practice.person)
        assert browser.find_element(By.TAG_NAME, "h1").text == "My day"
        cards = browser.find_elements(By.CSS_SELECTOR, "section.tasks article.task")
        assert cards, "My day lists the person's tasks"
        browser.save_screenshot(str(shots / "my-day.png"))
        first = cards[0].get_attribute("data-task")
        cards[0].find_element(By.CSS_SELECTOR, "button.done").click()
        WebDriverWait(browser, 30).until(lambda d: "Task done" in d.page_source)
        remaining = [c.get_attribute("data-task") for c in browser.find_elements(By.CSS_SELECTOR, "article.task")]
        assert first not in remaining

        sign_in(browser, server, practice.manager)
        browser.get(server.url + "/huddle")
        assert browser.find_element(By.TAG_NAME, "h1").text == "Huddle board"
        WebDriverWait(browser, 10).until(lambda d: d.execute_script("return window.sophieLive") == "events")
        follows_another_process(browser, practice, LATER)  # server-sent events
        browser.save_screenshot(str(shots / "huddle.png"))

        # A browser without EventSource polls instead, and still follows within 5 seconds.
        hidden = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.EventSource;"})
        try:
            browser.get(server.url + "/huddle")
            assert browser.execute_script("return window.sophieLive") == "polling"
            follows_another_process(browser, practice, EVEN_LATER)
        finally:
            browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": hidden["identifier"]})

        browser.get(server.url + "/scorecard?since=2026-03-01&until=2026-03-03")
        assert browser.find_elements(By.CSS_SELECTOR, "svg.chart")
        browser.save_screenshot(str(shots / "scorecard.png"))
    finally:
        server.stop()
    assert NOW < LATER < EVEN_LATER
