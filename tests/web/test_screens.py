"""The screens through the Flask test client: supervisor reports, planner demand/plan runs/
approve/release, management dashboard, admin users/tokens/audit."""
from __future__ import annotations

import io
import re

from lpms.planning.solver import SolverOptions
from lpms.services import work_orders
from lpms.services.plan_runs import execute_plan_run
from tests.web.conftest import NOW, Client, Plant
from web.context import options


def _first_open_operation(plant: Plant) -> tuple[str, str, int]:
    for wo in work_orders.list_work_orders(plant.uow()):
        if wo.status.value == "released" and wo.operations and not wo.components:
            op = wo.operations[0]
            return op.work_center, wo.number, op.seq
    raise AssertionError("the demo plant released no work order without a kit")


def _key(html: str) -> str:
    match = re.search(r'name="client_key" type="hidden" value="([^"]+)"', html) or \
        re.search(r'id="client_key" name="client_key" type="hidden" value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1)


def test_supervisor_picks_a_work_center_and_reports_once_per_key(plant: Plant) -> None:
    sup = Client(plant.app, "supervisor")
    wc, number, seq = _first_open_operation(plant)
    assert wc in sup.text("/floor/")
    queue = sup.text(f"/floor/{wc}")
    assert number in queue and "Levelled sequence" in queue
    form = sup.text(f"/floor/{wc}/report/{number}/{seq}")
    key = _key(form)
    before = work_orders.get_work_order(plant.uow(), number)
    done = sup.post(f"/floor/{wc}/report/{number}/{seq}", {"good": "2", "scrap": "1", "client_key": key},
                    follow_redirects=True)
    assert done.status_code == 200
    text = done.get_data(as_text=True)
    assert "Recorded" in text and "Remaining at this operation" in text
    # the same form sent again (double tap): recorded once
    again = sup.post(f"/floor/{wc}/report/{number}/{seq}", {"good": "2", "scrap": "1", "client_key": key},
                     follow_redirects=True)
    assert "Already recorded" in again.get_data(as_text=True)
    after = work_orders.get_work_order(plant.uow(), number)
    op_before = next(o for o in before.operations if o.seq == seq)
    op_after = next(o for o in after.operations if o.seq == seq)
    assert (op_after.good, op_after.scrap) == (op_before.good + 2, op_before.scrap + 1)


def test_over_completion_is_refused_with_its_reason_and_keeps_the_typed_values(plant: Plant) -> None:
    sup = Client(plant.app, "supervisor")
    wc, number, seq = _first_open_operation(plant)
    key = _key(sup.text(f"/floor/{wc}/report/{number}/{seq}"))
    response = sup.post(f"/floor/{wc}/report/{number}/{seq}", {"good": "99999", "scrap": "0", "client_key": key})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert 'id="report-error"' in text and "99999" in text
    assert f'value="{key}"' in text  # the form keeps its key and the typed quantity
    bad = sup.post(f"/floor/{wc}/report/{number}/{seq}", {"good": "-1", "client_key": key})
    assert bad.status_code == 400 and "Good: must be 0 or more" in bad.get_data(as_text=True)
    # text that is not a number: one message saying what to type, the text kept
    typed = sup.post(f"/floor/{wc}/report/{number}/{seq}", {"good": "1,5", "scrap": "x", "client_key": key})
    page = typed.get_data(as_text=True).replace("&#39;", "'")
    assert typed.status_code == 400
    assert "Good: '1,5' is not a number: enter a number such as 12 or 2.5 (a dot for decimals)" in page
    assert "Scrap: 'x' is not a number" in page and "float" not in page and page.count('class="field-error"') == 2
    huge = sup.post(f"/floor/{wc}/report/{number}/{seq}", {"good": "1e309", "client_key": key})
    assert "Good: &#39;1e309&#39; is too large" in huge.get_data(as_text=True)
    assert 'value="1,5"' in page
    # an operation of another work center is not reported here
    other = next(w for w in ("FA", "SMT", "TEST", "PACK", "BLA") if w != wc)
    assert sup.get(f"/floor/{other}/report/{number}/{seq}").status_code == 404


def test_downtime_is_reported_with_a_reason_from_the_list(plant: Plant) -> None:
    sup = Client(plant.app, "supervisor")
    wc, _, _ = _first_open_operation(plant)
    key = _key(sup.text(f"/floor/{wc}/downtime"))
    done = sup.post(f"/floor/{wc}/downtime", {"minutes": "30", "reason": "Breakdown", "client_key": key},
                    follow_redirects=True)
    assert "Recorded" in done.get_data(as_text=True) and "Breakdown" in done.get_data(as_text=True)
    wrong = sup.post(f"/floor/{wc}/downtime", {"minutes": "30", "reason": "Bored", "client_key": key + "x"})
    assert wrong.status_code == 400 and "Not a valid choice" in wrong.get_data(as_text=True)
    unchosen = sup.post(f"/floor/{wc}/downtime", {"minutes": "abc", "reason": "", "client_key": key + "y"})
    page = unchosen.get_data(as_text=True).replace("&#39;", "'")
    assert unchosen.status_code == 400 and "Reason: choose a reason from the list" in page
    assert "Minutes lost: 'abc' is not a number" in page and "1 or more" not in page
    assert sup.get("/floor/NOPE/downtime").status_code == 404


def test_planner_upload_lists_every_row_error_and_changes_nothing_then_imports(plant: Plant) -> None:
    planner = Client(plant.app, "planner")
    before = planner.text("/plan/demand")
    bad = ("number,customer,item,quantity,due_date\nZZ-1,ACME,NO-SUCH-ITEM,5,2026-12-20\n"
           "ZZ-2,ACME,MON-24,-3,2026-12-20\nZZ-3,ACME,MON-24,4,not-a-date\n")
    response = planner.post("/plan/upload", {"files": (io.BytesIO(bad.encode()), "orders.csv")},
                            content_type="multipart/form-data")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "orders.csv:2" in text and "orders.csv:3" in text and "orders.csv:4" in text
    assert "ZZ-" not in before and "ZZ-1" not in planner.text("/plan/demand")
    good = "number,customer,item,quantity,due_date\nZZ-9,ACME,MON-24,5,2026-12-20\n"
    ok = planner.post("/plan/upload", {"files": (io.BytesIO(good.encode()), "orders.csv")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "Imported" in ok.get_data(as_text=True) and "ZZ-9" in planner.text("/plan/demand")
    # change on the order's page: it shows the order's values; wrong input keeps what was typed
    page = planner.text("/plan/orders/ZZ-9")
    assert 'value="ACME"' in page and 'value="5"' in page and 'value="2026-12-20"' in page
    wrong = planner.post("/plan/orders/ZZ-9", {"customer": "ACME", "quantity": "-2", "due_date": "20.12.2026"})
    text = wrong.get_data(as_text=True).replace("&#39;", "'")
    assert wrong.status_code == 400 and "Quantity: must be more than 0" in text
    assert "Due date: '20.12.2026' is not a date: enter it as YYYY-MM-DD" in text and 'value="-2"' in text
    unknown_item = planner.post("/plan/orders", {"number": "ZZ-8", "customer": "ACME", "item": "NOPE", "quantity": "3",
                                                 "due_date": "2026-12-20"})
    text = unknown_item.get_data(as_text=True)
    assert unknown_item.status_code == 400 and 'id="order-problems"' in text and "NOPE" in text
    assert "Item: unknown item &#39;NOPE&#39;" in text and "order:2" not in text  # the field, not the CSV line
    assert 'value="ZZ-8"' in text  # the add form keeps what was typed
    planner.post("/plan/orders/ZZ-9", {"customer": "ACME", "quantity": "7", "due_date": "2026-12-20", "priority": "2"})
    assert re.search(r"ZZ-9</td><td>ACME</td><td>MON-24</td><td class=\"num\">7<", planner.text("/plan/demand"))
    # cancelling needs the confirmation box
    unconfirmed = planner.post("/plan/orders/ZZ-9/cancel", {})
    assert unconfirmed.status_code == 400 and "tick the box to confirm" in unconfirmed.get_data(as_text=True)
    assert "open" in planner.text("/plan/demand").split("ZZ-9")[1][:200]
    planner.post("/plan/orders/ZZ-9/cancel", {"confirm": "y"})
    assert "cancelled" in planner.text("/plan/demand").split("ZZ-9")[1][:200]
    assert "cannot be changed" in planner.text("/plan/orders/ZZ-9")
    assert planner.get("/plan/orders/NOPE-1").status_code == 404


def test_capacity_edit_is_validated_like_the_importer(plant: Plant) -> None:
    planner = Client(plant.app, "planner")
    page = planner.text("/plan/capacity")
    wc = re.search(r'<option value="([^"]+)"', page).group(1)
    planner.post("/plan/capacity", {"work_center": wc, "period": "3", "regular_min": "1234", "overtime_min": "56"})
    assert "1,234" in planner.text(f"/plan/capacity?wc={wc}")
    prefilled = planner.text(f"/plan/capacity?wc={wc}&period=3")  # a row's Edit link fills the form
    form = prefilled.split('id="capacity-form"')[1].split("</form>")[0]
    assert 'value="1234"' in form and 'value="56"' in form and re.search(r'name="period"[^>]*value="3"', form)
    response = planner.post("/plan/capacity", {"work_center": "NOPE", "period": "3", "regular_min": "10"})
    assert response.status_code == 400
    assert "NOPE" in response.get_data(as_text=True)  # the importer's message names the unknown work center
    typo = planner.post("/plan/capacity", {"work_center": wc, "period": "three", "regular_min": "10", "overtime_min": "-1"})
    text = typo.get_data(as_text=True).replace("&#39;", "'")
    assert typo.status_code == 400 and "Period: 'three' is not a whole number" in text
    assert "Overtime minutes: must be 0 or more" in text and 'value="three"' in text


def test_plan_run_queued_solved_compared_approved_and_released(plant: Plant) -> None:
    planner = Client(plant.app, "planner")
    response = planner.post("/plan/runs", {"mode": "weighted", "late": "100", "balance": "0", "inventory": "5",
                                           "overtime": "1"})
    assert response.status_code == 302
    run_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = planner.text(f"/plan/runs/{run_id}")
    assert "queued" in page and 'http-equiv="refresh"' in page
    with plant.app.app_context():
        execute_plan_run(plant.uow(), run_id, options=options(), now=NOW)
    page = planner.text(f"/plan/runs/{run_id}")
    assert "succeeded" in page and "<svg" in page and 'id="plan-table"' in page and 'id="levelled"' in page
    assert planner.get(f"/plan/runs/{run_id}/load.csv").get_data(as_text=True).startswith("work_center,period")
    compare = planner.text(f"/plan/compare?a={plant.run_id}&b={run_id}")
    assert "units moved" in compare and 'id="compare-objectives"' in compare and 'id="compare-items"' in compare
    pareto = planner.text("/plan/pareto?x=late&y=inventory")
    assert f'href="/plan/runs/{run_id}"' in pareto and "<svg" in pareto
    assert "<svg" in planner.text("/plan/network")
    approved = planner.post(f"/plan/runs/{run_id}/approve", {}, follow_redirects=True)
    assert f"Plan run {run_id} approved" in approved.get_data(as_text=True)
    released = planner.post("/plan/release", {"fence": "3", "back_run": str(run_id)}, follow_redirects=True)
    assert f"Released run {run_id}" in released.get_data(as_text=True)


def test_compare_screen_shows_the_replan_diff_objectives_and_items(plant: Plant) -> None:
    from lpms.bootstrap import solver_options
    from lpms.domain.values import Costs
    from lpms.services import replan, views_plan
    from lpms.services.plan_runs import PlanRequest, run_plan

    other = run_plan(plant.uow(), PlanRequest(costs=Costs(late=1, balance=1, inventory=50, overtime=20)),
                     options=solver_options(plant.settings), actor="test", now=NOW).run_id
    manager = Client(plant.app, "manager")
    page = manager.text(f"/plan/compare?a={plant.run_id}&b={other}")
    diff = replan.plan_diff(plant.uow(), plant.run_id, other)
    assert diff.units_moved > 0
    assert f'id="units-moved">{diff.units_moved:,.0f}<' in page
    for row in diff.largest(3):
        assert f"<td>{row.interval}</td>" in page
    objectives = page.split('id="compare-objectives"')[1].split("</table>")[0]
    for name in ("late", "inventory", "overtime", "balance"):
        assert f"<td>{name}</td>" in objectives
    c = views_plan.compare_runs(plant.uow(), plant.run_id, other)
    items = page.split('id="compare-items"')[1].split("</table>")[0]
    assert items.count("<tr>") == len(c["items"]) + 1  # the header row and one per item
    top = c["items"][0]
    assert f"<td>{top['item']}</td><td>{top['interval']}</td>" in items
    # the re-plan changes page shows the same diff
    assert f'id="units-moved">{diff.units_moved:,.0f}<' in manager.text(f"/plan/replans/{plant.run_id}/{other}")
    # wrong input: one run only, an unknown run
    one = manager.get(f"/plan/compare?a={plant.run_id}")
    assert one.status_code == 400 and "Choose two plan runs" in one.get_data(as_text=True)
    unknown = manager.get(f"/plan/compare?a={plant.run_id}&b=999999")
    assert unknown.status_code == 404 and "plan run 999999" in unknown.get_data(as_text=True)
    assert Client(plant.app, "supervisor").get(f"/plan/compare?a={plant.run_id}&b={other}").status_code == 403


def test_manager_dashboard_and_admin_screens(plant: Plant) -> None:
    manager = Client(plant.app, "manager")
    dash = manager.text("/report/")
    assert "KPI dashboard" in dash and 'id="wo-status"' in dash
    for table in ("progress-wc", "progress-iv", "buffers", "overtime", "kit-history"):
        assert f'id="{table}"' in dash
    manager.text("/report/archive")
    admin = Client(plant.app, "admin")
    admin.post("/admin/users", {"username": "carla", "role": "supervisor", "password": "carla-password"})
    page = admin.post("/admin/users/carla/tokens", {"name": "scanner"}).get_data(as_text=True)
    token = re.search(r'id="new-token">([^<]+)<', page).group(1)
    assert plant.app.test_client().get("/api/v1/work-orders",
                                       headers={"Authorization": f"Bearer {token}"}).status_code == 200
    audit = admin.text("/admin/audit?entity=user")
    assert "carla" in audit and "admin" in audit
    assert "create_token" in admin.text("/admin/audit?action=create_token")
    admin.text("/admin/jobs")


def test_fluctuations_page_describes_stored_events_and_replans(plant: Plant) -> None:
    import datetime as dt

    from lpms import bootstrap
    from lpms.services import fluctuations, replan
    from lpms.services.reports import report_downtime

    wc, _number, _seq = _first_open_operation(plant)
    later = NOW + dt.timedelta(days=1)
    report_downtime(plant.uow(), wc, 600, "breakdown", client_key="fl-down", actor="test", now=later)
    detection = fluctuations.detect_fluctuations(plant.uow(), thresholds=bootstrap.fluctuation_thresholds(plant.settings),
                                                 actor="test", now=later)
    assert detection.findings
    page = Client(plant.app, "planner").text("/plan/fluctuations")
    for f in detection.findings:
        assert fluctuations.describe(f).split(" (")[0] in page.replace("&#39;", "'")
    assert "{&#39;" not in page and "{'" not in page  # no raw detail dicts
    result = replan.replan(plant.uow(), reason="test re-plan", policy=bootstrap.replan_policy(plant.settings),
                           options=options_for(plant), actor="test", now=later)
    page = Client(plant.app, "planner").text("/plan/fluctuations")
    assert "test re-plan" in page and f"/plan/replans/{result.previous_run_id}/{result.run_id}" in page
    replan_row = page.split("test re-plan")[0].rsplit("<tr>", 1)[1]
    assert f'<span class="badge {result.status.value}"' in replan_row  # the re-plan's run status
    diff_page = Client(plant.app, "manager").text(f"/plan/replans/{result.previous_run_id}/{result.run_id}")
    assert result.previous_run_id is not None
    diff = replan.plan_diff(plant.uow(), result.previous_run_id, result.run_id)
    assert f'id="units-moved">{diff.units_moved:,.0f}' in diff_page
    for row in diff.largest(3):
        assert row.interval in diff_page


def options_for(plant: Plant) -> SolverOptions:
    from lpms.bootstrap import solver_options

    return solver_options(plant.settings)


def test_daily_report_archive_shows_a_stored_report(plant: Plant) -> None:
    from lpms.services import jobs

    before = {r.id for r in jobs.list_reports(plant.uow())}
    from lpms.services.progress import build_daily_report, daily_report_dict

    report = build_daily_report(plant.uow(), now=NOW, timezone=plant.settings.timezone)
    jobs.store_daily_report(plant.uow(), daily_report_dict(report), directory=plant.settings.instance_dir / "reports",
                            timezone=plant.settings.timezone, actor="test", now=NOW)
    reports = [r for r in jobs.list_reports(plant.uow()) if r.id not in before]
    assert reports
    manager = Client(plant.app, "manager")
    archive = manager.text("/report/archive")
    assert f"/report/archive/{reports[0].id}" in archive
    page = manager.get(f"/report/archive/{reports[0].id}")
    data, status = page.data, page.status_code
    page.close()
    assert status == 200 and b"<html" in data.lower()


def test_levelled_lots_are_compact_and_keep_every_unit() -> None:
    from lpms.services.views import levelled_lots

    lots = levelled_lots({"A": 370, "B": 150, "C": 60, "D": 24})
    assert len(lots) <= 30
    totals: dict[str, float] = {}
    for item, units in lots:
        totals[item] = totals.get(item, 0) + units
    assert totals == {"A": 370, "B": 150, "C": 60, "D": 24}
    assert all(a[0] != b[0] for a, b in zip(lots, lots[1:]))  # neighbouring lots merged
    assert levelled_lots({"A": 3, "B": 1}) == (("A", 2.0), ("B", 1.0), ("A", 1.0))
    assert levelled_lots({}) == ()


def test_quantities_keep_their_integer_zeros() -> None:
    from web import _qty

    assert (_qty(700, 0), _qty(20.0, 0), _qty(2.5), _qty(3.0), _qty(-0.0, 0)) == ("700", "20", "2.5", "3", "0")


def test_replan_now_asks_the_jobs_process_and_the_page_waits_for_it(plant: Plant) -> None:
    from jobs.runner import JobRunner
    from lpms.services import jobs, replan

    planner = Client(plant.app, "planner")
    before = {r.id for r in replan.list_replans(plant.uow())}
    done = planner.post("/plan/replan", {}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "Re-plan requested" in text and 'id="replan-pending"' in text and 'http-equiv="refresh"' in text
    assert {r.id for r in replan.list_replans(plant.uow())} == before  # nothing solved in the request
    requests = [r for r in jobs.list_job_requests(plant.uow()) if r.job_id == "rolling_replan"]
    assert requests and requests[0].requested_by == "web:planner"
    JobRunner(plant.database, plant.settings, clock_fn=lambda: NOW).run_requests()  # what the jobs process does
    page = planner.text("/plan/fluctuations")
    assert 'id="replan-pending"' not in page and 'http-equiv="refresh"' not in page
    assert len(replan.list_replans(plant.uow())) == len(before) + 1


def test_start_run_with_wrong_input_keeps_what_was_typed(plant: Plant) -> None:
    planner = Client(plant.app, "planner")
    bad = planner.post("/plan/runs", {"mode": "weighted", "late": "lots", "balance": "-1", "inventory": "5",
                                      "overtime": "1"})
    text = bad.get_data(as_text=True).replace("&#39;", "'")
    assert bad.status_code == 400 and 'id="run-problems"' in text
    assert "Late cost (per unit and period): 'lots' is not a number" in text
    assert "Balance cost: must be between 0 and 1,000,000,000" in text and 'value="lots"' in text
    prio = planner.post("/plan/runs", {"mode": "priority", "priority": "late, cheap"})
    assert prio.status_code == 400 and "cheap not one of" in prio.get_data(as_text=True)


def test_a_role_that_may_not_use_a_page_is_told_which_roles_may(plant: Plant) -> None:
    response = Client(plant.app, "supervisor").get("/plan/")
    assert response.status_code == 403
    assert "This is for the planner role (and admin); your role is supervisor." in response.get_data(as_text=True)
    admin_only = Client(plant.app, "manager").get("/admin/")
    assert admin_only.status_code == 403
    assert "This is for the admin role; your role is manager." in admin_only.get_data(as_text=True)
    api = plant.app.test_client().get("/api/v1/orders", headers={"Authorization": f"Bearer {plant.tokens['supervisor']}"})
    assert api.status_code == 403 and "manager and planner roles" in api.json["error"]["message"]


def test_admin_add_user_with_wrong_input_keeps_what_was_typed(plant: Plant) -> None:
    admin = Client(plant.app, "admin")
    bad = admin.post("/admin/users", {"username": "new user!", "display_name": "New", "role": "planner",
                                      "password": "longenough1"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'id="add-user-problems"' in text and 'value="new user!"' in text
    short = admin.post("/admin/users", {"username": "newuser", "role": "planner", "password": "short"})
    assert short.status_code == 400 and "Password: Field must be between 8 and 256 characters long." in \
        short.get_data(as_text=True)


def test_queue_and_report_say_how_much_the_previous_operation_has_delivered(plant: Plant) -> None:
    from lpms.services import views_floor

    wo = next(w for w in work_orders.list_work_orders(plant.uow())
              if w.status.value == "released" and len(w.operations) > 1 and w.operations[0].good == 0)
    second = wo.operations[1]
    v = views_floor.operation_view(plant.uow(), wo.number, second.seq)
    assert v.ready == 0 and v.previous == wo.operations[0].seq and v.remaining == wo.quantity
    page = Client(plant.app, "supervisor").text(f"/floor/{second.work_center}/report/{wo.number}/{second.seq}")
    assert 'id="ready">0<' in page and 'id="ready-note"' in page


def test_a_plan_run_can_ask_for_a_minimum_interval_lead(plant: Plant) -> None:
    planner = Client(plant.app, "planner")
    assert 'id="min_interval_lead"' in planner.text("/plan/")
    response = planner.post("/plan/runs", {"mode": "weighted", "late": "100", "balance": "0", "inventory": "1",
                                           "overtime": "1", "min_interval_lead": "1"})
    assert response.status_code == 302
    run_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with plant.uow() as uow:
        assert uow.plan_runs.get(run_id).parameters["min_interval_lead"] == 1
    bad = planner.post("/plan/runs", {"mode": "weighted", "late": "100", "min_interval_lead": "-1"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "must be 0 to 12" in text and 'value="-1"' in text


def test_kit_badge_ready_only_when_the_kit_is_on_hand_now(plant: Plant) -> None:
    """"ready" means the supervisor can start: every component on hand now for the orders in line
    before it and this one; a kit completed within the period by work still to be done is
    "arriving" (with what is not on hand yet), one that will not be complete by the start "short"."""
    from lpms.services import stock, views_floor

    sup = Client(plant.app, "supervisor")
    queue_wcs = {op.work_center for w in work_orders.list_work_orders(plant.uow()) for op in w.operations}
    on_hand = {lvl.item: lvl.on_hand for lvl in stock.stock_levels(plant.uow())}
    badges: dict[str, str] = {}
    for wc in sorted(queue_wcs):
        q = views_floor.floor_queue(plant.uow(), wc, timezone=plant.settings.timezone, now=NOW)
        page = sup.text(f"/floor/{wc}")
        for rows in q.periods.values():
            for r in rows:
                if not r.work_order.components or r.kit is None:
                    continue
                row_html = page.split(f'id="row-{r.work_order.number}-{r.operation.seq}"', 1)[1].split("</tr>", 1)[0]
                badge = re.search(r'class="badge (\w+)"', row_html)
                assert badge, row_html
                badges[r.work_order.number] = badge.group(1)
                if badge.group(1) == "ready":
                    for c in r.work_order.components:  # on hand now covers at least this order's kit
                        need = c.qty_per * r.work_order.quantity - (r.work_order.operations[0].good
                                                                    + r.work_order.operations[0].scrap) * c.qty_per
                        assert on_hand.get(c.item, 0.0) >= need - 1e-6, (r.work_order.number, c.item)
                elif badge.group(1) == "waiting":
                    assert not r.kit["short"] and r.kit_now["short"] and "not on hand yet" in row_html
                else:
                    assert badge.group(1) == "short" and r.kit["short"]
    assert badges, "no kitting work order in the queues"
