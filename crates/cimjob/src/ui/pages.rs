//! The dashboard's pages: what each reads from the engine, shaped for its template. Each page
//! has a live part (a fragment of its own URL) that `ui.js` asks to refresh when jobs change;
//! the page and its fragment render the same data (`live` in both templates).

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::Extension;
use cimjob_rules::model::properties::{instance, property};
use cimjob_rules::model::value_maps::JobState;
use cimjob_rules::model::Job;
use cimjob_rules::plan::Plan;
use cimjob_rules::state::Situation;
use jiff::Timestamp;

use super::present::{moment, relative};
use super::recent::RecentRuns;
use super::{charts, job_for, now, PageFilter, Ui, UiError, MAX_ROWS};
use crate::api::bulk::{each_visible, Action};
use crate::auth::{Principal, Role};

type Page = Result<Html<String>, UiError>;

fn html(template: impl Template) -> Page {
    Ok(Html(template.render()?))
}

/// What every page's frame shows: who is signed in, the zone times are in, the change stream.
pub(super) struct Chrome {
    user: String,
    admin: bool,
    zone: String,
    /// The change stream the page refreshes on.
    events: String,
    /// The page, for the navigation.
    page: &'static str,
}

impl Chrome {
    fn of(ui: &Ui, principal: &Principal, page: &'static str, events: String) -> Chrome {
        Chrome {
            user: principal.name.clone(),
            admin: principal.role == Role::Admin,
            zone: ui.engine.zone().iana_name().unwrap_or("local").to_owned(),
            events,
            page,
        }
    }
}

const ALL_EVENTS: &str = "/api/v1/events";

/// A JobState as a CSS class: its name in lower case without spaces.
fn state_class(state: JobState) -> String {
    state.name().to_lowercase().replace([' ', '-'], "")
}

// --- Overview ---------------------------------------------------------------------------

struct Count {
    class: String,
    number: u16,
    name: &'static str,
    count: u64,
}

struct Failure {
    id: u64,
    name: String,
    run: u32,
    how: &'static str,
    exit: String,
    when: String,
}

/// What the overview shows, and refreshes in place.
pub(super) struct OverviewData {
    counts: Vec<Count>,
    runs_chart: String,
    durations_chart: String,
    failures: Vec<Failure>,
}

#[derive(Template)]
#[template(path = "ui/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    live: OverviewData,
}

#[derive(Template)]
#[template(path = "ui/overview_live.html")]
struct OverviewLive {
    live: OverviewData,
}

/// The jobs `principal` sees, by JobState: the store's census for an admin, else counted.
async fn counts(ui: &Ui, principal: &Principal) -> Result<Vec<(u16, u64)>, UiError> {
    if principal.role == Role::Admin {
        return Ok(ui.engine.census().await?.by_state);
    }
    let mut by_state = BTreeMap::new();
    each_visible(&ui.engine, principal, &Default::default(), |job| {
        count_state(&mut by_state, job)
    })
    .await?;
    Ok(by_state.into_iter().collect())
}

/// Counts `job` in its JobState.
fn count_state(by_state: &mut BTreeMap<u16, u64>, job: &Job) {
    *by_state
        .entry(job.situation.status().job_state.number())
        .or_default() += 1;
}

async fn overview_data(ui: &Ui, principal: &Principal) -> Result<OverviewData, UiError> {
    let now = now();
    let counts = counts(ui, principal)
        .await?
        .into_iter()
        .filter_map(|(number, count)| {
            let state = JobState::from_number(number)?;
            Some(Count {
                class: state_class(state),
                number,
                name: state.name(),
                count,
            })
        })
        .collect();
    let recent: &RecentRuns = &ui.recent;
    // a user's charts and failures are of their own runs
    let seen = |owner: &str| principal.may_see(owner);
    let hour = recent.summary(now, 10, &seen);
    let mut failures = Vec::new();
    for run in hour.failures {
        let name = match ui.engine.get(run.job).await {
            Ok(job) => job.name.clone(),
            Err(_) => "(deleted)".to_owned(),
        };
        failures.push(Failure {
            id: run.job,
            name,
            run: run.run,
            how: run.result.label(),
            exit: run
                .exit_status
                .map_or_else(|| "-".into(), |s| s.to_string()),
            when: moment(run.at, ui.engine.zone(), now),
        });
    }
    Ok(OverviewData {
        counts,
        runs_chart: charts::runs_per_minute(&hour.per_minute),
        durations_chart: charts::durations(&hour.durations),
        failures,
    })
}

