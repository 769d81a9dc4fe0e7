"""The HTML report in a real browser (issue 17): headless Chromium driven by Selenium through
the Debian `chromium-driver` (`.ci/run` installs both). The page loads from a file with no
network, its table has as many rows as the JSON output, typing in the filter and the filter
controls hide rows, clicking a heading sorts, the console has no error (a script blocked by the
page's Content Security Policy would be one), an address `<script>` opens no alert, and a
screenshot is produced. `python -m pytest --update-goldens` also writes the screenshot to
`docs/report.png`, the one the README shows.

Why Selenium: it types and clicks like a user through the W3C WebDriver protocol and reads the
browser console (`goog:loggingPrefs`); `chromium --dump-dom` can neither type nor click, and the
DevTools protocol would need a hand-written websocket client. Selenium Manager is never used:
the driver is the Debian one on PATH, so the test needs no network.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from checker.cli import main
from checker.reporters.html import render_inventory_html, render_ledger_html
from tests.conftest import COPILOT, HUMAN, GitRepo

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "fixtures" / "html"
CHROMIUM = next((p for p in (shutil.which(n) for n in (
    "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")) if p), None)
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Chromium and chromedriver (Debian: apt-get install chromium chromium-driver; "
           ".ci/run installs them)")

webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (test extra)")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1600,1000", "--force-device-scale-factor=1",
                "--proxy-server=http://127.0.0.1:9", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=str(DRIVER))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver: webdriver.Chrome, path: Path) -> None:
    driver.get_log("browser")  # drop what an earlier page logged
    driver.get(path.as_uri())


def visible_rows(driver: webdriver.Chrome, section: str = "identities") -> list[str]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{section} tbody tr")
    return [r.text for r in rows if r.is_displayed()]


def console_errors(driver: webdriver.Chrome) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def shown(driver: webdriver.Chrome, section: str = "identities") -> str:
    return str(driver.find_element(By.CSS_SELECTOR, f"#{section} [data-count]").text)


def test_cli_report_rows_filter_and_sort_in_chromium(
        browser: webdriver.Chrome, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = ROOT / "fixtures" / "rules"
    assert main(["inventory", str(src), "--format", "json", "--no-history"]) == 0
    rows = json.loads(capsys.readouterr().out)["identities"]
    page = tmp_path / "inventory.html"
    assert main(["inventory", str(src), "--format", "html", "--output", str(page),
                 "--no-history"]) == 0
    open_page(browser, page)
    assert len(visible_rows(browser)) == len(rows) > 100
    assert shown(browser) == f"{len(rows)} of {len(rows)} shown"

    term = "NHI303/fail"
    want = sum(term.lower() in (r["path"] + r["address"]).lower() for r in rows)
    browser.find_element(By.ID, "identities-filter").send_keys(term)
    assert len(visible_rows(browser)) == want > 0
    assert all(term in text for text in visible_rows(browser))
    browser.find_element(By.ID, "identities-filter").clear()
    browser.find_element(By.ID, "identities-filter").send_keys("\b")
    assert len(visible_rows(browser)) == len(rows)

    heading = browser.find_element(By.XPATH, "//section[@id='identities']//th[3]")
    assert heading.text == "Location"
    heading.click()
    keys = [c.get_attribute("data-sort") for c in browser.find_elements(
        By.CSS_SELECTOR, "#identities tbody tr td:nth-child(3)")]
    assert keys == sorted(keys) and keys != list(reversed(keys))
    heading.click()
    keys = [c.get_attribute("data-sort") for c in browser.find_elements(
        By.CSS_SELECTOR, "#identities tbody tr td:nth-child(3)")]
    assert keys == sorted(keys, reverse=True)
    assert heading.get_attribute("aria-sort") == "descending"
    assert console_errors(browser) == []


def test_sample_report_filters_inert_script_and_screenshot(
        browser: webdriver.Chrome, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    doc = json.loads((SAMPLES / "inventory.json").read_text())
    meta: dict[str, object] = {
        "title": "nhi-gate inventory: acme/infra", "problems": doc["problems"],
        "repository_url": "https://github.com/acme/infra",
        "commit": "4f1c2e9a7b3d5c6e8f0a1b2c3d4e5f60718293a4", "tool_version": "0.1.0"}
    page = tmp_path / "inventory.html"
    page.write_text(render_inventory_html(doc["identities"], meta), encoding="utf-8")
    open_page(browser, page)
    total = len(doc["identities"])
    assert len(visible_rows(browser)) == total
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - the address <script> did not run
    assert "<script>alert(1)</script>" in " ".join(visible_rows(browser))  # shown as text

    actor = Select(browser.find_element(By.ID, "identities-actor"))
    actor.select_by_visible_text("agent")
    assert len(visible_rows(browser)) == 6 and shown(browser) == f"6 of {total} shown"
    browser.find_element(By.ID, "identities-no-owner").click()
    assert len(visible_rows(browser)) == 4
    actor.select_by_visible_text("any")
    browser.find_element(By.ID, "identities-no-owner").click()
    expiry = Select(browser.find_element(By.ID, "identities-expiry"))
    expiry.select_by_visible_text("expired")
    expired = visible_rows(browser)
    assert len(expired) == 1 and expired[0].startswith("user aws aws_iam_user.ci ")
    expiry.select_by_visible_text("any")

    browser.find_element(By.XPATH, "//section[@id='identities']//th[7]").click()
    days = [c.get_attribute("data-sort") for c in browser.find_elements(
        By.CSS_SELECTOR, "#identities tbody tr td:nth-child(7)")]
    assert days[:3] == ["-35", "14", "25"] and days[-1] == ""
    link = browser.find_element(By.LINK_TEXT, "infra/aws/users.tf:1")
    assert link.get_attribute("href") == (
        "https://github.com/acme/infra/blob/4f1c2e9a7b3d5c6e8f0a1b2c3d4e5f60718293a4"
        "/infra/aws/users.tf#L1")
    assert console_errors(browser) == []

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1600, min(int(height) + 20, 2400))
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    browser.set_window_size(1600, 1000)
    if request.config.getoption("--update-goldens"):
        shutil.copyfile(shot, ROOT / "docs" / "report.png")


def test_ledger_report_events_filter_in_chromium(browser: webdriver.Chrome,
                                                 tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (SAMPLES / "ledger.jsonl").read_text().splitlines()]
    identities = [r for r in rows if r["table"] == "identity"]
    events = [r for r in rows if r["table"] == "event"]
    page = tmp_path / "ledger.html"
    page.write_text(render_ledger_html(identities, events, {"today": "2026-12-06"}),
                    encoding="utf-8")
    open_page(browser, page)
    assert len(visible_rows(browser)) == len(identities)
    assert len(visible_rows(browser, "events")) == len(events)
    browser.find_element(By.ID, "events-filter").send_keys("widened")
    want = sum(e["event"] == "widened" or "widened" in e["detail"] for e in events)
    assert len(visible_rows(browser, "events")) == want == 2
    assert shown(browser, "events") == f"2 of {len(events)} shown"
    assert console_errors(browser) == []


def test_cli_ledger_report_rows_equal_json_in_chromium(
        browser: webdriver.Chrome, make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    repo.commit({"iam.tf": 'resource "aws_iam_user" "ci" {\n  name = "ci"\n}\n'})
    repo.commit({"iam.tf": 'resource "aws_iam_user" "ci" {\n  name = "ci"\n}\n\n'
                 'resource "aws_iam_access_key" "ci" {\n  user = aws_iam_user.ci.name\n}\n',
                 "k8s/sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n"
                 "  name: deployer\n  namespace: ci\n"},
                author=COPILOT, message="Add a key and a service account")
    db = str(tmp_path / "ledger.sqlite")
    assert main(["ledger", str(repo.path), "--db", db, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    page = tmp_path / "out" / "ledger.html"
    page.parent.mkdir()
    assert main(["ledger", str(repo.path), "--db", db, "--format", "html",
                 "--output", str(page)]) == 0
    open_page(browser, page)
    assert len(visible_rows(browser)) == len(doc["identities"]) == 3
    assert len(visible_rows(browser, "events")) == len(doc["events"]) == 3
    Select(browser.find_element(By.ID, "identities-actor")).select_by_visible_text("agent")
    agent_made = [r for r in doc["identities"] if r["created_by"]["actor_kind"] == "agent"]
    assert len(visible_rows(browser)) == len(agent_made) == 2
    Select(browser.find_element(By.ID, "identities-actor")).select_by_visible_text("human")
    assert [t.split(" ")[2] for t in visible_rows(browser)] == ["aws_iam_user.ci"]
    link = browser.find_element(By.LINK_TEXT, "iam.tf:1")
    assert link.get_attribute("href") == (repo.path / "iam.tf").as_uri() + "#L1"
    assert console_errors(browser) == []
    assert HUMAN[0] in " ".join(
        c.get_attribute("title") or "" for c in browser.find_elements(By.CSS_SELECTOR, "td"))
