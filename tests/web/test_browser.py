"""Browser tests in a real headless Chromium (Debian's chromium + chromium-driver, driven by
Selenium) at tablet size 1024x768, against the app served by werkzeug's threaded server in a thread. Screenshots
of each main screen go to test-artifacts/screens/. Skipped only when Chromium is missing and
CI is not set (CI=true fails instead)."""
from __future__ import annotations

import io
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lpms.services import work_orders
from lpms.services.plan_runs import execute_plan_run
from tests.web.conftest import NOW, PASSWORD, Plant, build_plant
from web.context import options

SCREENS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

if not (CHROMIUM and DRIVER):
    if os.environ.get("CI"):
        raise RuntimeError("CI: chromium and chromium-driver are required for the browser tests (apt-get install "
                           "chromium chromium-driver)")
    pytest.skip("chromium / chromedriver not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def live(db_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Plant, str]]:
    from werkzeug.serving import make_server

    p = build_plant(db_factory, tmp_path_factory.mktemp("browser"))
    server = make_server("127.0.0.1", 0, p.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield p, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    p.database.dispose()


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1024,768",
                "--disable-gpu", "--hide-scrollbars"):
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(DRIVER or ""), options=opts)
    d.set_window_size(1024, 768)
    d.implicitly_wait(3)
    yield d
    d.quit()


def shot(d: Any, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    d.save_screenshot(str(SCREENS / f"{name}.png"))


def click_and_load(d: Any, by: str, value: str) -> None:
    """Click what submits a form or follows a link and wait until the next page has loaded (a
    mark set on this page's window is gone; Chromium's staleness answers are not reliable
    during a navigation)."""
    d.execute_script("window.lpmsOldPage = true;")
    d.find_element(by, value).click()
    WebDriverWait(d, 20, ignored_exceptions=(WebDriverException,)).until(lambda drv: drv.execute_script(
        "return !window.lpmsOldPage && document.readyState === 'complete';"))


def login(d: Any, base: str, user: str) -> None:
    d.delete_all_cookies()
    d.get(base + "/login")
    d.find_element(By.ID, "username").send_keys(user)
    d.find_element(By.ID, "password").send_keys(PASSWORD[user])
    click_and_load(d, By.ID, "login-button")
    assert "/login" not in d.current_url, d.page_source[:500]


def test_every_role_logs_in_to_its_start_page(live: tuple[Plant, str], driver: Any) -> None:
    _, base = live
    driver.get(base + "/login")
    shot(driver, "login")
    for role, path in (("supervisor", "/floor/"), ("planner", "/plan/"), ("manager", "/report/"),
                       ("admin", "/admin/")):
        login(driver, base, role)
        assert driver.current_url.endswith(path)
        assert f"{role} · {role}" in driver.find_element(By.CLASS_NAME, "who").text


def _remaining(driver: Any, number: str, seq: int) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, f"#row-{number}-{seq} .remaining").text)


def test_supervisor_reports_good_and_scrap_once_and_sees_over_completion_refused(live: tuple[Plant, str],
                                                                                   driver: Any) -> None:
    plant, base = live
    wo = next(w for w in work_orders.list_work_orders(plant.uow())
              if w.status.value == "released" and not w.components and w.quantity >= 5)
    op = wo.operations[0]
    login(driver, base, "supervisor")
    shot(driver, "screen-floor-pick")
    click_and_load(driver, By.CSS_SELECTOR, f'a.tile[href="/floor/{op.work_center}"]')
    before = _remaining(driver, wo.number, op.seq)
    shot(driver, "screen-floor-queue")
    click_and_load(driver, By.CSS_SELECTOR, f"#row-{wo.number}-{op.seq} a.btn")
    for key in "3":
        driver.find_element(By.CSS_SELECTOR, f'.key[data-key="{key}"]').click()
    driver.find_element(By.ID, "scrap").click()
    driver.find_element(By.CSS_SELECTOR, '.key[data-key="1"]').click()
    assert driver.find_element(By.ID, "good").get_attribute("value") == "3"
    shot(driver, "screen-floor-report")
    key = driver.find_element(By.NAME, "client_key").get_attribute("value")
    report_url = driver.current_url
    click_and_load(driver, By.ID, "submit-report")
    assert "Recorded" in driver.page_source
    after = _remaining(driver, wo.number, op.seq)
    assert float(after) == float(before) - 4
    # the same form sent a second time (a double tap after the page was resent): counted once
    driver.get(report_url)
    driver.execute_script("document.getElementsByName('client_key')[0].value = arguments[0];", key)
    driver.find_element(By.ID, "good").send_keys("3")
    driver.find_element(By.ID, "scrap").send_keys("1")
    click_and_load(driver, By.ID, "submit-report")
    assert "Already recorded" in driver.page_source
    assert _remaining(driver, wo.number, op.seq) == after
    # over-completion: refused, the reason shown, what was typed kept
    driver.get(report_url)
    driver.find_element(By.ID, "good").send_keys("99999")
    click_and_load(driver, By.ID, "submit-report")
    error = driver.find_element(By.ID, "report-error").text
    assert "over-completion" in error and wo.number in error
    assert driver.find_element(By.ID, "good").get_attribute("value") == "99999"
    shot(driver, "screen-floor-refused")
    # touch targets: every button and link of the keypad and form is at least 44 px high
    for el in driver.find_elements(By.CSS_SELECTOR, ".keypad .key, .actions .btn"):
        assert el.size["height"] >= 44
    driver.get(base + f"/floor/{op.work_center}/downtime")
    driver.find_element(By.ID, "minutes").send_keys("20")
    Select(driver.find_element(By.ID, "reason")).select_by_visible_text("Breakdown")
    shot(driver, "screen-floor-downtime")
    click_and_load(driver, By.ID, "submit-downtime")
    assert "down 20 min" in driver.page_source


