//! The CLI commands: each turns arguments into one or two API calls and prints the result,
//! with value-map names beside numbers (from the same property table the service uses).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use cim::{CimDateTime, CimValue};
use cimjob_rules::model::job::parse_instance_id;
use cimjob_rules::model::properties::{properties, property};
use cimjob_rules::model::value_maps::{
    JobState, LocalOrUtcTime, MissedRunPolicy, OverlapPolicy, RecoveryAction, RunDayOfWeek,
    RunMonth,
};
use futures_util::StreamExt;
use jiff::SignedDuration;
use serde_json::{json, Map, Value};

use crate::client::Client;
use crate::config::{default_data_dir, service_url};
use crate::serve::parse_duration;

/// How to reach the service.
#[derive(clap::Args)]
pub struct Target {
    /// The service's URL [default: the address in the local data dir, else http://127.0.0.1:5988]
    #[arg(long, env = "CIMJOB_URL", global = true)]
    url: Option<String>,
    /// The local service's data dir, used to find its address and (for the CLI on its
    /// machine) the admin password
    #[arg(long, env = "CIMJOB_DATA_DIR", global = true, hide = true)]
    data_dir: Option<PathBuf>,
    /// The user to authenticate as [default: from ~/.config/cimjob/credentials, else admin
    /// with the password in the local data dir]
    #[arg(long, env = "CIMJOB_USER", global = true)]
    user: Option<String>,
    /// Its password
    #[arg(long, env = "CIMJOB_PASSWORD", global = true, hide_env_values = true)]
    password: Option<String>,
    /// Trust this certificate (PEM: a CA, or the service's own) for an https:// --url
    /// [default: the local service's certificate, in its data dir]
    #[arg(long, env = "CIMJOB_CA", global = true, value_name = "FILE")]
    ca: Option<PathBuf>,
}

impl Target {
    fn client(&self) -> anyhow::Result<Client> {
        let data_dir = self.data_dir.clone().unwrap_or_else(default_data_dir);
        let credentials =
            crate::config::credentials(self.user.as_deref(), self.password.as_deref(), &data_dir);
        let url = service_url(self.url.as_deref(), &data_dir);
        // --ca, else (for https) the certificate the service on this machine made, if any
        let trusted = match &self.ca {
            Some(path) => {
                let bytes =
                    std::fs::read(path).with_context(|| format!("--ca {}", path.display()))?;
                reqwest::Certificate::from_pem_bundle(&bytes)
                    .with_context(|| format!("--ca {}: not PEM certificates", path.display()))?
            }
            None if url.starts_with("https://") => {
                let own = crate::tls::own_certificate(&data_dir);
                match std::fs::read(&own).map(|b| reqwest::Certificate::from_pem_bundle(&b)) {
                    Ok(Ok(certificates)) => certificates,
                    Ok(Err(e)) => {
                        eprintln!(
                            "cimjob: {} is not a PEM certificate ({e}); not trusted",
                            own.display()
                        );
                        Vec::new()
                    }
                    Err(_) => Vec::new(),
                }
            }
            None => Vec::new(),
        };
        Client::new(url, credentials, &trusted)
    }
}

/// A job, by InstanceID, number or Name.
#[derive(clap::Args)]
pub struct JobArg {
    /// The job: its InstanceID (CIMJOB:7), number (7) or Name, if no other job has it
    #[arg(value_parser = parse_job)]
    job: JobRef,
    #[command(flatten)]
    target: Target,
}

/// Several jobs, for an action on each: named, or every one the filters select.
#[derive(clap::Args)]
pub struct JobsArg {
    /// The jobs: InstanceIDs (CIMJOB:7), numbers (7) or Names, each some one job's
    #[arg(value_parser = parse_job, required_unless_present_any = ["state", "owner", "name", "query"], num_args = 0..)]
    jobs: Vec<JobRef>,
    /// Or every job these select
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    target: Target,
}

