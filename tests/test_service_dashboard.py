"""The dashboard of ``htmkit serve`` in a real browser (headless Chromium driven by Playwright):
records posted through the API make the stream and its alarm appear on the page, which updates
while records arrive."""

from __future__ import annotations

import shutil
import tempfile

import pytest

pytest.importorskip("fastapi", reason="the service extra (fastapi) is not installed")
httpx = pytest.importorskip("httpx", reason="the service extra (httpx) is not installed")
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed (pip install playwright)")

from htmkit.service.loadtest import free_port, start_server, stop_server  # noqa: E402

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SMALL = {"config": {"sp": {"column_dimensions": [256], "num_active_columns_per_inh_area": 10},
                    "tm": {"cells_per_column": 8}},
         "probationary_period": 20}


def records(n: int, start: int = 0, spike: int | None = None) -> list[dict]:
    return [{"timestamp": 1_700_000_000 + 300 * i,
             "value": 1000.0 if i == spike else 50.0 + (i % 6)} for i in range(start, start + n)]


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="htmkit-chromium-")
    with sync_api.sync_playwright() as pw:
        try:
            ctx = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True,
                args=["--headless", "--no-sandbox", "--disable-gpu",
                      "--disable-background-networking"])
        except Exception as exc:  # no Chromium, or it cannot start here
            shutil.rmtree(profile, ignore_errors=True)
            pytest.skip(f"headless Chromium cannot start ({CHROMIUM}): {exc}")
        try:
            yield ctx
        finally:
            ctx.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture()
def server(tmp_path):
    port = free_port()
    proc = start_server(tmp_path / "data", port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)


def test_dashboard_shows_streams_and_alarms_as_records_arrive(browser, server):
    with httpx.Client(base_url=server, timeout=60.0) as c:
        assert c.post("/streams", json={"id": "temp-1", "params": SMALL, "min_value": 0,
                                        "max_value": 100}).status_code == 201
        res = c.post("/streams/temp-1/records",
                     json={"records": records(30, spike=24)}).json()["results"]
        alarm = [r for r in res if r["alarm"]][-1]
        page = browser.new_page()
        page.goto(server + "/")
        row = page.locator('tr[data-stream="temp-1"]')
        row.wait_for(timeout=20_000)
        assert row.locator("td.records").inner_text() == "30"
        assert row.locator("td.last-alarm").inner_text() == alarm["timestamp"]
        # the chart of the selected stream: 30 points, the alarms marked
        page.wait_for_selector('#chart[data-points="30"]', timeout=20_000)
        marks = page.locator("#chart circle.alarm")
        assert marks.count() == sum(r["alarm"] for r in res)
        assert alarm["timestamp"] in [marks.nth(i).get_attribute("data-timestamp")
                                      for i in range(marks.count())]
        # records arriving while the page is open: a new stream and its alarm appear, the
        # chart of the first grows
        assert c.post("/streams", json={"id": "temp-2", "params": SMALL, "min_value": 0,
                                        "max_value": 100}).status_code == 201
        res2 = c.post("/streams/temp-2/records",
                      json={"records": records(12, spike=10)}).json()["results"]
        alarm2 = [r for r in res2 if r["alarm"]][-1]
        c.post("/streams/temp-1/records", json={"records": records(5, 30)})
        row2 = page.locator('tr[data-stream="temp-2"]')
        row2.wait_for(timeout=20_000)
        page.wait_for_function(
            "t => document.querySelector('tr[data-stream=\"temp-2\"] td.last-alarm')"
            ".textContent === t", arg=alarm2["timestamp"], timeout=20_000)
        page.wait_for_selector('#chart[data-points="35"]', timeout=20_000)
        # selecting the second stream draws its chart
        row2.click()
        page.wait_for_selector('#chart[data-points="12"]', timeout=20_000)
        assert page.locator("#title").inner_text() == "temp-2"
        page.close()
