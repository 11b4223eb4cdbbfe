"""Extrinsic methods (InvokeMethod): RequestStateChange, KillJob, GetError(s), AnswerQuery on
CIMJOB_ConcreteJob, and CIMJOB_JobService.SubmitJob."""

from pathlib import Path

import pywbem
from pywbem import CIMDateTime, Uint16, Uint32

from harness import (
    CIM_ERR_INVALID_PARAMETER, CIM_ERR_METHOD_NOT_FOUND, COMPLETED, EXCEPTION, JOB_CLASS,
    KILLED, QUERY_PENDING, RUNNING, SUSPENDED, TERMINATED, cim_error, service_path,
)

QUERY_SCRIPT = "echo 'query go?' >&3; read a <&3; echo \"got $a\""


def running_job(jobs, seconds=30):
    job = jobs.submit(["sleep", str(seconds)])
    jobs.wait_state(job, RUNNING)
    return job


def request_state(conn, job, state, **params):
    return conn.InvokeMethod("RequestStateChange", job.path, RequestedState=Uint16(state), **params)


# --- RequestStateChange -------------------------------------------------------------------

def test_requeststatechange_suspend_of_a_running_job_returns_0_and_suspends_it(conn, jobs):
    job = running_job(jobs)
    rv, out = request_state(conn, job, 3)
    assert rv == 0
    assert not out or all(v is None for v in out.values()), "RequestStateChange has no OUT parameters"
    inst = conn.GetInstance(job.path)
    assert inst["JobState"] == SUSPENDED, "0 means the transition is done"
    assert list(inst["OperationalStatus"]) == [10]  # Stopped


def test_requeststatechange_start_resumes_a_suspended_job(conn, jobs):
    job = running_job(jobs)
    assert request_state(conn, job, 3)[0] == 0
    rv, _ = request_state(conn, job, 2)
    assert rv == 0
    assert conn.GetInstance(job.path)["JobState"] == RUNNING


def test_requeststatechange_terminate_with_timeoutperiod_returns_4096_then_terminated(conn, jobs):
    job = running_job(jobs)
    rv, _ = request_state(conn, job, 4, TimeoutPeriod=CIMDateTime("00000000000002.000000:000"))
    assert rv == 4096
    jobs.wait_state(job, TERMINATED, timeout=15)
    inst = conn.GetInstance(job.path)
    assert inst["JobState"] == TERMINATED
    assert list(inst["OperationalStatus"]) == [10]


def test_requeststatechange_kill_ends_in_killed(conn, jobs):
    job = running_job(jobs)
    rv, _ = request_state(conn, job, 5)
    assert rv in (0, 4096)
    jobs.wait_state(job, KILLED, timeout=15)
    assert list(conn.GetInstance(job.path)["OperationalStatus"]) == [14]  # Aborted


def test_requeststatechange_to_an_undefined_state_returns_5(conn, jobs):
    job = running_job(jobs)
    for undefined in (1, 7, 32768):
        rv, _ = request_state(conn, job, undefined)
        assert rv == 5, f"RequestedState={undefined}"
    assert conn.GetInstance(job.path)["JobState"] == RUNNING


def test_requeststatechange_with_a_timestamp_as_timeoutperiod_returns_5(conn, jobs):
    job = running_job(jobs)
    rv, _ = request_state(conn, job, 4, TimeoutPeriod=CIMDateTime("20300101000000.000000+000"))
    assert rv == 5
    assert conn.GetInstance(job.path)["JobState"] == RUNNING


def test_requeststatechange_on_a_completed_job_returns_4097(conn, jobs):
    job = jobs.submit(["true"])
    jobs.wait_final(job)
    rv, _ = request_state(conn, job, 3)
    assert rv == 4097
    assert conn.GetInstance(job.path)["JobState"] == COMPLETED


def test_requeststatechange_start_releases_a_held_job(conn, jobs):
    job = jobs.submit(["true"], hold=True)
    assert conn.GetInstance(job.path)["JobState"] == SUSPENDED
    rv, _ = request_state(conn, job, 2)
    assert rv == 0
    jobs.wait_state(job, COMPLETED)


# --- KillJob ------------------------------------------------------------------------------

def test_killjob_without_delete_returns_0_and_keeps_the_killed_job(conn, jobs):
    job = running_job(jobs)
    rv, _ = conn.InvokeMethod("KillJob", job.path, DeleteOnKill=False)
    assert rv == 0
    jobs.wait_state(job, KILLED, timeout=15)
    assert conn.GetInstance(job.path)["JobState"] == KILLED


