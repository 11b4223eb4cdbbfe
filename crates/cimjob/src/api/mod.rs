//! The JSON API under `/api/v1`: what the CLI (and later the dashboard) needs, as thin
//! handlers over the engine. Property names and values are the CIM ones (see [`json`]).
//!
//! | method and path | engine call |
//! |---|---|
//! | `GET /api/v1/jobs` (`?limit=N&after=ID`: a page, with `next` to pass as `after`) | list, or one page of it |
//! | `POST /api/v1/jobs` `{"properties": {...}, "hold": false}` | submit (201) |
//! | `GET /api/v1/jobs/{id}` | get |
//! | `PATCH /api/v1/jobs/{id}` `{"properties": {...}}` | ModifyInstance |
//! | `DELETE /api/v1/jobs/{id}` | DeleteInstance (204) |
//! | `GET /api/v1/jobs/{id}/runs` (`?upcoming=N`) | run history, and the next N runs (5) |
//! | `GET /api/v1/jobs/{id}/runs/{n}/log` (`?follow=1`) | the run's output (followed until the run ends) |
//! | `GET /api/v1/jobs/{id}/events` | server-sent events: the job now, then after each change |
//! | `GET /api/v1/events` | server-sent events: every change to every job, `{"kind", "job"}` |
//! | `POST /api/v1/jobs/{id}/requeststatechange` `{"RequestedState": 3, "TimeoutPeriod": "…"}` | RequestStateChange |
//! | `POST /api/v1/jobs/{id}/killjob` `{"DeleteOnKill": false}` | KillJob |
//! | `POST /api/v1/jobs/{id}/answerquery` `{"Answer": "…"}` | AnswerQuery |
//! | `POST /api/v1/jobs/{id}/runnow` | Run now: a job waiting for its time runs now (204; 409 if it does not wait) |
//! | `POST /api/v1/jobs/bulk` `{"action": "terminate", "ids": [...]}` or `"filter": {...}` | one action on many jobs ([`bulk`]) |
//!
//! `GET /api/v1/jobs` also takes `state` (numbers or names, comma-separated), `owner` and `q`
//! (words its Name, command or JobStatus must hold): see [`filter`]. Every refusal is JSON
//! ([`errors`]).
//!
//! `{id}` is an InstanceID (`CIMJOB:7`) or its LocalID (`7`).

pub mod bulk;
pub mod errors;
pub mod filter;
pub mod json;

use std::convert::Infallible;
use std::ops::ControlFlow;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};

use crate::auth::Principal;
use cim::CimDateTime;
use cimjob_engine::{EngineError, EngineHandle};
use cimjob_rules::model::job::parse_instance_id;
use cimjob_rules::model::properties::View;
use cimjob_rules::plan::Plan;
use futures_util::Stream;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio_stream::StreamExt;

/// An API failure: an HTTP status and a JSON body naming what was wrong.
pub struct ApiError {
    status: StatusCode,
    message: String,
    cim_status: u16,
    property: Option<String>,
}

impl ApiError {
    fn forbidden(message: String) -> Self {
        ApiError {
            status: StatusCode::FORBIDDEN,
            message,
            cim_status: 2,
            property: None,
        }
    }

    fn bad_request(message: String) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message,
            cim_status: 4,
            property: None,
        }
    }

    fn not_found(message: String) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message,
            cim_status: 6,
            property: None,
        }
    }

    fn internal(message: String) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message,
            cim_status: 1,
            property: None,
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let (status, cim_status, property) = match &e {
            EngineError::NotFound(_) => (StatusCode::NOT_FOUND, 6, None),
            EngineError::Property(p) => (
                StatusCode::BAD_REQUEST,
                p.cim_status(),
                Some(p.property.clone()),
            ),
            EngineError::WrongState(_) => (StatusCode::CONFLICT, 1, None),
            EngineError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, 1, None),
            EngineError::Stopped => (StatusCode::SERVICE_UNAVAILABLE, 28, None),
            EngineError::HeldElsewhere { .. } => (StatusCode::SERVICE_UNAVAILABLE, 1, None),
        };
        ApiError {
            status,
            message: e.to_string(),
            cim_status,
            property,
        }
    }
}