def test_planner_upload_run_compare_pareto_network_approve_release(live: tuple[Plant, str], driver: Any,
                                                                    tmp_path: Path) -> None:
    plant, base = live
    login(driver, base, "planner")
    bad = tmp_path / "orders.csv"
    bad.write_text("number,customer,item,quantity,due_date\nB-1,ACME,NO-SUCH,5,2026-12-20\nB-2,ACME,MON-24,x,2026-12-20\n")
    driver.get(base + "/plan/demand")
    driver.find_element(By.ID, "files").send_keys(str(bad))
    click_and_load(driver, By.ID, "upload-button")
    problems = driver.find_element(By.ID, "upload-problems").text
    assert "orders.csv:2" in problems and "orders.csv:3" in problems
    shot(driver, "screen-plan-upload-errors")
    good = tmp_path / "good" / "orders.csv"
    good.parent.mkdir()
    good.write_text("number,customer,item,quantity,due_date\nB-9,ACME,MON-24,5,2026-12-20\n")
    driver.find_element(By.ID, "files").send_keys(str(good))
    click_and_load(driver, By.ID, "upload-button")
    assert "Imported" in driver.page_source and "B-9" in driver.page_source
    shot(driver, "screen-plan-demand")
    # start a run; the jobs process would execute it: here the test does what the job does
    driver.get(base + "/plan/")
    driver.find_element(By.ID, "inventory").clear()
    driver.find_element(By.ID, "inventory").send_keys("5")
    click_and_load(driver, By.ID, "start-run-button")
    assert driver.find_element(By.ID, "run-status").text == "queued"
    run_id = int(driver.current_url.rstrip("/").rsplit("/", 1)[1])
    with plant.app.app_context():
        execute_plan_run(plant.uow(), run_id, options=options(), now=NOW)
    # the page refreshes itself while the run is queued or running (an element read during a
    # refresh is stale: read it again)
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.find_element(By.ID, "run-status").text == "succeeded")
    shot(driver, "screen-plan-run")
    driver.get(base + f"/plan/compare?a={plant.run_id}&b={run_id}")
    assert driver.find_element(By.ID, "compare-objectives").is_displayed()
    assert driver.find_elements(By.CSS_SELECTOR, "#compare-items tbody tr")  # the per-item changes
    assert driver.find_element(By.ID, "units-moved").text
    shot(driver, "screen-plan-compare")
    driver.get(base + "/plan/pareto?x=late&y=inventory")
    shot(driver, "screen-plan-pareto")
    click_and_load(driver, By.CSS_SELECTOR, f'#pareto a.point[href="/plan/runs/{run_id}"]')
    assert driver.current_url.endswith(f"/plan/runs/{run_id}")
    driver.get(base + "/plan/network")
    assert driver.find_element(By.CSS_SELECTOR, "#network svg").is_displayed()
    shot(driver, "screen-plan-network")
    driver.get(base + f"/plan/runs/{run_id}")
    click_and_load(driver, By.ID, "approve-button")
    assert f"Plan run {run_id} approved" in driver.page_source
    fence = driver.find_element(By.ID, "fence")
    fence.clear()
    fence.send_keys("3")
    click_and_load(driver, By.ID, "release-button")
    assert f"Released run {run_id}" in driver.page_source


def test_manager_sees_the_kit_rate_history_chart(live: tuple[Plant, str], driver: Any) -> None:
    plant, base = live
    from lpms.services import progress

    progress.record_kit_snapshot(plant.uow(), actor="test", now=NOW)
    login(driver, base, "manager")
    driver.get(base + "/report/")
    assert driver.find_element(By.CSS_SELECTOR, "#kit-chart svg").is_displayed()
    assert driver.find_elements(By.CSS_SELECTOR, "#kit-history tbody tr")
    shot(driver, "screen-manager-dashboard")


def test_admin_runs_a_job_now_and_sees_its_run(live: tuple[Plant, str], driver: Any) -> None:
    plant, base = live
    from jobs.runner import JobRunner

    login(driver, base, "admin")
    driver.get(base + "/admin/jobs")
    click_and_load(driver, By.ID, "run-kit_snapshot")
    assert "Job kit_snapshot requested" in driver.page_source
    JobRunner(plant.database, plant.settings, clock_fn=lambda: NOW).run_requests()  # what the jobs process does
    driver.get(base + "/admin/jobs")
    runs = driver.find_element(By.ID, "job-runs").text
    assert "kit_snapshot" in runs
    shot(driver, "screen-admin-jobs")
    driver.get(base + "/admin/")
    shot(driver, "screen-admin-users")
    driver.get(base + "/admin/audit")
    shot(driver, "screen-admin-audit")


def test_phone_width_keeps_the_report_form_usable(live: tuple[Plant, str], driver: Any) -> None:
    _, base = live
    login(driver, base, "supervisor")
    driver.set_window_size(390, 844)
    try:
        driver.get(base + "/floor/")
        click_and_load(driver, By.CSS_SELECTOR, ".tile")
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 420
        # each queue cell says what it is (the table header is hidden at this width)
        cell = driver.find_element(By.CSS_SELECTOR, "table.queue td[data-label='Remaining']")
        label = driver.execute_script("return getComputedStyle(arguments[0], '::before').content;", cell)
        assert label == '"Remaining"' and cell.size["width"] < 200
        shot(driver, "phone-floor-queue")
    finally:
        driver.set_window_size(1024, 768)


_ = io