impl JobsArg {
    /// The jobs named, and those the filters select, in that order.
    async fn jobs(&self, client: &Client) -> anyhow::Result<Vec<JobRef>> {
        let mut jobs = self.jobs.clone();
        if self.filter.any() {
            let body = client.get(&self.filter.path(None)?).await?;
            jobs.extend(
                body["jobs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|job| job["InstanceID"].as_str().and_then(parse_instance_id))
                    .map(JobRef::Id),
            );
            anyhow::ensure!(!jobs.is_empty(), "no job matches the filters");
        }
        Ok(jobs)
    }
}

/// A job as the command line names it: its InstanceID or number, or its Name when no other
/// job has that Name (the service is asked which job it is).
#[derive(Clone, Debug)]
pub enum JobRef {
    /// `CIMJOB:7` or `7`.
    Id(u64),
    /// A Name.
    Name(String),
    // looked up through the list's `name` filter, then matched whole
}

fn parse_job(text: &str) -> Result<JobRef, String> {
    match parse_instance_id(text) {
        Some(id) => Ok(JobRef::Id(id)),
        None if text.trim().is_empty() => Err(
            "a job must be named: give its InstanceID (CIMJOB:7), its number (7) or its Name"
                .into(),
        ),
        None => Ok(JobRef::Name(text.to_owned())),
    }
}

impl JobRef {
    /// The job's LocalID; a Name is looked up, and refused unless exactly one job has it.
    async fn resolve(&self, client: &Client) -> anyhow::Result<u64> {
        let name = match self {
            JobRef::Id(id) => return Ok(*id),
            JobRef::Name(name) => name,
        };
        let query = serde_urlencoded::to_string([("name", name.as_str())])?;
        let body = client.get(&format!("/api/v1/jobs?{query}")).await?;
        let named: Vec<u64> = body["jobs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|job| job["Name"] == name.as_str())
            .filter_map(|job| job["InstanceID"].as_str().and_then(parse_instance_id))
            .collect();
        match named.as_slice() {
            [id] => Ok(*id),
            [] => bail!("no job is named {name:?}: give its InstanceID (CIMJOB:7), its number (7) or its Name"),
            many => bail!(
                "{} jobs are named {name:?} ({}): give an InstanceID",
                many.len(),
                many.iter().map(|id| format!("CIMJOB:{id}")).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

fn parse_job_id(text: &str) -> Result<u64, String> {
    parse_instance_id(text).ok_or_else(|| {
        format!("{text:?} is not a job: give its InstanceID (CIMJOB:7) or its number (7)")
    })
}

fn parse_recovery(text: &str) -> Result<RecoveryAction, String> {
    text.parse::<u16>()
        .ok()
        .and_then(RecoveryAction::from_number)
        .or_else(|| RecoveryAction::from_name(text))
        .ok_or_else(|| {
            let names: Vec<String> = RecoveryAction::ALL
                .iter()
                .map(|a| format!("{} ({})", a.name(), a.number()))
                .collect();
            format!(
                "{text:?} is not a RecoveryAction; use one of: {}",
                names.join(", ")
            )
        })
}

/// RunMonth from `mar`, `March` or a calendar month number 1..12 (CIM counts from 0).
fn parse_month(text: &str) -> Result<RunMonth, String> {
    match text.parse::<u8>() {
        Ok(n @ 1..=12) => Ok(RunMonth::from_number(n - 1).expect("0..=11")),
        Ok(n) => Err(format!("month {n} is not 1..12 (or a name like mar)")),
        Err(_) => RunMonth::from_name(text)
            .ok_or_else(|| format!("{text:?} is not a month: use jan…dec or 1..12")),
    }
}

/// RunDayOfWeek from `sun`, `-sunday` (on or before) or its CIM number -7..7.
fn parse_weekday(text: &str) -> Result<RunDayOfWeek, String> {
    text.parse::<i8>()
        .ok()
        .and_then(RunDayOfWeek::from_number)
        .or_else(|| RunDayOfWeek::from_name(text))
        .ok_or_else(|| {
            format!("{text:?} is not a weekday: use sun…sat, -sun…-sat (on or before), or -7..7")
        })
}

/// RunDay: -31..31 (negative counts from the end of the month).
fn parse_day(text: &str) -> Result<i8, String> {
    match text.parse::<i8>() {
        Ok(d) if (-31..=31).contains(&d) => Ok(d),
        _ => Err(format!(
            "{text:?} is not a day of the month: use 1..31, or -1..-31 from the end"
        )),
    }
}

/// RunStartInterval from `HH:MM[:SS]`.
fn parse_clock(text: &str) -> Result<CimDateTime, String> {
    let bad = || format!("{text:?} is not a time of day: use HH:MM or HH:MM:SS (00:00..23:59:59)");
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad());
    }
    let num = |p: &str, max: i64| {
        p.parse::<i64>()
            .ok()
            .filter(|n| (0..=max).contains(n) && p.len() == 2)
    };
    let h = num(parts[0], 23).ok_or_else(bad)?;
    let m = num(parts[1], 59).ok_or_else(bad)?;
    let sec = parts
        .get(2)
        .map_or(Some(0), |p| num(p, 59))
        .ok_or_else(bad)?;
    CimDateTime::from_duration(SignedDuration::from_secs(h * 3600 + m * 60 + sec))
        .map_err(|e| e.to_string())
}

fn parse_overlap(text: &str) -> Result<OverlapPolicy, String> {
    OverlapPolicy::from_name(text)
        .ok_or_else(|| format!("{text:?} is not an OverlapPolicy: use skip, queue or replace"))
}

fn parse_missed(text: &str) -> Result<MissedRunPolicy, String> {
    MissedRunPolicy::from_name(text)
        .ok_or_else(|| format!("{text:?} is not a MissedRunPolicy: use run-once or skip"))
}

/// A point in time for --at/--until: a CIM datetime, a duration from submission (`90s`,
/// `2h`), an RFC 3339 instant, or a local date and time (`2026-12-01 02:00`) read in `zone`.
fn parse_when(text: &str, zone: &jiff::tz::TimeZone) -> anyhow::Result<CimDateTime> {
    if let Ok(d) = CimDateTime::parse(text) {
        return Ok(d);
    }
    if let Ok(d) = parse_duration(text.trim_start_matches('+')) {
        return Ok(CimDateTime::from_duration(d)?);
    }
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        let offset = zone.to_offset(ts).seconds() / 60;
        return Ok(CimDateTime::from_timestamp(ts, offset as i16)?);
    }
    if let Ok(civil) = text.replace(' ', "T").parse::<jiff::civil::DateTime>() {
        let zoned = civil.to_zoned(zone.clone())?;
        return Ok(CimDateTime::from_zoned(&zoned)?);
    }
    bail!("{text:?} is not a time: use e.g. \"2026-12-01 02:00\", 2026-12-01T02:00:00Z, 90s, 2h, or a CIM datetime")
}

/// Options of `cimjob submit`.
#[derive(clap::Args)]
pub struct SubmitArgs {
    /// Name [default: the command's file name]
    #[arg(long)]
    name: Option<String>,
    /// Priority: lower runs first [default: 65535]
    #[arg(long)]
    priority: Option<u32>,
    /// Delete the job automatically once TimeBeforeRemoval has passed after it ends
    #[arg(long)]
    delete_on_completion: bool,
    /// How long the finished job is kept at least, e.g. 30s, 5m [default: 5m]
    #[arg(long, value_parser = parse_duration)]
    time_before_removal: Option<SignedDuration>,
    /// RecoveryAction on failure: re-run, run-recovery-job, continue-with-next-job, do-not-continue, other (or its number)
    #[arg(long, value_parser = parse_recovery)]
    recovery: Option<RecoveryAction>,
    /// OtherRecoveryAction, with --recovery other
    #[arg(long)]
    other_recovery: Option<String>,
    /// The job that --recovery run-recovery-job starts (submit it with --hold first)
    #[arg(long, value_parser = parse_job_id)]
    recovery_job: Option<u64>,
    /// Notify: the user told when the job ends
    #[arg(long)]
    notify: Option<String>,
    /// Caption (at most 64 characters)
    #[arg(long)]
    caption: Option<String>,
    /// Description
    #[arg(long)]
    description: Option<String>,
    /// The directory to run in (absolute) [default: the service's]
    #[arg(long)]
    cwd: Option<String>,
    /// An environment variable for the work, NAME=value (repeatable)
    #[arg(long = "env")]
    environment: Vec<String>,
    /// Hold the job (Suspended) until `cimjob resume`
    #[arg(long)]
    hold: bool,
    /// Start no earlier than TIME (ScheduledStartTime): "2026-12-01 02:00", an RFC 3339 instant, or 90s / 2h from now
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// RepeatInterval: recur every DURATION (15m, 1h, 30s) from the first run; with no
    /// --times, for ever (JobRunTimes 0)
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", conflicts_with_all = CIM_CALENDAR_FLAGS)]
    every: Option<SignedDuration>,
    /// CalendarExpression: recur at the times a systemd OnCalendar expression names
    /// ("Mon,Thu 02:00", "Mon..Fri 18:30", "*:0/15", "hourly"), in --tz; with no --times, for
    /// ever (JobRunTimes 0)
    #[arg(long, value_name = "EXPR", conflicts_with_all = CIM_CALENDAR_FLAGS, conflicts_with = "every")]
    calendar: Option<String>,
    /// OverlapPolicy, for an occurrence that comes while the previous run still goes: skip
    /// (default), queue (one, started when the run ends) or replace (terminate the run)
    #[arg(long, value_parser = parse_overlap)]
    overlap: Option<OverlapPolicy>,
    /// RunMonth: jan…dec or 1..12 [default: every month]
    #[arg(long, value_parser = parse_month)]
    month: Option<RunMonth>,
    /// RunDay: 1..31, or -1..-31 counted from the end of the month
    #[arg(long, value_parser = parse_day, allow_hyphen_values = true)]
    day: Option<i8>,
    /// RunDayOfWeek: sun…sat = on or after --day (the first such day without --day), -sun…-sat = on or before (the last)
    #[arg(long, value_parser = parse_weekday, allow_hyphen_values = true)]
    weekday: Option<RunDayOfWeek>,
    /// RunStartInterval: the time of day, HH:MM[:SS] [default: midnight]
    #[arg(long, value_parser = parse_clock, value_name = "HH:MM[:SS]")]
    time: Option<CimDateTime>,
    /// JobRunTimes: how many runs; 0 = until --until or a terminate [default: 1]
    #[arg(long)]
    times: Option<u32>,
    /// UntilTime: no run after TIME (same forms as --at)
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// TimeZone: the IANA zone the schedule is read in [default: the service's]
    #[arg(long)]
    tz: Option<String>,
    /// Read the schedule in UTC (LocalOrUtcTime 2)
    #[arg(long, conflicts_with = "tz")]
    utc: bool,
    /// MissedRunPolicy: run-once (default) or skip, for runs missed while the service was down
    #[arg(long, value_parser = parse_missed)]
    missed: Option<MissedRunPolicy>,
    /// Follow the job with a progress bar after submitting it
    #[arg(long)]
    watch: bool,
    /// Print the new job as JSON
    #[arg(long)]
    json: bool,
    /// The command and its arguments, after --
    #[arg(last = true, required = true, num_args = 1..)]
    command: Vec<String>,
    #[command(flatten)]
    target: Target,
}

/// The CIM calendar's options: a job recurs one way, so --every and --calendar exclude them.
const CIM_CALENDAR_FLAGS: [&str; 4] = ["month", "day", "weekday", "time"];

fn interval(d: SignedDuration) -> anyhow::Result<String> {
    Ok(CimDateTime::from_duration(d)?.to_string())
}

/// `cimjob submit`.
pub async fn submit(args: SubmitArgs) -> anyhow::Result<u8> {
    let client = args.target.client()?;
    let name = args.name.clone().unwrap_or_else(|| {
        let first = &args.command[0];
        first.rsplit('/').next().unwrap_or(first).to_string()
    });
    let mut p = Map::new();
    p.insert("Name".into(), json!(name));
    p.insert("CommandLine".into(), json!(args.command));
    if let Some(v) = args.priority {
        p.insert("Priority".into(), json!(v));
    }
    if args.delete_on_completion {
        p.insert("DeleteOnCompletion".into(), json!(true));
    }
    if let Some(d) = args.time_before_removal {
        p.insert("TimeBeforeRemoval".into(), json!(interval(d)?));
    }
    if let Some(r) = args.recovery {
        p.insert("RecoveryAction".into(), json!(r.number()));
    }
    if let Some(v) = &args.other_recovery {
        p.insert("OtherRecoveryAction".into(), json!(v));
    }
    if let Some(v) = args.recovery_job {
        p.insert("RecoveryJob".into(), json!(format!("CIMJOB:{v}")));
    }
    for (key, value) in [
        ("Notify", &args.notify),
        ("Caption", &args.caption),
        ("Description", &args.description),
        ("WorkingDirectory", &args.cwd),
    ] {
        if let Some(v) = value {
            p.insert(key.into(), json!(v));
        }
    }
    if !args.environment.is_empty() {
        p.insert("Environment".into(), json!(args.environment));
    }
    let schedule = schedule_values(&args)?;
    p.extend(schedule.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let job = client
        .post(
            "/api/v1/jobs",
            json!({ "properties": p, "hold": args.hold }),
        )
        .await?;
    let id = job["InstanceID"].as_str().unwrap_or("?").to_string();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&job)?);
    } else {
        let next = job["NextRunTime"]
            .as_str()
            .map(|t| format!(", next run {}", readable_time(Some(t))))
            .unwrap_or_default();
        println!("{id} submitted ({}{next})", state_name(&job));
        for (name, value) in &schedule {
            println!("  {name} = {}", describe(name, value));
        }
    }
    if args.watch {
        return follow(&client, parse_instance_id(&id).unwrap_or_default()).await;
    }
    Ok(0)
}

/// The CIM scheduling properties the human options map to.
fn schedule_values(args: &SubmitArgs) -> anyhow::Result<Vec<(&'static str, Value)>> {
    let zone = match &args.tz {
        Some(name) => jiff::tz::TimeZone::get(name).map_err(|_| {
            anyhow::anyhow!("--tz {name:?} is not an IANA time zone (e.g. Europe/Berlin)")
        })?,
        None if args.utc => jiff::tz::TimeZone::UTC,
        None => jiff::tz::TimeZone::system(),
    };
    let mut v = Vec::new();
    if let Some(at) = &args.at {
        v.push((
            "ScheduledStartTime",
            json!(parse_when(at, &zone).with_context(|| "--at")?.to_string()),
        ));
    }
    if let Some(m) = args.month {
        v.push(("RunMonth", json!(m.number())));
    }
    if let Some(d) = args.day {
        v.push(("RunDay", json!(d)));
    }
    if let Some(w) = args.weekday {
        v.push(("RunDayOfWeek", json!(w.number())));
    }
    if let Some(t) = &args.time {
        v.push(("RunStartInterval", json!(t.to_string())));
    }
    let calendar = !v.iter().all(|(k, _)| *k == "ScheduledStartTime");
    if let Some(every) = args.every {
        v.push((
            "RepeatInterval",
            json!(interval(every).with_context(|| "--every")?),
        ));
    }
    if let Some(expr) = &args.calendar {
        v.push(("CalendarExpression", json!(expr)));
    }
    let repeats = args.every.is_some() || args.calendar.is_some();
    if args.utc {
        v.push(("LocalOrUtcTime", json!(LocalOrUtcTime::UtcTime.number())));
    } else if calendar || args.calendar.is_some() {
        v.push(("LocalOrUtcTime", json!(LocalOrUtcTime::LocalTime.number())));
    }
    if let Some(tz) = &args.tz {
        v.push(("TimeZone", json!(tz)));
    }
    match args.times {
        Some(n) => v.push(("JobRunTimes", json!(n))),
        // "every 15 minutes" means for ever unless said otherwise
        None if repeats => v.push(("JobRunTimes", json!(0))),
        None => {}
    }
    if let Some(until) = &args.until {
        v.push((
            "UntilTime",
            json!(parse_when(until, &zone)
                .with_context(|| "--until")?
                .to_string()),
        ));
    }
    if let Some(m) = args.missed {
        v.push(("MissedRunPolicy", json!(m.number())));
    }
    if let Some(o) = args.overlap {
        v.push(("OverlapPolicy", json!(o.number())));
    }
    Ok(v)
}

fn state_name(job: &Value) -> &'static str {
    job["JobState"]
        .as_u64()
        .and_then(|n| JobState::from_number(n as u16))
        .map_or("?", JobState::name)
}

