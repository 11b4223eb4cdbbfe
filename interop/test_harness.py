"""The harness itself: the service the suite starts answers on its HTTP listener, and jobs can
be submitted and waited on through its CLI and JSON API (what the other tests use to set up).
These pass before the WBEM server exists."""

import re

from harness import COMPLETED, EXCEPTION, crate_version


def test_root_page_names_cimjob_and_its_version(service):
    status, body = service.http("GET", "/")
    assert status == 200
    assert isinstance(body, str) and body.startswith(f"cimjob {crate_version()}"), body


def test_address_file_gives_a_loopback_url(url):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url


def test_json_api_submits_a_job_that_completes(jobs):
    job = jobs.submit(["true"])
    assert re.fullmatch(r"CIMJOB:\d+", job.instance_id)
    body = jobs.wait_final(job)
    assert body["JobState"] == COMPLETED
    assert body["Name"] == job.name


def test_cli_submits_a_job_that_fails_with_its_exit_status(jobs):
    job = jobs.submit_cli(["sh", "-c", "exit 3"])
    body = jobs.wait_final(job)
    assert body["JobState"] == EXCEPTION
    assert body["ExitStatus"] == 3


def test_cleanup_kills_a_job_left_running(jobs, service):
    job = jobs.submit(["sleep", "30"])
    jobs.wait_state(job, 4)
    jobs.cleanup()
    assert jobs.get(job)["JobState"] == 9  # Killed
