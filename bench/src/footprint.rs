//! Size figures: idle RSS; with many stored jobs, CIM-XML EnumerateInstances (time and the
//! service's peak RSS) and the same enumeration by pull operations with MaxObjectCount 1,000
//! (peak RSS should stay flat); then start-up time and RSS of a restart on those jobs. Each
//! beside its baseline from the same run: a static server sending the same bytes, an empty
//! service.

use std::time::{Duration, Instant};

use cimjob_harness::postgres::TestSchema;

use super::{
    cim_call, enumerate, http_client, median, peak_rss_kib, reset_peak_rss,
    service_with_finished_jobs, service_with_held_jobs, service_with_held_jobs_on,
    service_with_queued_jobs, service_with_scheduled_jobs, static_server, status_kib, Prepared,
    Service,
};
use anyhow::Context;
use cim::xml::ParamValue;

/// Objects per pull request.
const MAX_OBJECT_COUNT: usize = 1000;

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "VmRSS")
}

/// The resident memory of a service and of the supervisor it runs jobs through.
fn service_rss_kib(service: &Service) -> anyhow::Result<u64> {
    let mut total = rss_kib(service.pid())?;
    for pid in service.supervisors() {
        total += rss_kib(pid).unwrap_or(0);
    }
    Ok(total)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The EnumerationContext of a pull answer, or `None` at its end.
fn next_context(answer: &[u8]) -> anyhow::Result<Option<String>> {
    let cim::xml::Message::Response(response) =
        cim::xml::read_message(answer, &cim::xml::Limits::DEFAULT)?
    else {
        anyhow::bail!("not a CIM-XML response");
    };
    let cim::xml::Reply::Intrinsic {
        result: Ok(result), ..
    } = response.reply
    else {
        anyhow::bail!("the pull operation failed");
    };
    if result.param("EndOfSequence").and_then(ParamValue::as_bool) == Some(true) {
        return Ok(None);
    }
    let context = result
        .param("EnumerationContext")
        .and_then(ParamValue::as_str);
    Ok(Some(context.context("no EnumerationContext")?.to_string()))
}

/// A whole enumeration by pull operations: (total bytes, requests, time spent in the
/// requests). Reading each answer's EnumerationContext is the bench's own work, not the
/// service's, and the static baseline reads nothing, so it is left out of the time.
async fn pull_all(http: &reqwest::Client, url: &str) -> anyhow::Result<(usize, usize, Duration)> {
    let count = || {
        (
            "MaxObjectCount",
            ParamValue::Value(cim::CimValue::UInt32(MAX_OBJECT_COUNT as u32)),
        )
    };
    let open = Prepared::intrinsic(
        "OpenEnumerateInstances",
        vec![
            ("ClassName", ParamValue::ClassName("CIM_ConcreteJob".into())),
            count(),
        ],
    );
    let t = Instant::now();
    let mut answer = cim_call(http, url, &open).await?;
    let mut in_requests = t.elapsed();
    let (mut bytes, mut requests) = (answer.len(), 1);
    // bounded: a million jobs at most
    for _ in 0..1000 {
        let Some(context) = next_context(&answer)? else {
            return Ok((bytes, requests, in_requests));
        };
        let pull = Prepared::intrinsic(
            "PullInstancesWithPath",
            vec![("EnumerationContext", ParamValue::Text(context)), count()],
        );
        let t = Instant::now();
        answer = cim_call(http, url, &pull).await?;
        in_requests += t.elapsed();
        bytes += answer.len();
        requests += 1;
    }
    anyhow::bail!("the pull enumeration did not end")
}

/// The table rows for `jobs` stored jobs.
/// How long `GET /metrics` takes on `service` (it counts every stored job) and `GET /healthz`
/// (nothing to count), the medians of 5, in ms.
async fn scrape_ms(http: &reqwest::Client, service: &Service) -> anyhow::Result<(f64, f64)> {
    let timed = |path: &'static str| {
        let (http, url) = (http.clone(), format!("{}{path}", service.url));
        async move {
            let mut times = Vec::new();
            for _ in 0..5 {
                let t = Instant::now();
                let answer = http.get(&url).send().await?;
                anyhow::ensure!(answer.status().is_success(), "{path}: {}", answer.status());
                answer.bytes().await?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(super::median(times))
        }
    };
    Ok((timed("/metrics").await?, timed("/healthz").await?))
}

pub async fn figures(jobs: usize, clients: usize) -> anyhow::Result<Vec<String>> {
    let mut rows = Vec::new();
    let empty = Service::start(2)?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = service_rss_kib(&empty)?;
    let idle_service_rss = rss_kib(empty.pid())?;
    // the baseline start-up: a restart of the empty service (its first start also makes the
    // database and a certificate)
    let (base_start, _) = restarts(empty.stop()?, &[])?;

    let (service, _) = service_with_held_jobs(jobs, clients).await?;
    let http = http_client();
    let pid = service.pid();

    // the held jobs have left memory, and the service has given it back (it looks every 2 s)
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stored_rss = rss_kib(pid)?;
    let (scrape, probe) = scrape_ms(&http, &service).await?;
    // pull first: memory a big answer leaves with the allocator would count against it
    reset_peak_rss(pid);
    let (pull_bytes, requests, in_requests) = pull_all(&http, &service.url).await?;
    let ours_pull = in_requests.as_secs_f64() * 1000.0;
    let pull_rss = peak_rss_kib(pid)?;
    reset_peak_rss(pid);
    let t = Instant::now();
    let enum_size = cim_call(&http, &service.url, &enumerate()).await?.len();
    let ours_enum = t.elapsed().as_secs_f64() * 1000.0;
    let enum_rss = peak_rss_kib(pid)?;

    let one_body = static_server(vec![b' '; enum_size]).await?;
    let t = Instant::now();
    cim_call(&http, &one_body, &enumerate()).await?;
    let base_enum = t.elapsed().as_secs_f64() * 1000.0;
    let pages = static_server(vec![b' '; pull_bytes / requests]).await?;
    let t = Instant::now();
    for _ in 0..requests {
        cim_call(&http, &pages, &enumerate()).await?;
    }
    let base_pull = t.elapsed().as_secs_f64() * 1000.0;

    let (ours_start, restart_rss) = restarts(service.stop()?, &[])?;

    let finished = service_with_finished_jobs(jobs, clients).await?;
    // the settled jobs have left memory, and the service has given it back (it looks every 2 s)
    tokio::time::sleep(Duration::from_secs(5)).await;
    let finished_rss = rss_kib(finished.pid())?;
    let (finished_start, finished_restart_rss) = restarts(finished.stop()?, &[])?;

    let scheduled = service_with_scheduled_jobs(jobs, clients).await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let scheduled_rss = rss_kib(scheduled.pid())?;
    drop(scheduled.stop()?);

    let queued = service_with_queued_jobs(jobs, clients).await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let queued_rss = rss_kib(queued.pid())?;
    drop(queued.stop()?);

    rows.push(format!("| GET /metrics with {jobs} stored jobs (a census of every one), median of 5 vs GET /healthz | {scrape:.1} ms | {probe:.1} ms | {:.0}× |", scrape / probe));
    rows.push(format!("| CIM-XML EnumerateInstances of {jobs} jobs ({:.0} MB answer) vs the same bytes from a static server | {ours_enum:.0} ms | {base_enum:.0} ms | {:.1}× |", enum_size as f64 / 1e6, ours_enum / base_enum));
    rows.push(format!("| service peak RSS during that enumeration vs the RSS holding {jobs} jobs before it | {:.0} MiB | {:.0} MiB | {:.2}× |", mib(enum_rss), mib(stored_rss), enum_rss as f64 / stored_rss as f64));
    rows.push(format!("| the same by pull operations, MaxObjectCount {MAX_OBJECT_COUNT} ({requests} requests) vs the same pages from a static server | {ours_pull:.0} ms | {base_pull:.0} ms | {:.1}× |", ours_pull / base_pull));
    rows.push(format!("| service peak RSS during the pull enumeration vs the RSS holding {jobs} jobs before it | {:.0} MiB | {:.0} MiB | {:.2}× |", mib(pull_rss), mib(stored_rss), pull_rss as f64 / stored_rss as f64));
    rows.push(format!(
        "| idle RSS of an empty service, with its supervisor | {:.0} MiB | – | – |",
        mib(idle_rss)
    ));
    rows.push(format!("| start-up (spawn → serving) with {jobs} stored jobs, median of 3 vs a restart of an empty service | {ours_start:.0} ms | {base_start:.0} ms | {:.1}× |", ours_start / base_start));
    rows.push(format!("| RSS after start-up with {jobs} stored jobs vs idle RSS of an empty service | {:.0} MiB | {:.0} MiB | {:.1}× |", mib(restart_rss), mib(idle_rss), restart_rss as f64 / idle_rss as f64));
    let idle_mib = mib(idle_service_rss);
    for (what, rss) in [
        ("held", stored_rss),
        ("finished", finished_rss),
        ("scheduled for tomorrow", scheduled_rss),
        ("queued behind a running one", queued_rss),
    ] {
        rows.push(format!("| RSS of the service (without its supervisor) holding {jobs} jobs {what} vs the same of an empty service | {:.0} MiB | {idle_mib:.0} MiB | {:.2}× |", mib(rss), rss as f64 / idle_service_rss as f64));
    }
    rows.push(format!("| start-up with {jobs} finished jobs, median of 3 vs a restart of an empty service | {finished_start:.0} ms | {base_start:.0} ms | {:.1}× |", finished_start / base_start));
    rows.push(format!("| RSS after start-up with {jobs} finished jobs vs idle RSS of an empty service | {:.0} MiB | {:.0} MiB | {:.1}× |", mib(finished_restart_rss), mib(idle_rss), finished_restart_rss as f64 / idle_rss as f64));
    Ok(rows)
}

/// The figures with `jobs` stored jobs (a million by default), all held (stored, nothing
/// runs): the RSS holding them, a whole pull enumeration and its peak RSS, start-up and the
/// RSS after it, each beside an empty service.
pub async fn scale_figures(
    jobs: usize,
    clients: usize,
    postgres: Option<&TestSchema>,
) -> anyhow::Result<Vec<String>> {
    // the empty baseline on a schema of its own, so it starts as empty as it is
    let empty_schema = postgres.map(|_| TestSchema::new("bench_scale_empty"));
    let (empty_url, url) = (
        empty_schema.as_ref().map(TestSchema::url),
        postgres.map(TestSchema::url),
    );
    let (empty_args, args) = (
        database_args(empty_url.as_deref()),
        database_args(url.as_deref()),
    );
    let store = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };

    let empty = Service::start_with(tempfile::tempdir()?, 2, &empty_args)?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = service_rss_kib(&empty)?;
    let (base_start, _) = restarts(empty.stop()?, &empty_args)?;

    let (service, submitting) = service_with_held_jobs_on(&args, jobs, clients).await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stored_rss = service_rss_kib(&service)?;
    let http = http_client();
    let pid = service.pid();
    reset_peak_rss(pid);
    let (_, requests, in_requests) = pull_all(&http, &service.url).await?;
    let pull_peak = peak_rss_kib(pid)?;
    let (scrape, probe) = scrape_ms(&http, &service).await?;
    let database = service
        .dir
        .as_ref()
        .and_then(|dir| std::fs::metadata(dir.path().join("cimjob.db")).ok())
        .map_or(0, |m| m.len());
    let (start, restart_rss) = restarts(service.stop()?, &args)?;

    let per_s = jobs as f64 / submitting.as_secs_f64();
    let ratio = |a: u64| a as f64 / idle_rss as f64;
    let size = if postgres.is_some() {
        String::new()
    } else {
        format!(" ({:.1} GB database)", database as f64 / 1e9)
    };
    Ok(vec![
        format!("| {store}: {jobs} held jobs submitted over HTTP by {clients} clients{size}, jobs/s | {per_s:.0}/s | – | – |"),
        format!("| {store}: RSS of the service holding {jobs} stored jobs, with its supervisor vs idle RSS of an empty service | {:.0} MiB | {:.0} MiB | {:.2}× |", mib(stored_rss), mib(idle_rss), ratio(stored_rss)),
        format!("| {store}: peak RSS of the service during a pull enumeration of all {jobs} ({requests} requests, {:.0} s) vs idle RSS of an empty service | {:.0} MiB | {:.0} MiB | {:.2}× |", in_requests.as_secs_f64(), mib(pull_peak), mib(idle_rss), ratio(pull_peak)),
        format!("| {store}: GET /metrics with {jobs} stored jobs (a census of every one), median of 5 vs GET /healthz | {scrape:.1} ms | {probe:.1} ms | {:.0}× |", scrape / probe),
        format!("| {store}: start-up with {jobs} stored jobs, median of 3 vs a restart of an empty service | {start:.0} ms | {base_start:.0} ms | {:.1}× |", start / base_start),
        format!("| {store}: RSS after start-up with {jobs} stored jobs vs idle RSS of an empty service | {:.0} MiB | {:.0} MiB | {:.2}× |", mib(restart_rss), mib(idle_rss), ratio(restart_rss)),
    ])
}

/// The `serve` arguments that put a service's jobs in this database, if any.
fn database_args(url: Option<&str>) -> Vec<&str> {
    url.map_or(Vec::new(), |url| vec!["--database-url", url])
}

/// Three restarts on `dir` (with more `serve` arguments: a database): the median start-up
/// (ms) and the RSS after the last.
fn restarts(dir: tempfile::TempDir, extra: &[&str]) -> anyhow::Result<(f64, u64)> {
    let mut starts = Vec::new();
    let mut rss = 0;
    let mut dir = Some(dir);
    for _ in 0..3 {
        let restarted = Service::start_with(dir.take().context("data dir")?, 2, extra)?;
        starts.push(restarted.started_in.as_secs_f64() * 1000.0);
        rss = service_rss_kib(&restarted)?;
        dir = Some(restarted.stop()?);
    }
    Ok((median(starts), rss))
}