/// The JobState as a list shows it, telling apart what the one state covers: a New job
/// queued for a slot or waiting for its time, a Running one running or between runs.
fn state_shown(job: &Value) -> String {
    /// OperationalStatus Dormant: nothing runs now.
    const DORMANT: u64 = 15;
    let dormant = job["OperationalStatus"]
        .as_array()
        .is_some_and(|s| s.iter().any(|v| v.as_u64() == Some(DORMANT)));
    let scheduled = SCHEDULE_PROPERTIES.iter().any(|p| !job[*p].is_null());
    let state = job["JobState"]
        .as_u64()
        .and_then(|n| JobState::from_number(n as u16));
    state.map_or_else(|| "?".into(), |s| state_label(s, dormant, scheduled))
}

/// The properties whose being set makes a New job scheduled rather than queued.
const SCHEDULE_PROPERTIES: [&str; 7] = [
    "ScheduledStartTime",
    "RunStartInterval",
    "RunMonth",
    "RunDay",
    "RunDayOfWeek",
    "RepeatInterval",
    "CalendarExpression",
];

/// A JobState as a list shows it (the CLI's from a job's JSON, the dashboard's from the job):
/// a New job queued or scheduled, a Running one that is Dormant between runs.
pub(crate) fn state_label(state: JobState, dormant: bool, scheduled: bool) -> String {
    let name = state.name();
    match (state, dormant) {
        (JobState::New, _) if scheduled => format!("{name} (scheduled)"),
        (JobState::New, _) => format!("{name} (queued)"),
        (JobState::Running, true) => format!("{name} (between runs)"),
        _ => name.to_owned(),
    }
}