impl ApiError {
    /// The JSON a refusal answers with (also each refused job's in a bulk answer).
    fn body(&self) -> Value {
        json!({"error": {"message": self.message, "cim_status": self.cim_status, "property": self.property}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        (self.status, Json(body)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The API's routes, sharing one engine handle, reading bodies up to `max_body_bytes` (and never more than
/// [`MAX_JSON_BYTES`]).
pub fn router(engine: EngineHandle, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/api/v1/jobs", get(list).post(submit))
        .route("/api/v1/jobs/{id}", get(show).patch(modify).delete(remove))
        .route("/api/v1/jobs/{id}/runs", get(runs))
        .route("/api/v1/jobs/{id}/runs/{run}/log", get(run_log))
        .route("/api/v1/jobs/{id}/events", get(events))
        .route("/api/v1/events", get(all_events))
        .route(
            "/api/v1/jobs/{id}/requeststatechange",
            post(request_state_change),
        )
        .route("/api/v1/jobs/{id}/killjob", post(kill_job))
        .route("/api/v1/jobs/{id}/answerquery", post(answer_query))
        .route("/api/v1/jobs/bulk", post(bulk::bulk))
        .route("/api/v1/jobs/{id}/runnow", post(run_now))
        // a job's JSON is small: a bigger body is refused before it is parsed, and one whose
        // Content-Length says so before a byte of it is read (the client hears 413 rather
        // than a connection closed under its upload)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            max_body_bytes.min(MAX_JSON_BYTES),
        ))
        .with_state(engine)
}

/// The largest JSON request body the API reads (413 beyond): a job with a CommandLine and an
/// Environment at their limits fits (1 MiB each, `MAX_ENTRY_BYTES`).
pub const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;

fn job_id(text: &str) -> ApiResult<u64> {
    parse_instance_id(text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{text:?} is not a job id: use an InstanceID like CIMJOB:7 or its number 7"
        ))
    })
}

/// Refuses (403) a change of a job its requester does not own, unless an admin asks.
async fn authorize(engine: &EngineHandle, principal: &Principal, id: u64) -> ApiResult<()> {
    let job = visible_job(engine, principal, id).await?;
    if principal.may_control(&job.owner) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            principal.refusal(&job.instance_id(), &job.owner),
        ))
    }
}

/// How jobs read now, in the service's zone.
fn view(engine: &EngineHandle) -> View {
    engine.view(Timestamp::now())
}

/// The job, if `principal` may see it (404 otherwise, as for a job that does not exist: a
/// user does not learn of another's jobs).
async fn visible_job(
    engine: &EngineHandle,
    principal: &Principal,
    id: u64,
) -> ApiResult<std::sync::Arc<cimjob_rules::model::Job>> {
    let job = engine.get(id).await?;
    if principal.may_see(&job.owner) {
        Ok(job)
    } else {
        Err(EngineError::NotFound(cimjob_rules::core::NotFound(id)).into())
    }
}

/// `?after=&limit=`: a page of the list, so a client reads many jobs a page at a time.
#[derive(Deserialize)]
struct ListQuery {
    /// The LocalID the page starts after (the previous page's `next`).
    #[serde(default)]
    after: u64,
    /// At most this many jobs (1 to [`MAX_LIST_LIMIT`]); without it, every job.
    limit: Option<usize>,
    /// Only the jobs that match.
    #[serde(flatten)]
    filter: filter::FilterQuery,
}

/// The largest page `GET /api/v1/jobs` gives.
const MAX_LIST_LIMIT: usize = 10_000;