/// `GET /ui`.
pub(super) async fn overview(State(ui): State<Ui>, Extension(p): Extension<Principal>) -> Page {
    let live = overview_data(&ui, &p).await?;
    html(OverviewPage {
        chrome: Chrome::of(&ui, &p, "overview", ALL_EVENTS.into()),
        live,
    })
}

/// `GET /ui/overview/live`.
pub(super) async fn overview_live(
    State(ui): State<Ui>,
    Extension(p): Extension<Principal>,
) -> Page {
    html(OverviewLive {
        live: overview_data(&ui, &p).await?,
    })
}

// --- Jobs -------------------------------------------------------------------------------

struct Tab {
    label: String,
    query: String,
    count: u64,
    current: bool,
}

struct Row {
    id: u64,
    name: String,
    owner: String,
    priority: u32,
    state: &'static str,
    class: String,
    shown: String,
    percent: Option<u16>,
    status: String,
    submitted: String,
    submitted_at: String,
}

/// A jobs page's tabs and rows, what it refreshes in place.
pub(super) struct JobsData {
    tabs: Vec<Tab>,
    rows: Vec<Row>,
    shown: usize,
    matched: usize,
}

#[derive(Template)]
#[template(path = "ui/jobs.html")]
struct JobsPage {
    chrome: Chrome,
    filter: PageFilter,
    query: String,
    bulk_actions: Vec<(&'static str, &'static str)>,
    live: JobsData,
}

#[derive(Template)]
#[template(path = "ui/jobs_rows.html")]
struct JobRows {
    live: JobsData,
}

fn row(ui: &Ui, job: &Job, now: Timestamp) -> Row {
    let status = job.situation.status();
    let state = status.job_state;
    let dormant = status
        .operational_status
        .contains(&cimjob_rules::model::value_maps::OperationalStatus::Dormant);
    let scheduled = job.is_scheduled();
    Row {
        id: job.local_id,
        name: job.name.clone(),
        owner: job.owner.clone(),
        priority: job.priority,
        state: state.name(),
        class: state_class(state),
        shown: crate::cli::state_label(state, dormant, scheduled),
        percent: job.percent_complete,
        status: job.job_status().unwrap_or("").to_owned(),
        submitted: relative(job.time_submitted, now),
        submitted_at: moment(job.time_submitted, ui.engine.zone(), now),
    }
}

async fn jobs_data(ui: &Ui, p: &Principal, filter: &PageFilter) -> Result<JobsData, UiError> {
    let now = now();
    let others = filter.parse(false)?;
    let all = filter.parse(true)?;
    let mut by_state = BTreeMap::new();
    let (mut rows, mut matched) = (Vec::new(), 0);
    each_visible(&ui.engine, p, &others, |job| {
        count_state(&mut by_state, job);
        if all.matches(job) {
            matched += 1;
            if rows.len() < MAX_ROWS {
                rows.push(row(ui, job, now));
            }
        }
    })
    .await?;
    let mut tabs = vec![Tab {
        label: "All".into(),
        query: filter.query_with_state(""),
        count: by_state.values().sum(),
        current: filter.state.is_empty(),
    }];
    for state in JobState::ALL {
        let number = state.number().to_string();
        let count = by_state.get(&state.number()).copied().unwrap_or(0);
        let current = filter.state == number || filter.state.eq_ignore_ascii_case(state.name());
        if count > 0 || current {
            tabs.push(Tab {
                label: state.name().into(),
                query: filter.query_with_state(&number),
                count,
                current,
            });
        }
    }
    Ok(JobsData {
        tabs,
        shown: rows.len(),
        rows,
        matched,
    })
}