def test_killjob_with_delete_removes_the_job(conn, jobs):
    job = running_job(jobs)
    rv, _ = conn.InvokeMethod("KillJob", job.path, DeleteOnKill=True)
    assert rv == 0
    jobs.wait_gone(job, timeout=15)


# --- GetErrors / GetError -----------------------------------------------------------------

def failed_job(jobs):
    job = jobs.submit(["sh", "-c", "exit 3"])
    jobs.wait_state(job, EXCEPTION)
    return job


def assert_cim_error_instance(err):
    assert isinstance(err, pywbem.CIMInstance), f"an embedded CIM_Error instance, got {err!r}"
    assert err.classname == "CIM_Error"
    assert err["MessageID"], "MessageID is Required"
    assert err["OwningEntity"] == "CIMJOB"
    assert "3" in err["Message"], f"the message says the exit status: {err['Message']!r}"
    for prop, ty in (("PerceivedSeverity", "uint16"), ("ProbableCause", "uint16"),
                     ("ErrorType", "uint16"), ("CIMStatusCode", "uint32")):
        assert err.properties[prop].type == ty, prop
        assert err[prop] is not None, prop
    # the job at fault, as an object path (ErrorSourceFormat 2, "CIMObjectPath")
    assert err["ErrorSourceFormat"] == 2
    source = pywbem.CIMInstanceName.from_wbem_uri(err["ErrorSource"])
    assert source.classname == JOB_CLASS and source.keybindings["InstanceID"].startswith("CIMJOB:")


def test_geterrors_of_a_job_that_exited_3_returns_one_cim_error(conn, jobs):
    job = failed_job(jobs)
    rv, out = conn.InvokeMethod("GetErrors", job.path)
    assert rv == 0
    errors = out["Errors"]
    assert isinstance(errors, list) and len(errors) == 1
    assert_cim_error_instance(errors[0])


def test_geterror_of_a_job_that_exited_3_returns_the_cim_error(conn, jobs):
    job = failed_job(jobs)
    rv, out = conn.InvokeMethod("GetError", job.path)
    assert rv == 0
    assert_cim_error_instance(out["Error"])


def test_geterrors_of_a_completed_job_returns_no_error(conn, jobs):
    job = jobs.submit(["true"])
    jobs.wait_state(job, COMPLETED)
    rv, out = conn.InvokeMethod("GetErrors", job.path)
    assert rv == 0
    assert out["Errors"] == [], "no error is an empty array, not NULL"


def test_geterror_of_a_completed_job_returns_null(conn, jobs):
    job = jobs.submit(["true"])
    jobs.wait_state(job, COMPLETED)
    rv, out = conn.InvokeMethod("GetError", job.path)
    assert rv == 0
    assert out.get("Error") is None


def test_geterrors_of_a_terminated_job_returns_an_error(conn, jobs):
    """CIM_ConcreteJob.GetError: one CIM_Error when the job was terminated by a client."""
    job = running_job(jobs)
    assert request_state(conn, job, 4)[0] in (0, 4096)
    jobs.wait_state(job, TERMINATED, timeout=15)
    rv, out = conn.InvokeMethod("GetErrors", job.path)
    assert rv == 0
    assert len(out["Errors"]) == 1
    assert out["Errors"][0]["OwningEntity"] == "CIMJOB"


def test_geterrors_of_a_recurring_job_keeps_the_error_of_a_failed_run_after_later_ones_succeed(conn, jobs):
    """Issue 14: a series goes on past a failed run, and the failure is never hidden: the job
    Completed with ErrorCode 0 after its last run, and GetErrors still returns run 2's error."""
    job = jobs.submit_cli(["sh", "-c", '[ "$CIMJOB_RUN" != 2 ] || exit 3'], "--times", "3")
    done = jobs.wait_state(job, COMPLETED)
    assert (done["RunCount"], done["ErrorCode"]) == (3, 0)
    rv, out = conn.InvokeMethod("GetErrors", job.path)
    assert rv == 0
    errors = out["Errors"]
    assert isinstance(errors, list) and len(errors) == 1, errors
    assert_cim_error_instance(errors[0])
    assert errors[0]["MessageID"] == "CIMJOB0001"