/// `text` cut to `max` characters, an ellipsis standing for the rest: one long Name does not
/// widen every row of a table.
fn clipped(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// The widest Name a list shows.
const NAME_WIDTH: usize = 32;

/// Options of `cimjob list`.
#[derive(clap::Args)]
pub struct ListArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    filter: FilterArgs,
    /// At most this many jobs (the first, in LocalID order)
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    limit: Option<u64>,
    /// The table's columns, comma-separated
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "id,name,state,percent,priority,owner,submitted,error"
    )]
    format: Vec<Column>,
    /// Order the table by this column (then by LocalID)
    #[arg(long, value_enum, default_value = "id")]
    sort: Column,
    /// Largest first
    #[arg(long)]
    reverse: bool,
    #[command(flatten)]
    target: Target,
}

/// Which jobs: the list's filters, which the actions on several jobs take too.
#[derive(clap::Args)]
pub struct FilterArgs {
    /// Only jobs in these JobStates: numbers or names, comma-separated (running,suspended)
    #[arg(long)]
    state: Option<String>,
    /// Only this owner's jobs
    #[arg(long)]
    owner: Option<String>,
    /// Only jobs whose Name holds this (case ignored)
    #[arg(long)]
    name: Option<String>,
    /// Only jobs whose Name, command or JobStatus holds every word of this
    #[arg(short = 'q', long = "query", value_name = "WORDS")]
    query: Option<String>,
}

impl FilterArgs {
    /// Whether any filter is given.
    fn any(&self) -> bool {
        [&self.state, &self.owner, &self.name, &self.query]
            .iter()
            .any(|f| f.is_some())
    }

    /// The list's path with these filters (and `limit`) as its query string.
    fn path(&self, limit: Option<u64>) -> anyhow::Result<String> {
        let limit = limit.map(|l| l.to_string());
        let pairs: Vec<(&str, &str)> = [
            ("state", self.state.as_deref()),
            ("owner", self.owner.as_deref()),
            ("name", self.name.as_deref()),
            ("q", self.query.as_deref()),
            ("limit", limit.as_deref()),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some((key, value?)))
        .collect();
        let query = serde_urlencoded::to_string(&pairs)?;
        Ok(if query.is_empty() {
            "/api/v1/jobs".to_owned()
        } else {
            format!("/api/v1/jobs?{query}")
        })
    }
}

impl ListArgs {
    /// The list's path with the filters as its query string.
    fn path(&self) -> anyhow::Result<String> {
        self.filter.path(self.limit)
    }
}

/// `cimjob list`.
pub async fn list(args: ListArgs) -> anyhow::Result<u8> {
    let body = args.target.client()?.get(&args.path()?).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body["jobs"])?);
        return Ok(0);
    }
    let mut jobs: Vec<&Value> = body["jobs"].as_array().into_iter().flatten().collect();
    // a stable sort: equal keys stay in LocalID order
    jobs.sort_by_key(|job| args.sort.key(job));
    if args.reverse {
        jobs.reverse();
    }
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    table.set_header(args.format.iter().map(|c| c.header()));
    for job in jobs {
        table.add_row(args.format.iter().map(|c| c.cell(job)));
    }
    println!("{table}");
    Ok(0)
}