async fn list(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    // a bad query string is answered in JSON, like every other refusal here
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let view = view(&engine);
    if let Some(limit) = query.limit.filter(|l| !(1..=MAX_LIST_LIMIT).contains(l)) {
        return Err(ApiError::bad_request(format!(
            "limit {limit} is out of range: give 1 to {MAX_LIST_LIMIT}"
        )));
    }
    let filter = filter::Filter::parse(&query.filter).map_err(ApiError::bad_request)?;
    let wanted = query.limit.unwrap_or(usize::MAX);
    let mut jobs = Vec::new();
    let next = engine
        .each_page(query.after, wanted.min(MAX_LIST_LIMIT), |page| {
            let shown = page
                .iter()
                .filter(|j| principal.may_see(&j.owner) && filter.matches(j));
            for job in shown {
                jobs.push(json::job_to_json(job, &view));
                if jobs.len() == wanted {
                    return ControlFlow::Break(job.local_id);
                }
            }
            ControlFlow::Continue(())
        })
        .await?;
    Ok(Json(match query.limit {
        Some(_) => json!({ "jobs": jobs, "next": next }),
        None => json!({ "jobs": jobs }),
    }))
}

#[derive(Deserialize)]
struct SubmitBody {
    properties: Map<String, Value>,
    #[serde(default)]
    hold: bool,
}

async fn submit(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Json(body): Json<SubmitBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let values = json::values_from_json(&body.properties).map_err(EngineError::from)?;
    let run_as = principal.run_as().map_err(ApiError::forbidden)?;
    let job = engine
        .submit_as(values, &principal.name, run_as.as_deref(), body.hold)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json::job_to_json(&job, &view(&engine))),
    ))
}

async fn show(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let job = visible_job(&engine, &principal, job_id(&id)?).await?;
    Ok(Json(json::job_to_json(&job, &view(&engine))))
}

#[derive(Deserialize)]
struct ModifyBody {
    properties: Map<String, Value>,
}

async fn modify(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    Json(body): Json<ModifyBody>,
) -> ApiResult<Json<Value>> {
    let id = job_id(&id)?;
    authorize(&engine, &principal, id).await?;
    let values = json::values_from_json(&body.properties).map_err(EngineError::from)?;
    let changed = engine.modify(id, values).await?;
    let job = engine.get(id).await?;
    Ok(Json(
        json!({ "changed": changed, "job": json::job_to_json(&job, &view(&engine)) }),
    ))
}