/// `GET /ui/jobs?state=&owner=&priority=&q=`.
pub(super) async fn jobs(
    State(ui): State<Ui>,
    Extension(p): Extension<Principal>,
    Query(filter): Query<PageFilter>,
) -> Page {
    let live = jobs_data(&ui, &p, &filter).await?;
    html(JobsPage {
        chrome: Chrome::of(&ui, &p, "jobs", ALL_EVENTS.into()),
        query: filter.query(),
        filter,
        bulk_actions: Action::ALL.map(|a| (a.name(), a.label())).to_vec(),
        live,
    })
}

/// `GET /ui/jobs/rows?...`: the tabs and rows of a jobs page.
pub(super) async fn job_rows(
    State(ui): State<Ui>,
    Extension(p): Extension<Principal>,
    Query(filter): Query<PageFilter>,
) -> Page {
    html(JobRows {
        live: jobs_data(&ui, &p, &filter).await?,
    })
}

// --- A job ------------------------------------------------------------------------------

struct RunRow {
    number: u32,
    started: String,
    ended: String,
    exit: String,
    error: String,
    final_state: &'static str,
}

struct PropertyRow {
    name: &'static str,
    origin: &'static str,
    value: String,
}

/// A job's page below its title, what it refreshes in place.
pub(super) struct JobData {
    id: u64,
    state: &'static str,
    class: String,
    percent: u16,
    status: String,
    run_count: u32,
    running: bool,
    query_pending: bool,
    actions: Vec<(&'static str, &'static str)>,
    upcoming: Vec<String>,
    runs: Vec<RunRow>,
    properties: Vec<PropertyRow>,
}

#[derive(Template)]
#[template(path = "ui/job.html")]
struct JobPage {
    chrome: Chrome,
    id: u64,
    name: String,
    live: JobData,
}

#[derive(Template)]
#[template(path = "ui/job_live.html")]
struct JobLive {
    live: JobData,
}

/// The actions that fit the job as it is (the engine still decides).
fn actions_for(job: &Job, now: Timestamp) -> Vec<(&'static str, &'static str)> {
    if job.situation.is_final() {
        return vec![button(Action::Delete)];
    }
    let mut actions = vec![button(pause_or_resume(job))];
    actions.extend([button(Action::Terminate), button(Action::Kill)]);
    if waits_for_its_time(job, now) {
        actions.push(RUN_NOW);
    }
    actions
}

/// A button's action name and label.
fn button(action: Action) -> (&'static str, &'static str) {
    (action.name(), action.label())
}

/// Run now's button (not a bulk action: it is for one job that waits for its time).
const RUN_NOW: (&str, &str) = ("runnow", "Run now");

/// Resume for a job that is suspended or held, Suspend for one that is not.
fn pause_or_resume(job: &Job) -> Action {
    match job.situation {
        Situation::Suspended | Situation::Held => Action::Resume,
        _ => Action::Suspend,
    }
}

/// Whether the job waits for a start in the future (Run now would start it).
fn waits_for_its_time(job: &Job, now: Timestamp) -> bool {
    matches!(job.situation, Situation::Queued | Situation::BetweenRuns)
        && job.next_start().is_some_and(|t| t > now)
}