/// A column `cimjob list` can show and sort by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Column {
    /// InstanceID
    Id,
    /// Name (clipped)
    Name,
    /// JobState, telling queued, scheduled and between runs apart
    State,
    /// PercentComplete
    Percent,
    /// Priority
    Priority,
    /// Owner
    Owner,
    /// TimeSubmitted
    Submitted,
    /// StartTime
    Started,
    /// ErrorCode
    Error,
    /// JobStatus (clipped)
    Status,
    /// CommandLine (clipped)
    Command,
}

/// What a column's cells sort by: a number where the property is one, else its text.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Number(i64),
    Text(String),
}

impl Column {
    /// The property the column shows.
    fn property(self) -> &'static str {
        match self {
            Column::Id => "InstanceID",
            Column::Name => "Name",
            Column::State => "JobState",
            Column::Percent => "PercentComplete",
            Column::Priority => "Priority",
            Column::Owner => "Owner",
            Column::Submitted => "TimeSubmitted",
            Column::Started => "StartTime",
            Column::Error => "ErrorCode",
            Column::Status => "JobStatus",
            Column::Command => "CommandLine",
        }
    }

    fn header(self) -> &'static str {
        match self {
            Column::Percent => "%",
            other => other.property(),
        }
    }

    fn cell(self, job: &Value) -> String {
        let value = &job[self.property()];
        let text = match value {
            Value::Null => "-".to_string(),
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(" "),
            other => other.to_string(),
        };
        match self {
            Column::Name | Column::Status | Column::Command => clipped(&text, NAME_WIDTH),
            Column::State => state_shown(job),
            Column::Submitted | Column::Started => readable_time(value.as_str()),
            _ => text,
        }
    }

    fn key(self, job: &Value) -> SortKey {
        let value = &job[self.property()];
        match self {
            Column::Id => SortKey::Number(
                value
                    .as_str()
                    .and_then(parse_instance_id)
                    .map_or(0, |id| id as i64),
            ),
            _ => match value.as_i64() {
                Some(n) => SortKey::Number(n),
                None => SortKey::Text(self.cell(job)),
            },
        }
    }
}

/// A CIM timestamp as `2026-11-24 12:00:03 +01:00` (its own offset), for tables.
fn readable_time(text: Option<&str>) -> String {
    text.and_then(|t| CimDateTime::parse(t).ok())
        .and_then(|d| {
            let offset =
                jiff::tz::Offset::from_seconds(i32::from(d.offset_minutes()?) * 60).ok()?;
            Some(
                d.to_timestamp()
                    .ok()?
                    .to_zoned(offset.to_time_zone())
                    .strftime("%Y-%m-%d %H:%M:%S %:z")
                    .to_string(),
            )
        })
        .unwrap_or_else(|| "-".into())
}

/// `cimjob run-now`: a job that waits for its time runs now.
pub async fn run_now(args: JobArg) -> anyhow::Result<u8> {
    let client = args.target.client()?;
    let job = args.job.resolve(&client).await?;
    client
        .request_json(
            reqwest::Method::POST,
            &format!("/api/v1/jobs/{job}/runnow"),
            json!({}),
        )
        .await?;
    println!("CIMJOB:{job} runs now");
    Ok(0)
}

/// Options of `cimjob next`.
#[derive(clap::Args)]
pub struct NextArgs {
    /// The job: its InstanceID (CIMJOB:7), number (7) or Name, if no other job has it
    #[arg(value_parser = parse_job)]
    job: JobRef,
    /// How many coming runs
    #[arg(short = 'n', default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100))]
    count: u64,
    #[command(flatten)]
    target: Target,
}

/// `cimjob next`: the job's coming runs, in the service's time zone.
pub async fn next(args: NextArgs) -> anyhow::Result<u8> {
    let client = args.target.client()?;
    let job = args.job.resolve(&client).await?;
    let runs = client
        .get(&format!("/api/v1/jobs/{job}/runs?upcoming={}", args.count))
        .await?;
    let upcoming = runs["upcoming"].as_array().cloned().unwrap_or_default();
    if upcoming.is_empty() {
        println!("CIMJOB:{job} has no coming run");
    }
    for t in upcoming {
        println!("{}", readable_time(t.as_str()));
    }
    Ok(0)
}

/// Options of `cimjob show`.
#[derive(clap::Args)]
pub struct ShowArgs {
    /// The job: its InstanceID (CIMJOB:7), number (7) or Name, if no other job has it
    #[arg(value_parser = parse_job)]
    job: JobRef,
    /// Print JSON
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    target: Target,
}

/// One property value for people: value-map names beside numbers, timestamps also readable.
fn describe(name: &str, value: &Value) -> String {
    let Some(prop) = property(name) else {
        return value.to_string();
    };
    let decl = &prop.decl;
    let one = |v: &Value| -> String {
        let raw = match v {
            Value::String(s) => s.clone(),
            Value::Null => return "NULL".into(),
            other => other.to_string(),
        };
        let named = v
            .as_i64()
            .and_then(|n| CimValue::from_integer(decl.ty, i128::from(n)).ok())
            .and_then(|cv| decl.value_name(&cv));
        match named {
            Some(n) => format!("{raw} ({n})"),
            None if decl.ty == cim::CimType::DateTime && !raw.ends_with(":000") => {
                format!("{raw} ({})", readable_time(Some(&raw)))
            }
            None => raw,
        }
    };
    match value {
        Value::Array(items) => {
            format!("[{}]", items.iter().map(one).collect::<Vec<_>>().join(", "))
        }
        v => one(v),
    }
}