/// A call on job `id` that its requester must be allowed to make and that answers nothing
/// (204): DeleteInstance, Run now.
async fn without_answer<Fut>(
    engine: &EngineHandle,
    principal: &Principal,
    id: &str,
    call: impl FnOnce(u64) -> Fut,
) -> ApiResult<StatusCode>
where
    Fut: std::future::Future<Output = Result<(), EngineError>>,
{
    let id = job_id(id)?;
    authorize(engine, principal, id).await?;
    call(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    without_answer(&engine, &principal, &id, |id| engine.delete(id)).await
}

/// `?upcoming=N`: how many of a job's coming runs to show.
#[derive(Deserialize)]
struct RunsQuery {
    /// 1 to [`MAX_UPCOMING`]; 5 without it.
    upcoming: Option<usize>,
}

/// The most coming runs `GET /api/v1/jobs/{id}/runs` shows.
const MAX_UPCOMING: usize = 100;

async fn run_now(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    without_answer(&engine, &principal, &id, |id| engine.run_now(id)).await
}

async fn runs(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    query: Result<Query<RunsQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let shown = query.upcoming.unwrap_or(5);
    if !(1..=MAX_UPCOMING).contains(&shown) {
        return Err(ApiError::bad_request(format!(
            "upcoming {shown} is out of range: give 1 to {MAX_UPCOMING}"
        )));
    }
    let id = job_id(&id)?;
    let job = visible_job(&engine, &principal, id).await?;
    let runs = engine.runs(id).await?;
    let now = Timestamp::now();
    let view = engine.view(now);
    // the coming runs of a job that is still to run, as CIM timestamps
    let upcoming: Vec<String> = match (job.situation.is_final(), job.situation) {
        (false, cimjob_rules::state::Situation::Held) | (true, _) => Vec::new(),
        _ => match Plan::of(&job, engine.zone()) {
            Ok(plan) if plan.rule.is_some() => {
                let left = if plan.runs == 0 {
                    shown
                } else {
                    plan.runs.saturating_sub(job.occurrences) as usize
                };
                plan.upcoming(now, left.min(shown))
            }
            _ => job.next_start().into_iter().collect(),
        }
        .into_iter()
        .filter_map(|t| CimDateTime::from_timestamp(t, view.offset_minutes).ok())
        .map(|d| d.to_string())
        .collect(),
    };
    Ok(Json(json!({ "runs": runs, "upcoming": upcoming })))
}

/// Changes as a stream, read in order from where they start.
fn change_stream(
    changes: cimjob_engine::Changes,
) -> impl Stream<Item = cimjob_rules::events::Event> {
    futures_util::stream::unfold(changes, |mut changes| async move {
        changes.next().await.map(|event| (event, changes))
    })
}

/// The job now, then the job after each durable change, until it is deleted. Each event's
/// `id` is the change's place in the change record.
async fn events(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let id = job_id(&id)?;
    let changes = engine.changes_from_now();
    let now = visible_job(&engine, &principal, id).await?;
    // The snapshot may already hold a change still being made durable: its event, and any
    // older one, would only step the watcher back, so they are skipped.
    let seen = now.generation;
    let first_view = view(&engine);
    let first = futures_util::stream::once(async move {
        SseEvent::default().data(json::job_to_json(&now, &first_view).to_string())
    });
    // this job's changes, up to its deletion
    let later = futures_util::stream::unfold(Some(changes), move |changes| {
        let engine = engine.clone();
        async move {
            let mut changes = changes?;
            loop {
                let event = changes.next().await?;
                if event.job != id {
                    continue;
                }
                let (body, more) = match &event.current {
                    Some(job) if job.generation <= seen => continue,
                    Some(job) => (json::job_to_json(job, &view(&engine)), true),
                    None => (
                        json!({ "InstanceID": cimjob_rules::model::job::instance_id(id), "deleted": true }),
                        false,
                    ),
                };
                let sse = SseEvent::default()
                    .id(event.sequence.to_string())
                    .data(body.to_string());
                return Some((sse, more.then_some(changes)));
            }
        }
    });
    let stream = first.chain(later).map(Ok);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Every durable change to every job, as `{"sequence", "kind", "job"}` (`job` is NULL after a
/// deletion, with `InstanceID` beside it), in order, none skipped. From now, or — to resume —
/// after the change `Last-Event-ID` (or `?after=N`) names, as far back as the change record
/// keeps.
async fn all_events(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    headers: axum::http::HeaderMap,
    axum::extract::Query(query): axum::extract::Query<After>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let resume = headers
        .get("Last-Event-ID")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request("Last-Event-ID must be a change's number".into())
                })
        })
        .transpose()?
        .or(query.after);
    let changes = match resume {
        Some(after) => engine.changes_after(after),
        None => engine.changes_from_now(),
    };
    // a user's stream holds only their own jobs' changes
    let mine = move |event: &cimjob_rules::events::Event| {
        let job = event.current.as_ref().or(event.previous.as_ref());
        job.is_some_and(|j| principal.may_see(&j.owner))
    };
    let stream = change_stream(changes).filter(mine).map(move |event| {
        let body = json!({
            "sequence": event.sequence,
            "kind": event.kind,
            "InstanceID": cimjob_rules::model::job::instance_id(event.job),
            "job": event.current.as_ref().map(|j| json::job_to_json(j, &view(&engine))),
        });
        Ok(SseEvent::default()
            .id(event.sequence.to_string())
            .data(body.to_string()))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// `?follow=1`: stream the log until the run ends.
#[derive(Deserialize)]
struct Follow {
    follow: Option<u8>,
}

/// The output of run `run` of job `id`, as plain text, for its owner or an admin; with
/// `?follow=1`, streamed as it grows until the run has ended.
async fn run_log(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Path((id, run)): Path<(String, u32)>,
    axum::extract::Query(query): axum::extract::Query<Follow>,
) -> ApiResult<Response> {
    let id = job_id(&id)?;
    let job = visible_job(&engine, &principal, id).await?;
    let not_run = || ApiError::not_found(format!("CIMJOB:{id} has no run {run}"));
    if run == 0 || run > job.run_count {
        return Err(not_run());
    }
    let last = job.output_path.as_deref().ok_or_else(not_run)?;
    let path = std::path::Path::new(last).with_file_name(format!("{id}-run-{run}.log"));
    let text_plain = [(
        axum::http::header::CONTENT_TYPE,
        "text/plain; charset=utf-8",
    )];
    if query.follow.unwrap_or(0) == 0 {
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            // a run that wrote nothing has no log
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(ApiError::internal(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        return Ok((text_plain, bytes).into_response());
    }
    let stream = futures_util::stream::unfold((0u64, false), move |(offset, done)| {
        let (engine, path) = (engine.clone(), path.clone());
        async move {
            if done {
                return None;
            }
            // bounded: a followed log ends with its run (checked twice a second)
            loop {
                let running = engine.get(id).await.is_ok_and(|j| {
                    j.run_count == run
                        && (j.process.is_some()
                            || j.situation == cimjob_rules::state::Situation::Starting)
                });
                let chunk = read_from(&path, offset).await;
                if !chunk.is_empty() {
                    let next = offset + chunk.len() as u64;
                    return Some((
                        Ok::<_, Infallible>(axum::body::Bytes::from(chunk)),
                        (next, false),
                    ));
                }
                if !running {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
    Ok((text_plain, axum::body::Body::from_stream(stream)).into_response())
}

/// What `path` holds from `offset` on (at most 1 MiB), nothing if it does not exist yet.
async fn read_from(path: &std::path::Path, offset: u64) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let Ok(mut file) = tokio::fs::File::open(path).await else {
        return Vec::new();
    };
    if file.seek(std::io::SeekFrom::Start(offset)).await.is_err() {
        return Vec::new();
    }
    let mut chunk = Vec::new();
    let _ = file.take(1 << 20).read_to_end(&mut chunk).await;
    chunk
}

/// `?after=N`: resume after change N.
#[derive(Deserialize)]
struct After {
    after: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StateChangeBody {
    requested_state: u16,
    #[serde(default)]
    timeout_period: Option<String>,
}

fn return_value(number: u32, name: &str) -> Json<Value> {
    Json(json!({ "ReturnValue": number, "Description": name }))
}

async fn request_state_change(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    Json(body): Json<StateChangeBody>,
) -> ApiResult<Json<Value>> {
    let id = job_id(&id)?;
    authorize(&engine, &principal, id).await?;
    let timeout = match body.timeout_period.as_deref() {
        None | Some("") => None,
        Some(text) => {
            let parsed = CimDateTime::parse(text)
                .ok()
                .filter(CimDateTime::is_interval)
                .and_then(|d| d.to_duration().ok());
            match parsed {
                Some(d) => Some(d),
                // spec: a TimeoutPeriod that is not an interval is an invalid parameter (5)
                None => return Ok(return_value(5, "Invalid Parameter: TimeoutPeriod must be a CIM interval like 00000000000010.000000:000")),
            }
        }
    };
    let code = engine
        .request_state_change(id, body.requested_state, timeout)
        .await?;
    Ok(return_value(code.number(), code.name()))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KillJobBody {
    #[serde(default)]
    delete_on_kill: bool,
}

async fn kill_job(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    Json(body): Json<KillJobBody>,
) -> ApiResult<Json<Value>> {
    let id = job_id(&id)?;
    authorize(&engine, &principal, id).await?;
    let code = engine.kill_job(id, body.delete_on_kill).await?;
    Ok(return_value(code.number(), code.name()))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AnswerBody {
    answer: String,
}

async fn answer_query(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    Json(body): Json<AnswerBody>,
) -> ApiResult<Json<Value>> {
    let id = job_id(&id)?;
    authorize(&engine, &principal, id).await?;
    let code = engine.answer(id, &body.answer).await?;
    Ok(return_value(code.number(), code.name()))
}
