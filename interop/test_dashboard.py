"""The dashboard at /ui in a real browser: Debian's chromium, driven headless through its
chromedriver (selenium; interop/setup installs both from Debian, and nothing downloads a
browser). The browser sends the admin's credentials on every request, as a browser that
signed in does."""

from __future__ import annotations

import base64
import os
import re
import time

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from harness import ADMIN_PASSWORD, ADMIN_USER, local_id

# selenium must use the system's chromium and chromedriver, never fetch its own
os.environ["SE_OFFLINE"] = "true"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

LIVE_BOUND = 1.0  # seconds: what the dashboard promises for a change to show without reload
WAIT = 20.0  # seconds: the bound of every other wait


@pytest.fixture(scope="module")
def browser():
    """One headless chromium for the module, signed in as the admin."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1300,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=DriverService(CHROMEDRIVER), options=options)
    try:
        auth = "Basic " + base64.b64encode(f"{ADMIN_USER}:{ADMIN_PASSWORD}".encode()).decode()
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": auth}})
        yield driver
    finally:
        driver.quit()


def open_page(browser, url: str, path: str) -> None:
    browser.get(url + path)
    # the page is live once its change stream is open
    wait_for(browser, lambda d: d.execute_script("return document.body.dataset.listening === 'true'"),
             "its change stream open", WAIT)


def wait_for(browser, condition, what: str, timeout: float, poll: float = 0.05):
    try:
        return WebDriverWait(browser, timeout, poll_frequency=poll).until(condition)
    except TimeoutException:
        main = browser.execute_script("return document.querySelector('main').innerHTML")
        pytest.fail(f"the page never showed {what} within {timeout}s; it says {text(browser, 'flash')!r} "
                    f"and shows:\n{main[:6000]}")


def rows(browser) -> dict[int, str]:
    """The jobs table: LocalID -> the state it shows (read in one go: a refresh may swap it)."""
    pairs = browser.execute_script(
        "return [...document.querySelectorAll('#jobs tbody tr')]"
        ".map(r => [r.id.slice(4), r.dataset.state])")
    return {int(i): state for i, state in pairs}


def text(browser, element_id: str) -> str:
    """The text of the element with this id now ('' while there is none)."""
    return browser.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.textContent.trim() : ''",
        element_id)


def test_a_job_submitted_by_the_cli_appears_within_a_second_without_reload(browser, url, jobs):
    open_page(browser, url, f"/ui/jobs?q={jobs.prefix}")
    assert rows(browser) == {}
    browser.execute_script("window.notReloaded = true")
    job = jobs.submit_cli(["sleep", "30"])
    submitted = time.monotonic()
    wait_for(browser, lambda d: local_id(job) in rows(d), f"{job.instance_id} in the list",
             LIVE_BOUND, poll=0.02)
    shown_after = time.monotonic() - submitted
    assert browser.execute_script("return window.notReloaded === true"), "the page reloaded"
    assert shown_after <= LIVE_BOUND
    # and its state follows without reload too
    wait_for(browser, lambda d: rows(d).get(local_id(job)) == "Running", "it Running", WAIT)


def test_a_running_jobs_progress_bar_follows_its_progress_lines(browser, url, jobs, tmp_path):
    step = tmp_path / "step"
    # the work moves on each time the test writes the next step into the file (bounded)
    script = (
        f'for p in 20 60 90; do echo "progress $p at $p" >&3; echo "line $p"; '
        f'i=0; until grep -qx "$p" {step} 2>/dev/null || [ $i -ge 600 ]; do sleep 0.05; i=$((i+1)); done; '
        f'done'
    )
    job = jobs.submit(["sh", "-c", script])
    open_page(browser, url, f"/ui/jobs/{local_id(job)}")
    progress = lambda d: d.execute_script("return document.getElementById('progress').value")
    for percent in (20, 60, 90):
        wait_for(browser, lambda d: progress(d) == percent, f"progress {percent}", WAIT)
        assert text(browser, "job-status") == f"at {percent}"
        # the running log is tailed live
        wait_for(browser, lambda d: f"line {percent}" in text(d, "tail"), f"output line {percent}",
                 WAIT)
        step.write_text(f"{percent}\n")
    wait_for(browser, lambda d: text(d, "state") == "Completed", "Completed", WAIT)


def test_search_narrows_the_list_and_survives_a_reload(browser, url, jobs):
    apple = jobs.submit(["true"], name=f"{jobs.prefix}-apple")
    pear = jobs.submit(["true"], name=f"{jobs.prefix}-pear")
    jobs.wait_final(apple)
    jobs.wait_final(pear)
    open_page(browser, url, f"/ui/jobs?q={jobs.prefix}")
    assert set(rows(browser)) == {local_id(apple), local_id(pear)}
    search = browser.find_element(By.ID, "search")
    search.clear()
    search.send_keys(f"{jobs.prefix}-apple", Keys.ENTER)
    wait_for(browser, lambda d: set(rows(d)) == {local_id(apple)}, "only the apple job", WAIT)
    assert f"q={jobs.prefix}-apple" in browser.current_url
    browser.refresh()
    wait_for(browser, lambda d: set(rows(d)) == {local_id(apple)}, "only the apple job after a reload",
             WAIT)
    assert browser.find_element(By.ID, "search").get_attribute("value") == f"{jobs.prefix}-apple"


def click_until_asked(browser, selector: str, timeout: float):
    """Clicks the button in the page until it asks to confirm, and returns the question: a
    live refresh can swap in a button htmx has not bound yet, and a click on it does nothing
    (bounded by `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        browser.execute_script("document.querySelector(arguments[0]).click()", selector)
        try:
            return WebDriverWait(browser, 2).until(expected_conditions.alert_is_present())
        except TimeoutException:
            if time.monotonic() > deadline:
                raise


def test_bulk_terminate_of_three_of_five_jobs(browser, url, jobs):
    five = [jobs.submit(["sleep", "60"], name=f"{jobs.prefix}-bulk{i}") for i in range(5)]
    open_page(browser, url, f"/ui/jobs?q={jobs.prefix}-bulk")
    wait_for(browser, lambda d: set(rows(d)) == {local_id(j) for j in five}, "the five jobs", WAIT)
    chosen, spared = five[:3], five[3:]
    for job in chosen:
        # clicked in the page (the rows may be swapped by a refresh meanwhile; ticks survive it)
        browser.execute_script(
            "document.querySelector(`input[name=ids][value='${arguments[0]}']`).click()",
            local_id(job))
    ticked = browser.execute_script(
        "return [...document.querySelectorAll('input[name=ids]:checked')].map(b => +b.value)")
    assert sorted(ticked) == sorted(local_id(j) for j in chosen)
    # the page asks before it acts
    click_until_asked(browser, "button.act-terminate", WAIT).accept()
    wait_for(browser, lambda d: "Terminate of 3 job(s)" in text(d, "flash"),
             "the action's answer", WAIT)
    for job in chosen:
        jobs.wait_state(job, 8)
    wait_for(browser, lambda d: all(rows(d).get(local_id(j)) == "Terminated" for j in chosen),
             "the three Terminated", WAIT)
    for job in spared:
        assert jobs.get(job)["JobState"] in (2, 3, 4), "a job not ticked was left alone"
    assert all(rows(browser)[local_id(j)] != "Terminated" for j in spared)


def test_answering_a_query_pending_job_from_the_page(browser, url, jobs):
    script = 'echo "query Which colour?" >&3; read answer <&3; echo "answered $answer"'
    job = jobs.submit(["sh", "-c", script])
    jobs.wait_state(job, 12)
    open_page(browser, url, "/ui/actions")
    form = f"query-{local_id(job)}"
    wait_for(browser, lambda d: "Which colour?" in text(d, form), "the question", WAIT)
    # typed and sent in one step in the page: a refresh may swap the form in between a
    # WebDriver lookup and the next command (an operator's typing holds refreshes back)
    browser.execute_script(
        "const f = document.getElementById(arguments[0]);"
        " f.querySelector('[name=answer]').value = 'blue';"
        " f.querySelector('button[type=submit]').click()", form)
    wait_for(browser, lambda d: "answered" in text(d, "flash"),
             "the answer's outcome", WAIT)
    jobs.wait_state(job, 7)
    wait_for(browser, lambda d: not d.find_elements(By.ID, f"query-{local_id(job)}"),
             "the question gone from the page", WAIT)
    status, log = jobs.service.http("GET", f"/api/v1/jobs/{local_id(job)}/runs/1/log")
    assert status == 200 and "answered blue" in log


def test_the_overview_counts_states_and_charts_the_last_hour(browser, url, jobs):
    open_page(browser, url, "/ui")
    total = lambda d: d.execute_script(
        "return +document.querySelector('svg.chart').dataset.total")
    before = total(browser)
    failing = jobs.submit(["false"])
    jobs.wait_final(failing)
    # the overview follows live: the failed run is charted and listed
    wait_for(browser, lambda d: total(d) >= before + 1, "the new run charted", WAIT)
    wait_for(browser, lambda d: failing.instance_id in text(d, "overview"), "the failure listed",
             WAIT)
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart")) == 2
    counts = {e.get_attribute("data-state"): int(e.text)
              for e in browser.find_elements(By.CSS_SELECTOR, ".counts b")}
    assert counts.get("Exception", 0) >= 1, counts


def test_actions_need_the_page_not_another_site(url):
    """A POST without htmx's header (what a form on another site would send) is refused."""
    import urllib.error
    import urllib.request
    from harness import basic_authorization
    request = urllib.request.Request(url + "/ui/jobs/1/act", data=b"action=kill", method="POST",
                                     headers={"Authorization": basic_authorization(),
                                              "Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403


def test_the_schedules_page_shows_next_and_last_run_and_run_now_starts_a_waiting_job(browser, url, jobs):
    waiting = jobs.submit_cli(["true"], "--at", "2099-01-01 00:00")
    open_page(browser, url, "/ui/schedules")
    row = f"job-{local_id(waiting)}"
    wait_for(browser, lambda d: row in d.page_source, "the scheduled job", WAIT)
    shown = text(browser, row)
    assert "2099-01-01" in shown and "(in " in shown, f"next run local and relative: {shown!r}"
    assert "never" in shown, f"no last run yet: {shown!r}"
    browser.execute_script(
        "document.querySelector(`#job-${arguments[0]} button.act-runnow`).click()", local_id(waiting))
    wait_for(browser, lambda d: "runs now" in text(d, "flash"), "Run now's answer", WAIT)
    done = jobs.wait_state(waiting, 7)
    assert done["RunCount"] == 1


def test_a_jobs_page_names_values_shows_times_in_the_zone_and_each_runs_log(browser, url, jobs):
    job = jobs.submit(["sh", "-c", "echo hello from the run"])
    jobs.wait_state(job, 7)
    open_page(browser, url, f"/ui/jobs/{local_id(job)}")
    prop = lambda name: browser.execute_script(
        "const e = document.querySelector(`[data-property='${arguments[0]}']`);"
        " return e ? e.textContent : ''", name)
    assert prop("JobState") == "Completed (7)", "a value-map name beside its number"
    submitted = prop("TimeSubmitted")
    # local, with the zone's abbreviation, and relative to now
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z][A-Za-z0-9+-]* \((now|\d+ \w+ ago)\)",
                        submitted), submitted
    log = browser.execute_script("return document.querySelector('a.log[data-run=\"1\"]').href")
    status, body = jobs.service.http("GET", log.split(url, 1)[1])
    assert status == 200 and "hello from the run" in body
    wait_for(browser, lambda d: "hello from the run" in text(d, "tail"), "the last run's output", WAIT)