/// `cimjob show`.
pub async fn show(args: ShowArgs) -> anyhow::Result<u8> {
    let client = args.target.client()?;
    let id = args.job.resolve(&client).await?;
    let job = client.get(&format!("/api/v1/jobs/{id}")).await?;
    let runs = client.get(&format!("/api/v1/jobs/{id}/runs")).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "job": job, "runs": runs["runs"] }))?
        );
        return Ok(0);
    }
    let width = properties()
        .iter()
        .map(|p| p.decl.name.len())
        .max()
        .unwrap_or(0);
    for p in properties() {
        let value = &job[p.decl.name];
        println!("{:width$}  {}", p.decl.name, describe(p.decl.name, value));
    }
    let upcoming = runs["upcoming"].as_array().cloned().unwrap_or_default();
    if !upcoming.is_empty() {
        println!("\nNext runs:");
        for t in upcoming {
            println!("  {}", readable_time(t.as_str()));
        }
    }
    let runs = runs["runs"].as_array().cloned().unwrap_or_default();
    if !runs.is_empty() {
        println!("\nRuns:");
        let mut table = comfy_table::Table::new();
        table.load_preset(comfy_table::presets::NOTHING);
        table.set_header([
            "run",
            "started",
            "ended",
            "exit",
            "signal",
            "ErrorCode",
            "state",
            "error",
        ]);
        for r in runs {
            let text = |k: &str| match &r[k] {
                Value::Null => "-".to_string(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let state = r["final_state"]
                .as_u64()
                .and_then(|n| JobState::from_number(n as u16))
                .map_or("-", JobState::name);
            table.add_row([
                text("run_number"),
                text("started_at"),
                text("ended_at"),
                text("exit_status"),
                text("signal"),
                text("error_code"),
                state.into(),
                text("error_description"),
            ]);
        }
        println!("{table}");
    }
    Ok(0)
}

/// `cimjob watch`.
pub async fn watch(args: JobArg) -> anyhow::Result<u8> {
    let client = args.target.client()?;
    let job = args.job.resolve(&client).await?;
    follow(&client, job).await
}

/// Shows a progress bar until the job reaches a final state; exit code 0 only if it
/// Completed.
async fn follow(client: &Client, id: u64) -> anyhow::Result<u8> {
    let bar = indicatif::ProgressBar::new(100);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix} [{bar:40}] {pos:>3}% {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("CIMJOB:{id}"));
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut events = Box::pin(client.events(&format!("/api/v1/jobs/{id}/events")).await?);
    while let Some(event) = events.next().await {
        let mut job = event?;
        if job.get("lagged").is_some() {
            job = client.get(&format!("/api/v1/jobs/{id}")).await?;
        }
        if job.get("deleted").is_some() {
            bar.abandon_with_message("deleted");
            return Ok(1);
        }
        let state = job["JobState"]
            .as_u64()
            .and_then(|n| JobState::from_number(n as u16));
        bar.set_position(job["PercentComplete"].as_u64().unwrap_or(0).min(100));
        let status = job["JobStatus"].as_str().unwrap_or("");
        bar.set_message(format!("{} {status}", state.map_or("?", JobState::name)));
        match state {
            Some(JobState::Completed) => {
                bar.finish_with_message("Completed");
                return Ok(0);
            }
            Some(s @ (JobState::Exception | JobState::Terminated | JobState::Killed)) => {
                let why = job["ErrorDescription"].as_str().unwrap_or("");
                bar.abandon_with_message(format!("{} {why}", s.name()));
                if let Some(tail) = tail_of_log(client, id, 20).await {
                    eprintln!("last lines of its output:\n{tail}");
                }
                return Ok(1);
            }
            _ => {}
        }
    }
    bail!("the service closed the event stream before CIMJOB:{id} ended")
}

/// Prints a method's ReturnValue; non-zero (other than 4096, "transition started") fails.
fn report(method: &str, id: u64, body: &Value) -> anyhow::Result<u8> {
    let code = body["ReturnValue"]
        .as_u64()
        .context("no ReturnValue in the answer")?;
    let name = body["Description"].as_str().unwrap_or("");
    match code {
        0 | 4096 => {
            println!("{method} on CIMJOB:{id}: {code} ({name})");
            Ok(0)
        }
        _ => bail!("{method} on CIMJOB:{id} returned {code} ({name})"),
    }
}

/// Runs `act` on each of `jobs` in turn (a Name looked up through `client`), saying what
/// became of each: 0 if every one went well, else 1 once all were tried (the failures said on
/// stderr).
async fn on_each<F, Fut>(client: &Client, jobs: &[JobRef], act: F) -> anyhow::Result<u8>
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<u8>>,
{
    if let [only] = jobs {
        return act(only.resolve(client).await?).await;
    }
    let mut failed = 0;
    for job in jobs {
        let done = match job.resolve(client).await {
            Ok(id) => act(id).await,
            Err(e) => Err(e),
        };
        if let Err(e) = done {
            eprintln!("cimjob: {e:#}");
            failed += 1;
        }
    }
    anyhow::ensure!(failed == 0, "{failed} of {} jobs failed", jobs.len());
    Ok(0)
}

/// `cimjob suspend` / `cimjob resume` / `cimjob terminate`: RequestStateChange on each job.
pub async fn state_change(
    args: JobsArg,
    requested: u16,
    timeout: Option<SignedDuration>,
) -> anyhow::Result<u8> {
    let client = args.target.client()?;
    let mut body = json!({ "RequestedState": requested });
    if let Some(t) = timeout {
        body["TimeoutPeriod"] = json!(interval(t)?);
    }
    let what = cimjob_rules::model::value_maps::RequestedState::from_number(requested)
        .map_or("?", |r| r.name());
    on_each(&client, &args.jobs(&client).await?, |job| {
        let (client, body) = (&client, body.clone());
        async move {
            let path = format!("/api/v1/jobs/{job}/requeststatechange");
            let answer = client.post(&path, body).await?;
            report(&format!("RequestStateChange({what})"), job, &answer)
        }
    })
    .await
}

/// Options of `cimjob terminate`.
#[derive(clap::Args)]
pub struct TerminateArgs {
    #[command(flatten)]
    job: JobsArg,
    /// How long to wait after SIGTERM before SIGKILL, e.g. 5s [default: 10s]
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<SignedDuration>,
}

/// `cimjob terminate`.
pub async fn terminate(args: TerminateArgs) -> anyhow::Result<u8> {
    state_change(args.job, 4, args.timeout).await
}

/// Options of `cimjob kill`.
#[derive(clap::Args)]
pub struct KillArgs {
    #[command(flatten)]
    job: JobsArg,
    /// Delete the job once killed (KillJob's DeleteOnKill)
    #[arg(long)]
    delete: bool,
}

