"""The office generates a cohort's schedule, watches the progress bar, reviews the heatmap, publishes,
and a resident sees it on a phone.

The run goes to a background thread (ROTATION_RUNS_IN_THREAD, as in the embedded mode) so the detail
page returns at once and polls its progress bar with htmx; the real solver plans, slowed a little at
the start so the bar is on screen long enough to be seen, and capped at a few seconds.
"""

import datetime
import time

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError

from rotation.models import RotationBlock, ScheduleRun
from rotation.scheduling import solver
from tests.browser.test_pages import DESKTOP, PHONE
from tests.factories.residents import ResidentProfileFactory
from tests.residents.conftest import mentor, resident_profile  # noqa: F401  (fixtures)
from tests.rotation.conftest import internal_departments, programme  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COHORT = 2025
SOLVER_SECONDS = 3  # the form's shortest limit is 10 s; the solver stops early at the lower bound anyway
RUN_TIMEOUT_MS = 60_000
PROGRESS_JS = """[
  document.querySelector('#run-progress .progress')?.getAttribute('aria-valuenow') ?? null,
  document.querySelector('[data-testid=heatmap]') !== null,
]"""


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


@pytest.fixture
def slow_solver(monkeypatch):
    """The real solver, after a visible start: a few progress reports half a second apart."""
    real = solver.solve

    def solve(problem, **kwargs):
        progress = kwargs.get("progress")
        for step in range(1, 5):
            if progress is not None:
                progress(0.05 * step, "Choosing electives")
            time.sleep(0.6)
        return real(problem, **{**kwargs, "time_limit": min(kwargs.get("time_limit", 60), SOLVER_SECONDS)})

    monkeypatch.setattr(solver, "solve", solve)


@pytest.fixture
def cohort(org, programme, resident_profile):  # noqa: F811
    """李住院 and four more of cohort 2025, whose six-month window (the programme's length) starts this month;
    a 2024 resident who must stay out of a cohort-2025 run."""
    start = timezone.localdate().replace(day=1)
    end = _add_months(start, 6) - datetime.timedelta(days=1)
    resident_profile.start_date, resident_profile.planned_end_date = start, end
    resident_profile.save()
    others = [
        ResidentProfileFactory(base=org.internal, cohort=COHORT, start_date=start, planned_end_date=end)
        for _ in range(4)
    ]
    older = ResidentProfileFactory(base=org.internal, cohort=2024, start_date=start, planned_end_date=end)
    return {"members": [resident_profile, *others], "older": older, "start": start}