async fn job_data(ui: &Ui, p: &Principal, id: u64) -> Result<(Arc<Job>, JobData), UiError> {
    let job = job_for(ui, p, id).await?;
    let now = now();
    let zone = ui.engine.zone();
    let view = ui.engine.view(now);
    let shown = |t: Option<Timestamp>| t.map_or_else(|| "-".into(), |t| moment(t, zone, now));
    let runs = ui
        .engine
        .runs(id)
        .await?
        .into_iter()
        .rev()
        .map(|r| RunRow {
            number: r.run_number,
            started: moment(r.started_at, zone, now),
            ended: shown(r.ended_at),
            exit: match (r.exit_status, r.signal) {
                (Some(code), _) => code.to_string(),
                (None, Some(signal)) => format!("signal {signal}"),
                (None, None) => "-".into(),
            },
            error: match &r.error_description {
                Some(text) if r.error_code != 0 => format!("{}: {text}", r.error_code),
                _ => r.error_code.to_string(),
            },
            final_state: r
                .final_state
                .and_then(JobState::from_number)
                .map_or("running", JobState::name),
        })
        .collect();
    let properties = instance(&job, &view)
        .into_iter()
        .filter_map(|(name, value)| {
            let decl = &property(name)?.decl;
            Some(PropertyRow {
                name,
                origin: decl.class_origin,
                value: super::present::value(decl, value.as_ref(), zone, now),
            })
        })
        .collect();
    let state = job.situation.status().job_state;
    let data = JobData {
        id,
        state: state.name(),
        class: state_class(state),
        percent: job.percent_complete.unwrap_or(0),
        status: job.job_status().unwrap_or("").to_owned(),
        run_count: job.run_count,
        running: job.process.is_some() || job.situation == Situation::Starting,
        query_pending: job.situation == Situation::QueryPending,
        actions: actions_for(&job, now),
        upcoming: crate::api::upcoming(&ui.engine, &job, now, 5)
            .into_iter()
            .map(|t| moment(t, zone, now))
            .collect(),
        runs,
        properties,
    };
    Ok((job, data))
}

/// `GET /ui/jobs/{id}`.
pub(super) async fn job(
    State(ui): State<Ui>,
    Extension(p): Extension<Principal>,
    Path(id): Path<u64>,
) -> Page {
    let (job, live) = job_data(&ui, &p, id).await?;
    html(JobPage {
        chrome: Chrome::of(&ui, &p, "jobs", format!("/api/v1/jobs/{id}/events")),
        id,
        name: job.name.clone(),
        live,
    })
}

/// `GET /ui/jobs/{id}/live`.
pub(super) async fn job_live(
    State(ui): State<Ui>,
    Extension(p): Extension<Principal>,
    Path(id): Path<u64>,
) -> Page {
    html(JobLive {
        live: job_data(&ui, &p, id).await?.1,
    })
}

// --- Schedules --------------------------------------------------------------------------

struct ScheduleRow {
    id: u64,
    name: String,
    schedule: String,
    state: &'static str,
    class: String,
    next: String,
    last: String,
    actions: Vec<(&'static str, &'static str)>,
}

/// The schedules page's rows.
pub(super) struct SchedulesData {
    rows: Vec<ScheduleRow>,
}

#[derive(Template)]
#[template(path = "ui/schedules.html")]
struct SchedulesPage {
    chrome: Chrome,
    live: SchedulesData,
}

#[derive(Template)]
#[template(path = "ui/schedules_live.html")]
struct SchedulesLive {
    live: SchedulesData,
}

/// How a job's schedule reads: its calendar properties as they are set.
fn schedule_of(job: &Job) -> String {
    let mut parts = Vec::new();
    if let Some(at) = &job.scheduled_start_time {
        parts.push(format!("ScheduledStartTime {at}"));
    }
    if let Some(month) = job.run_month {
        parts.push(format!("RunMonth {month}"));
    }
    if let Some(day) = job.run_day {
        parts.push(format!("RunDay {day}"));
    }
    if let Some(weekday) = job.run_day_of_week {
        parts.push(format!("RunDayOfWeek {weekday}"));
    }
    // an interval in words ("2 h"), or as CIM writes it if it has no length
    let words = |interval: &cim::CimDateTime| {
        interval
            .to_duration()
            .map(super::present::span)
            .unwrap_or_else(|_| interval.to_string())
    };
    if let Some(interval) = &job.run_start_interval {
        parts.push(format!("at {} into the day", words(interval)));
    }
    if let Some(every) = &job.repeat_interval {
        parts.push(format!("every {}", words(every)));
    }
    if let Some(expr) = &job.calendar_expression {
        parts.push(format!("on calendar {expr}"));
    }
    if let Some(overlap) = job.overlap_policy {
        parts.push(format!("overlap: {}", overlap.name()));
    }
    if job.job_run_times != 1 {
        parts.push(match job.job_run_times {
            0 => "runs until stopped".into(),
            n => format!("{n} runs"),
        });
    }
    parts.join(", ")
}