/// `cimjob kill`: RequestStateChange(Kill), or KillJob(DeleteOnKill) with --delete.
pub async fn kill(args: KillArgs) -> anyhow::Result<u8> {
    if !args.delete {
        return state_change(args.job, 5, None).await;
    }
    let client = args.job.target.client()?;
    on_each(&client, &args.job.jobs(&client).await?, |job| {
        let client = &client;
        async move {
            let answer = client
                .post(
                    &format!("/api/v1/jobs/{job}/killjob"),
                    json!({ "DeleteOnKill": true }),
                )
                .await?;
            report("KillJob(DeleteOnKill)", job, &answer)
        }
    })
    .await
}

/// A `cimjob set` value written as `cimjob submit`'s options take it (`RunStartInterval=03:30`,
/// `TimeBeforeRemoval=7d`, `ScheduledStartTime=2h`, `RecoveryAction=re-run`, `RunMonth=mar`),
/// as its CIM value; `None` for a value already in CIM form (a number, a CIM datetime) or a
/// property with no other form.
fn friendly_value(property: &str, text: &str) -> Result<Option<Value>, String> {
    if text.parse::<i64>().is_ok() || CimDateTime::parse(text).is_ok() {
        return Ok(None);
    }
    let cim = |d: Result<CimDateTime, cim::DateTimeError>| {
        d.map(|d| json!(d.to_string())).map_err(|e| e.to_string())
    };
    Ok(Some(match property {
        "RunStartInterval" => json!(parse_clock(text)?.to_string()),
        "TimeBeforeRemoval" | "RepeatInterval" => {
            cim(CimDateTime::from_duration(parse_duration(text)?))?
        }
        "ScheduledStartTime" | "UntilTime" => {
            json!(parse_when(text, &jiff::tz::TimeZone::system())
                .map_err(|e| format!("{e:#}"))?
                .to_string())
        }
        "RecoveryAction" => json!(parse_recovery(text)?.number()),
        "RunMonth" => json!(parse_month(text)?.number()),
        "RunDayOfWeek" => json!(parse_weekday(text)?.number()),
        "MissedRunPolicy" => json!(parse_missed(text)?.number()),
        "OverlapPolicy" => json!(parse_overlap(text)?.number()),
        _ => return Ok(None),
    }))
}

/// Options of `cimjob set`.
#[derive(clap::Args)]
pub struct SetArgs {
    #[command(flatten)]
    job: JobArg,
    /// NAME=VALUE in CIM form (e.g. Priority=5, RunStartInterval=00000000030000.000000:000,
    /// DeleteOnCompletion=true), or NAME alone to set it to NULL; only Write properties
    #[arg(required = true, num_args = 1.., value_name = "NAME=VALUE")]
    values: Vec<String>,
}

/// `cimjob set`: ModifyInstance through the API; the service types each value by the
/// property table and refuses read-only properties by name.
pub async fn set(args: SetArgs) -> anyhow::Result<u8> {
    let mut p = Map::new();
    for item in &args.values {
        let (name, value) = match item.split_once('=') {
            Some((name, value)) => (name, json!(value)),
            None => (item.as_str(), Value::Null),
        };
        let prop = property(name)
            .with_context(|| format!("CIMJOB_ConcreteJob has no property {name:?}"))?;
        let value = match value
            .as_str()
            .map(|text| friendly_value(prop.decl.name, text))
        {
            Some(Ok(Some(converted))) => converted,
            Some(Err(e)) => bail!("{name}: {e}"),
            _ => value,
        };
        let value = match (&value, prop.decl.is_array) {
            (Value::String(text), true) => {
                json!(text.split(',').map(str::trim).collect::<Vec<_>>())
            }
            _ => value,
        };
        p.insert(prop.decl.name.to_string(), value);
    }
    let client = args.job.target.client()?;
    let job = args.job.job.resolve(&client).await?;
    let body = client
        .request_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/jobs/{job}"),
            json!({ "properties": p }),
        )
        .await?;
    let changed: Vec<&str> = body["changed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if changed.is_empty() {
        println!("CIMJOB:{job}: nothing changed");
    } else {
        println!("CIMJOB:{job}: changed {}", changed.join(", "));
        for name in changed {
            println!("  {name} = {}", describe(name, &body["job"][name]));
        }
    }
    Ok(0)
}

/// Options of `cimjob logs`.
#[derive(clap::Args)]
pub struct LogsArgs {
    /// The job: its InstanceID (CIMJOB:7), number (7) or Name, if no other job has it
    #[arg(value_parser = parse_job)]
    job: JobRef,
    /// Which run (1 is the first; default: the last)
    #[arg(long)]
    run: Option<u32>,
    /// Follow the output as it is written, until the run ends
    #[arg(short = 'f', long)]
    follow: bool,
    #[command(flatten)]
    target: Target,
}

/// `cimjob logs`: a run's output, as the job's owner (or an admin) may read it.
pub async fn logs(args: LogsArgs) -> anyhow::Result<u8> {
    use std::io::Write;
    let client = args.target.client()?;
    let job = args.job.resolve(&client).await?;
    let run = match args.run {
        Some(run) => run,
        None => last_run(&client, job).await?,
    };
    let follow = if args.follow { "?follow=1" } else { "" };
    let path = format!("/api/v1/jobs/{job}/runs/{run}/log{follow}");
    let mut chunks = Box::pin(client.bytes(&path).await?);
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = chunks.next().await {
        out.write_all(&chunk?)?;
        out.flush()?;
    }
    Ok(0)
}

/// The number of a job's last run (its RunCount); an error for a job that has not run.
async fn last_run(client: &Client, id: u64) -> anyhow::Result<u32> {
    let job = client.get(&format!("/api/v1/jobs/{id}")).await?;
    match job["RunCount"].as_u64() {
        Some(n) if n > 0 => Ok(n as u32),
        _ => bail!("CIMJOB:{id} has not run yet: it has no output"),
    }
}

/// The last `lines` lines of a job's last run, for a watch that ended badly.
async fn tail_of_log(client: &Client, id: u64, lines: usize) -> Option<String> {
    let run = last_run(client, id).await.ok()?;
    let mut chunks = Box::pin(
        client
            .bytes(&format!("/api/v1/jobs/{id}/runs/{run}/log"))
            .await
            .ok()?,
    );
    let mut all = Vec::new();
    while let Some(Ok(chunk)) = chunks.next().await {
        all.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&all);
    let kept: Vec<&str> = text.lines().collect();
    let start = kept.len().saturating_sub(lines);
    (!kept.is_empty()).then(|| kept[start..].join("\n"))
}