# --- AnswerQuery --------------------------------------------------------------------------

def test_answerquery_answers_a_job_in_query_pending_and_it_completes(conn, jobs):
    job = jobs.submit(["sh", "-c", QUERY_SCRIPT])
    jobs.wait_state(job, QUERY_PENDING)
    inst = conn.GetInstance(job.path)
    assert inst["JobState"] == QUERY_PENDING
    assert inst["JobStatus"] == "go?"
    rv, _ = conn.InvokeMethod("AnswerQuery", job.path, Answer="yes")
    assert rv == 0
    jobs.wait_state(job, COMPLETED)
    output = conn.GetInstance(job.path)["OutputPath"]
    assert "got yes" in Path(output).read_text()


def test_answerquery_on_a_job_not_waiting_for_an_answer_is_refused(conn, jobs):
    job = running_job(jobs)
    rv, _ = conn.InvokeMethod("AnswerQuery", job.path, Answer="yes")
    assert rv != 0
    assert conn.GetInstance(job.path)["JobState"] == RUNNING


# --- SubmitJob ----------------------------------------------------------------------------

def test_submitjob_returns_4096_and_a_job_reference_that_resolves(conn, jobs):
    svc = service_path(conn)
    name = jobs.name("submitted")
    rv, out = conn.InvokeMethod("SubmitJob", svc, Name=name, CommandLine=["true"])
    assert rv == 4096
    ref = out["Job"]
    assert isinstance(ref, pywbem.CIMInstanceName)
    jobs.track(ref)
    assert ref.classname == JOB_CLASS
    inst = conn.GetInstance(ref)
    assert inst["Name"] == name
    assert list(inst["CommandLine"]) == ["true"]
    jobs.wait_state(ref, COMPLETED)


def test_a_job_submitjob_made_keeps_its_in_parameters_and_gives_its_out_parameters_when_done(conn, jobs, tmp_path):
    go = tmp_path / "go"
    script = f"i=0; until [ -e {go} ] || [ $i -ge 400 ]; do sleep 0.05; i=$((i+1)); done"
    rv, out = conn.InvokeMethod("SubmitJob", service_path(conn), Name=jobs.name("outparams"),
                                CommandLine=["sh", "-c", script])
    assert rv == 4096
    ref = jobs.track(out["Job"])
    jobs.wait_state(ref, RUNNING)
    inst = conn.GetInstance(ref.path)
    given = inst["JobInParameters"]
    assert isinstance(given, pywbem.CIMInstance) and given.classname == "__JobInParameters"
    assert list(given["CommandLine"]) == ["sh", "-c", script]
    assert inst["JobOutParameters"] is None, "NULL until the job is Completed"
    go.touch()
    jobs.wait_state(ref, COMPLETED)
    result = conn.GetInstance(ref.path)["JobOutParameters"]
    assert isinstance(result, pywbem.CIMInstance) and result.classname == "__JobOutParameters"
    assert result["__ReturnValue"] == 0
    assert result["Job"].keybindings["InstanceID"] == ref.instance_id


def test_submitjob_with_a_template_takes_its_priority(conn, jobs):
    svc = service_path(conn)
    template = pywbem.CIMInstance(JOB_CLASS, properties={"Priority": Uint32(7)})
    rv, out = conn.InvokeMethod("SubmitJob", svc, Name=jobs.name("templated"),
                                CommandLine=["true"], Template=template)
    assert rv == 4096
    jobs.track(out["Job"])
    assert conn.GetInstance(out["Job"])["Priority"] == 7


def test_submitjob_without_a_commandline_is_refused(conn, jobs):
    """Our method: a missing CommandLine is an invalid parameter, as a method return (5) or as
    CIM_ERR_INVALID_PARAMETER; never a job."""
    svc = service_path(conn)
    try:
        rv, out = conn.InvokeMethod("SubmitJob", svc, Name=jobs.name())
    except pywbem.CIMError as e:
        assert e.status_code == CIM_ERR_INVALID_PARAMETER
        assert "commandline" in (e.status_description or "").lower()
    else:
        assert rv == 5
        assert out.get("Job") is None


def test_invoking_an_unknown_method_is_method_not_found(conn, jobs):
    job = jobs.submit(["true"])
    with cim_error(CIM_ERR_METHOD_NOT_FOUND, "NoSuchMethod"):
        conn.InvokeMethod("NoSuchMethod", job.path)
