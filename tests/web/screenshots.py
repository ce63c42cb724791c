"""The README's screenshots, from a served demo plant, at 1024x768 in headless Chromium.

    cd /tmp/webdemo            # a scratch folder: the demo's instance/ goes there
    lpms demo
    lpms jobs run-once daily_report
    lpms jobs run-once kit_snapshot
    lpms serve --demo --port 8765 &      # creates the demo users, runs the jobs process beside it
    cd -; .venv/bin/python -m tests.web.screenshots --url http://127.0.0.1:8765 --out docs/img

Each picture is a PNG of the visible 1024x768 viewport (the phone one 390x844), named
screen-<area>-<screen>.png, palette-quantised with Pillow when that is installed. Nothing it
does changes the plant: the forms it sends are refused (an over-completion, a downtime without
minutes, a CSV upload with errors).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

PASSWORDS = {"supervisor": "supervisor-demo", "planner": "planner-demo", "manager": "manager-demo",
             "admin": "admin-demo"}


def browser() -> Any:
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1024,768",
                "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1"):
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(shutil.which("chromedriver") or ""), options=opts)
    viewport(d, 1024, 768)
    d.implicitly_wait(3)
    return d


def login(d: Any, url: str, role: str) -> None:
    d.delete_all_cookies()
    d.get(url + "/login")
    d.find_element(By.NAME, "username").send_keys(role)
    d.find_element(By.NAME, "password").send_keys(PASSWORDS[role])
    d.find_element(By.CSS_SELECTOR, "form button[type=submit], form button").click()
    time.sleep(0.5)


def save(d: Any, out: Path, name: str) -> None:
    path = out / f"screen-{name}.png"
    d.save_screenshot(str(path))
    try:
        from PIL import Image  # type: ignore[import-not-found,unused-ignore]

        with Image.open(path) as img:
            img.convert("RGB").quantize(colors=128).save(path, optimize=True)
    except ImportError:
        pass
    print(f"{path}: {path.stat().st_size // 1024} KB")


def viewport(d: Any, width: int, height: int) -> None:
    """Make the page's viewport width x height (the window size includes the browser's frame)."""
    d.set_window_size(width, height)
    w, h = d.execute_script("return [window.innerWidth, window.innerHeight]")
    d.set_window_size(width + (width - w), height + (height - h))


def submit(d: Any, css: str) -> None:
    d.find_element(By.CSS_SELECTOR, css).click()
    time.sleep(0.5)


BAD_ORDERS = ("number,customer,item,quantity,due_date\nX-1,ACME,NO-SUCH-ITEM,5,2026-12-20\n"
              "X-2,ACME,MON-24,-3,2026-12-20\nX-3,ACME,MON-24,4,20.12.2026\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--work-center", default="", help="the floor queue's work center (default: the busiest)")
    args = parser.parse_args(argv)
    url, out = args.url.rstrip("/"), args.out
    out.mkdir(parents=True, exist_ok=True)
    d = browser()
    try:
        d.delete_all_cookies()
        d.get(url + "/login")
        save(d, out, "login")

        # supervisor
        login(d, url, "supervisor")
        d.get(url + "/floor/")
        save(d, out, "floor-pick")
        links = [a.get_attribute("href") for a in d.find_elements(By.CSS_SELECTOR, "a.tile")]
        wc_url = next((h for h in links if args.work_center and h.rstrip("/").endswith("/" + args.work_center)), None)
        if wc_url is None:  # the work center with the most queue rows
            best = (-1, "")
            for h in links:
                d.get(h)
                best = max(best, (len(d.find_elements(By.CSS_SELECTOR, "table.queue tbody tr")), h))
            wc_url = best[1]
        d.get(wc_url)
        save(d, out, "floor-queue")
        report = d.find_element(By.CSS_SELECTOR, "table.queue a.btn.primary").get_attribute("href")
        d.get(report)
        save(d, out, "floor-report")
        # an over-completion: refused with its reason, the typed value kept
        field = d.find_element(By.NAME, "good")
        field.clear()
        field.send_keys("999999")
        submit(d, "#report-form button[type=submit]")
        save(d, out, "floor-refused")
        d.get(wc_url.rstrip("/") + "/downtime")
        d.find_element(By.ID, "minutes").send_keys("abc")
        submit(d, "#submit-downtime")  # refused: not a number, no reason chosen
        save(d, out, "floor-downtime")
        viewport(d, 390, 844)
        d.get(wc_url)
        save(d, out, "floor-phone")
        viewport(d, 1024, 768)

        # planner
        login(d, url, "planner")
        d.get(url + "/plan/")
        save(d, out, "plan-runs")
        runs = [a.get_attribute("href") for a in d.find_elements(By.CSS_SELECTOR, "#runs a[href*='/plan/runs/']")]
        d.get(runs[0] if runs else url + "/plan/runs/1")
        save(d, out, "plan-run")
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp) / "orders.csv"
            bad.write_text(BAD_ORDERS)
            d.get(url + "/plan/demand")
            d.find_element(By.ID, "files").send_keys(str(bad))
            submit(d, "#upload-button")
        save(d, out, "plan-demand")
        d.get(url + "/plan/demand")
        order = d.find_element(By.CSS_SELECTOR, "#orders a.btn").get_attribute("href")
        d.get(order)
        save(d, out, "plan-order")
        d.get(url + "/plan/capacity")
        edit = d.find_element(By.CSS_SELECTOR, "#capacity a.btn").get_attribute("href")
        d.get(edit)
        save(d, out, "plan-capacity")
        d.get(url + "/plan/compare?a=1&b=2")
        save(d, out, "plan-compare")
        d.get(url + "/plan/pareto")
        save(d, out, "plan-pareto")
        d.get(url + "/plan/network")
        save(d, out, "plan-network")
        d.get(url + "/plan/fluctuations")
        save(d, out, "plan-fluctuations")
        d.get(url + "/plan/replans/1/2")
        save(d, out, "plan-replan")

        # manager
        login(d, url, "manager")
        d.get(url + "/report/")
        save(d, out, "manager-dashboard")
        d.get(url + "/report/archive")
        save(d, out, "manager-archive")

        # admin
        login(d, url, "admin")
        d.get(url + "/admin/")
        save(d, out, "admin-users")
        d.get(url + "/admin/jobs")
        save(d, out, "admin-jobs")
        d.get(url + "/admin/audit")
        save(d, out, "admin-audit")
        d.get(url + "/api/v1/docs")
        save(d, out, "api-docs")
    finally:
        d.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