def test_the_office_generates_watches_reviews_publishes_and_a_resident_sees_it_on_a_phone(
    browser,
    live_server,
    sign_in,
    settings,
    org,
    office,
    internal_departments,  # noqa: F811
    cohort,
    slow_solver,
    artifacts,
):
    settings.ROTATION_RUNS_IN_THREAD = True
    departments = internal_departments.values()

    office_context = browser.new_context(**DESKTOP)
    page = office_context.new_page()
    try:
        sign_in(page, "office")
        page.goto(f"{live_server.url}{reverse('rotation:runs')}")
        with page.expect_navigation():
            page.click(f"a[href$='{reverse('rotation:run_new')}']")
        form = page.locator("[data-testid=generate-form]")
        form.locator("select[name=scope]").select_option("cohort")
        form.locator("select[name=base]").select_option(str(org.internal.pk))
        form.locator("input[name=cohort]").fill(str(COHORT))
        form.locator("input[name=time_limit]").fill("10")
        with page.expect_navigation():
            form.locator("button[type=submit]").click()

        # The request returned while the run is still going: the page shows the bar and polls it.
        run = ScheduleRun.objects.get()
        assert page.url == f"{live_server.url}{reverse('rotation:run_detail', args=[run.uuid])}"
        bar = page.locator("#run-progress")
        bar.wait_for(state="visible")
        assert bar.get_attribute("hx-get") == reverse("rotation:run_progress", args=[run.uuid])
        assert page.locator("#run-progress .progress-bar.progress-bar-animated").count() == 1
        assert page.locator("[data-testid=run-status]").get_attribute("data-status") in {"queued", "running"}
        assert page.locator("[data-testid=heatmap]").count() == 0
        page.screenshot(path=str(artifacts / "rotation-run-progress.png"), full_page=True)
        seen = {page.locator("#run-progress .progress").get_attribute("aria-valuenow")}

        # htmx swaps the bar every second and reloads the page once the run is done; nobody presses F5.
        deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            try:
                value, done = page.evaluate(PROGRESS_JS)
            except PlaywrightError:  # the page is being reloaded under us
                value, done = None, False
            seen.add(value)
            if done:
                break
            page.wait_for_timeout(250)
        heatmap = page.locator("[data-testid=heatmap]")
        heatmap.wait_for(state="visible", timeout=1000)
        run.refresh_from_db()
        assert run.status == "draft", (run.status, run.message, run.explanation)
        assert len(seen - {None}) >= 2, f"the bar never moved: {seen}"
        assert page.locator("[data-testid=run-status]").get_attribute("data-status") == "draft"
        assert run.stats["residents"] == 5, "the 2024 resident is not in a cohort-2025 run"
        assert not run.entries.filter(resident=cohort["older"]).exists()

        # The heatmap: a row per department the draft uses (every mandatory one), a column per month.
        used = set(run.entries.filter(department__isnull=False).values_list("department_id", flat=True))
        mandatory = {internal_departments[code].pk for code in ("CARD", "RESP", "GAST")}
        assert mandatory < used
        rows = heatmap.locator("[data-testid=heatmap-row]")
        assert {int(rows.nth(i).get_attribute("data-department")) for i in range(rows.count())} == used
        for department in departments:
            if department.pk in used:
                assert department.name in heatmap.inner_text()
        months = [f"{_add_months(cohort['start'], i):%Y-%m}" for i in range(6)]
        header = heatmap.locator("thead th").all_inner_texts()
        assert [h for h in header if h[:2] == "20"] == months
        assert page.locator("[data-testid=heatmap-legend]").is_visible()
        assert page.locator("[data-testid=figure-capacity] .bi-check-circle").count() == 1
        page.screenshot(path=str(artifacts / "rotation-run-draft.png"), full_page=True)

        # Publish: the dialog wants the box ticked.
        page.click("[data-testid=publish-button]")
        dialog = page.locator("#publish-dialog")
        dialog.wait_for(state="visible")
        dialog.locator("#publish-confirm").check()
        page.screenshot(path=str(artifacts / "rotation-run-publish-dialog.png"))
        with page.expect_navigation():
            dialog.locator("button[type=submit]").click()
        run.refresh_from_db()
        assert run.status == "published" and run.version == 1
        assert page.locator("[data-testid=run-status]").get_attribute("data-status") == "published"
        assert page.locator("[data-testid=publish-button]").count() == 0
    finally:
        office_context.close()

    today = timezone.localdate()
    blocks = list(RotationBlock.objects.filter(resident=cohort["members"][0]).order_by("start_date"))
    current = next(b for b in blocks if b.start_date <= today <= b.end_date)
    upcoming = next(b for b in blocks if b.start_date > today)
    assert current.run_id == run.pk and current.start_date == cohort["start"]

    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    try:
        sign_in(page, "resident")
        # 我的轮转 from the menu, as a resident would reach it on a phone.
        page.click("button.navbar-toggler")
        menu = page.locator("#sidebar")
        menu.wait_for(state="visible")
        with page.expect_navigation():
            menu.locator(f"a[href$='{reverse('rotation:mine')}']").click()
        assert page.url == f"{live_server.url}{reverse('rotation:mine')}"

        now = page.locator("[data-testid=rotation-current]")
        assert current.department.name in now.inner_text()
        assert f"{current.start_date:%Y-%m-%d}" in now.inner_text()
        following = page.locator("[data-testid=rotation-next]")
        assert upcoming.department.name in following.inner_text()
        assert f"{upcoming.start_date:%Y-%m-%d}" in following.inner_text()
        timeline = page.locator("[data-testid=rotation-timeline] > li")
        assert timeline.count() == len(blocks)
        assert timeline.first.get_attribute("data-state") == "current"
        scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll_width <= inner_width, f"horizontal scroll on a phone: {scroll_width}px > {inner_width}px"
        page.screenshot(path=str(artifacts / "rotation-mine-phone.png"), full_page=True)
    finally:
        phone.close()