/// `cimjob rm`.
pub async fn remove(args: JobsArg) -> anyhow::Result<u8> {
    let client = args.target.client()?;
    on_each(&client, &args.jobs(&client).await?, |job| {
        let client = &client;
        async move {
            client.delete(&format!("/api/v1/jobs/{job}")).await?;
            println!("CIMJOB:{job} deleted");
            Ok(0)
        }
    })
    .await
}

/// Options of `cimjob answer`.
#[derive(clap::Args)]
pub struct AnswerArgs {
    #[command(flatten)]
    job: JobArg,
    /// The answer, one line
    text: String,
}

/// `cimjob answer`.
pub async fn answer(args: AnswerArgs) -> anyhow::Result<u8> {
    let client = args.job.target.client()?;
    let job = args.job.job.resolve(&client).await?;
    let body = client
        .post(
            &format!("/api/v1/jobs/{job}/answerquery"),
            json!({ "Answer": args.text }),
        )
        .await?;
    report("AnswerQuery", job, &body)
}

/// `cimjob user …`: the users of a data dir.
#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Add a user; its password is read from standard input (one line).
    Add {
        /// The user name
        name: String,
        /// admin (controls every job) or user (controls its own)
        #[arg(long, default_value = "user")]
        role: crate::auth::Role,
        /// The OS account its jobs run as [default: the same name]
        #[arg(long)]
        os_user: Option<String>,
        /// Where the users are
        #[command(flatten)]
        at: UsersAt,
    },
    /// Set a user's password, read from standard input (one line).
    Passwd {
        /// The user name
        name: String,
        /// Where the users are
        #[command(flatten)]
        at: UsersAt,
    },
    /// Remove a user.
    Del {
        /// The user name
        name: String,
        /// Where the users are
        #[command(flatten)]
        at: UsersAt,
    },
    /// List the users.
    List {
        /// Where the users are
        #[command(flatten)]
        at: UsersAt,
    },
}

/// Where `cimjob user` finds the users: where the service keeps them.
#[derive(clap::Args)]
pub struct UsersAt {
    /// The data dir [default: $CIMJOB_DATA_DIR, else ~/.local/share/cimjob]
    #[arg(long, env = "CIMJOB_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The users of the nodes sharing this PostgreSQL database (as `cimjob serve --database-url`)
    #[arg(long, env = "CIMJOB_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
}

impl UsersAt {
    fn place(&self) -> anyhow::Result<crate::auth::UsersPlace> {
        let data_dir = self.data_dir.clone().unwrap_or_else(default_data_dir);
        if self.database_url.is_none() {
            std::fs::create_dir_all(&data_dir)
                .with_context(|| format!("cannot create {}", data_dir.display()))?;
        }
        Ok(crate::auth::UsersPlace::new(
            &data_dir,
            self.database_url.as_deref(),
        ))
    }
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    anyhow::ensure!(!password.is_empty(), "no password on standard input: pipe it in, e.g. `echo 's3cret-pass' | cimjob user add alice`");
    Ok(password)
}

/// `cimjob user`.
pub fn user(command: UserCommand) -> anyhow::Result<u8> {
    match command {
        UserCommand::Add {
            name,
            role,
            os_user,
            at,
        } => {
            let mut users = at.place()?.open()?;
            let password = read_password()?;
            users.add(&name, role, os_user.as_deref().unwrap_or(&name), &password)?;
            users.save()?;
            println!("user {name} added ({role})");
        }
        UserCommand::Passwd { name, at } => {
            let mut users = at.place()?.open()?;
            let password = read_password()?;
            users.set_password(&name, &password)?;
            users.save()?;
            println!("password of {name} changed");
        }
        UserCommand::Del { name, at } => {
            let mut users = at.place()?.open()?;
            users.remove(&name)?;
            users.save()?;
            println!("user {name} removed");
        }
        UserCommand::List { at } => {
            let users = at.place()?.open()?;
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::NOTHING);
            table.set_header(["user", "role", "OS account"]);
            for u in users.list() {
                table.add_row([u.name.clone(), u.role.to_string(), u.os_user.clone()]);
            }
            println!("{table}");
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_days_as_24_hours_and_friendly_values_become_cim() {
        assert_eq!(parse_duration("7d"), Ok(SignedDuration::from_hours(7 * 24)));
        assert_eq!(parse_duration("1d 12h"), Ok(SignedDuration::from_hours(36)));
        assert_eq!(parse_duration("90s"), Ok(SignedDuration::from_secs(90)));
        assert!(parse_duration("soon").is_err());
        let value = |p, t| friendly_value(p, t).unwrap();
        assert_eq!(
            value("RunStartInterval", "03:30"),
            Some(json!("00000000033000.000000:000"))
        );
        assert_eq!(
            value("TimeBeforeRemoval", "7d"),
            Some(json!("00000007000000.000000:000"))
        );
        assert_eq!(value("RecoveryAction", "re-run"), Some(json!(4)));
        assert_eq!(value("RunMonth", "mar"), Some(json!(2)));
        // CIM forms, and properties with no other form, go as written
        assert_eq!(value("RunMonth", "2"), None);
        assert_eq!(
            value("TimeBeforeRemoval", "00000000000030.000000:000"),
            None
        );
        assert_eq!(value("Name", "03:30"), None);
        assert!(friendly_value("RunStartInterval", "25:00").is_err());
    }

    #[test]
    fn a_long_name_is_clipped_and_a_short_one_kept() {
        assert_eq!(clipped("backup", 32), "backup");
        assert_eq!(clipped("abcdef", 4), "abc…");
        assert_eq!(clipped("ééééé", 3), "éé…");
    }

    #[test]
    fn the_list_tells_queued_scheduled_and_between_runs_apart() {
        let queued = json!({"JobState": 2, "OperationalStatus": [15]});
        let scheduled = json!({"JobState": 2, "RunStartInterval": "00000000033000.000000:000"});
        let between = json!({"JobState": 4, "OperationalStatus": [15]});
        let running = json!({"JobState": 4, "OperationalStatus": [2]});
        assert_eq!(state_shown(&queued), "New (queued)");
        assert_eq!(state_shown(&scheduled), "New (scheduled)");
        assert_eq!(state_shown(&between), "Running (between runs)");
        assert_eq!(state_shown(&running), "Running");
    }
}