async fn schedules_data(ui: &Ui, p: &Principal) -> Result<SchedulesData, UiError> {
    let now = now();
    let zone = ui.engine.zone();
    let mut jobs = Vec::new();
    each_visible(&ui.engine, p, &Default::default(), |job| {
        let recurring = Plan::of(job, zone).is_ok_and(|plan| plan.is_timed());
        if recurring || job.scheduled_start_time.is_some() {
            jobs.push(job.clone());
        }
    })
    .await?;
    let rows = jobs
        .iter()
        .map(|job| {
            let state = job.situation.status().job_state;
            let mut actions = Vec::new();
            if !job.situation.is_final() {
                actions.push(button(pause_or_resume(job)));
            }
            if waits_for_its_time(job, now) {
                actions.push(RUN_NOW);
            }
            ScheduleRow {
                id: job.local_id,
                name: job.name.clone(),
                schedule: schedule_of(job),
                state: state.name(),
                class: state_class(state),
                next: crate::api::upcoming(&ui.engine, job, now, 1)
                    .first()
                    .map_or_else(|| "-".into(), |t| moment(*t, zone, now)),
                last: job
                    .start_time
                    .map_or_else(|| "never".into(), |t| moment(t, zone, now)),
                actions,
            }
        })
        .collect();
    Ok(SchedulesData { rows })
}

/// `GET /ui/schedules`.
pub(super) async fn schedules(State(ui): State<Ui>, Extension(p): Extension<Principal>) -> Page {
    let live = schedules_data(&ui, &p).await?;
    html(SchedulesPage {
        chrome: Chrome::of(&ui, &p, "schedules", ALL_EVENTS.into()),
        live,
    })
}

/// `GET /ui/schedules/live`.
pub(super) async fn schedules_live(
    State(ui): State<Ui>,
    Extension(p): Extension<Principal>,
) -> Page {
    html(SchedulesLive {
        live: schedules_data(&ui, &p).await?,
    })
}

// --- Required actions -------------------------------------------------------------------

struct Question {
    id: u64,
    name: String,
    owner: String,
    question: String,
    since: String,
}

/// The questions waiting for an answer.
pub(super) struct RequiredData {
    rows: Vec<Question>,
}

#[derive(Template)]
#[template(path = "ui/actions.html")]
struct RequiredPage {
    chrome: Chrome,
    live: RequiredData,
}

#[derive(Template)]
#[template(path = "ui/actions_live.html")]
struct RequiredLive {
    live: RequiredData,
}

async fn required_data(ui: &Ui, p: &Principal) -> Result<RequiredData, UiError> {
    let now = now();
    let mut rows = Vec::new();
    each_visible(&ui.engine, p, &Default::default(), |job| {
        if job.situation == Situation::QueryPending {
            rows.push(Question {
                id: job.local_id,
                name: job.name.clone(),
                owner: job.owner.clone(),
                question: job.job_status().unwrap_or("").to_owned(),
                since: job
                    .time_of_last_state_change
                    .map_or_else(|| "-".into(), |t| relative(t, now)),
            });
        }
    })
    .await?;
    Ok(RequiredData { rows })
}

/// `GET /ui/actions`.
pub(super) async fn required(State(ui): State<Ui>, Extension(p): Extension<Principal>) -> Page {
    let live = required_data(&ui, &p).await?;
    html(RequiredPage {
        chrome: Chrome::of(&ui, &p, "actions", ALL_EVENTS.into()),
        live,
    })
}

/// `GET /ui/actions/live`.
pub(super) async fn required_live(
    State(ui): State<Ui>,
    Extension(p): Extension<Principal>,
) -> Page {
    html(RequiredLive {
        live: required_data(&ui, &p).await?,
    })
}
