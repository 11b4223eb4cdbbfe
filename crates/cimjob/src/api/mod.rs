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
//! | `GET /api/v1/openapi.json` | this table as an OpenAPI 3.1 document ([`openapi`]); `/api/v1/docs/` shows it |
//!
//! `GET /api/v1/jobs` also takes `state` (numbers or names, comma-separated), `owner`,
//! `priority`, `name` (text its Name holds) and `q` (words its Name, command or JobStatus must
//! hold): see [`filter`]. Every refusal is JSON
//! ([`errors`]).
//!
//! `{id}` is an InstanceID (`CIMJOB:7`) or its LocalID (`7`).

pub mod bulk;
pub mod errors;
pub mod filter;
pub mod json;
pub mod openapi;

use std::convert::Infallible;
use std::ops::ControlFlow;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

    pub(crate) fn bad_request(message: String) -> Self {
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

    pub(crate) fn internal(message: String) -> Self {
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
    /// What was wrong, in words.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status and the words (what a page shows of a refusal).
    pub(crate) fn status_and_message(self) -> (StatusCode, String) {
        (self.status, self.message)
    }

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
    let (routes, mut document) = routes().split_for_parts();
    openapi::finish(&mut document);
    let docs =
        utoipa_swagger_ui::SwaggerUi::new(openapi::DOCS_PATH).url(openapi::DOCUMENT_PATH, document);
    routes
        .merge(docs)
        // a job's JSON is small: a bigger body is refused before it is parsed, and one whose
        // Content-Length says so before a byte of it is read (the client hears 413 rather
        // than a connection closed under its upload)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            max_body_bytes.min(MAX_JSON_BYTES),
        ))
        .with_state(engine)
}

/// Every route, each with its declaration in the OpenAPI document.
fn routes() -> OpenApiRouter<EngineHandle> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(list, submit))
        .routes(routes!(show, modify, remove))
        .routes(routes!(runs))
        .routes(routes!(run_log))
        .routes(routes!(events))
        .routes(routes!(all_events))
        .routes(routes!(request_state_change))
        .routes(routes!(kill_job))
        .routes(routes!(answer_query))
        .routes(routes!(bulk::bulk))
        .routes(routes!(run_now))
}

/// The API's OpenAPI document, as `GET /api/v1/openapi.json` serves it: for tools that want it
/// without a running service (and the tests that compare it with the routes).
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = routes().into_openapi();
    openapi::finish(&mut document);
    document
}

/// The largest JSON request body the API reads (413 beyond): a job with a CommandLine and an
/// Environment at their limits fits (1 MiB each, `MAX_ENTRY_BYTES`).
pub const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;

pub(crate) fn job_id(text: &str) -> ApiResult<u64> {
    parse_instance_id(text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{text:?} is not a job id: use an InstanceID like CIMJOB:7 or its number 7"
        ))
    })
}

/// Refuses (403) a change of a job its requester does not own, unless an admin asks.
pub(crate) async fn authorize(
    engine: &EngineHandle,
    principal: &Principal,
    id: u64,
) -> ApiResult<()> {
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
pub(crate) async fn visible_job(
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

/// A job id as the document declares it (what [`job_id`] reads): an InstanceID or its
/// LocalID. (The path parameters below repeat it as a literal: an attribute takes no constant.)
pub(crate) const JOB_ID_PATTERN: &str = r"^(CIMJOB:)?[0-9]{1,19}$";

/// `{id}` in a path, as the document declares it (what [`job_id`] reads).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
struct JobPath {
    /// An InstanceID (`CIMJOB:7`) or its LocalID (`7`).
    #[param(pattern = r"^(CIMJOB:)?[0-9]{1,19}$")]
    id: String,
}

/// `{id}/runs/{run}` in a path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
struct RunPath {
    /// An InstanceID (`CIMJOB:7`) or its LocalID (`7`).
    #[param(pattern = r"^(CIMJOB:)?[0-9]{1,19}$")]
    id: String,
    /// The run's number, from 1.
    run: u32,
}

/// `?after=&limit=`: a page of the list, so a client reads many jobs a page at a time.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// The LocalID the page starts after (the previous page's `next`; at most
    /// 9223372036854775807, past which no LocalID is).
    #[serde(default)]
    #[param(value_type = Option<i64>, minimum = 0)]
    after: u64,
    /// At most this many jobs (1 to 10000); without it, every job.
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<usize>,
    /// Only the jobs that match.
    #[serde(flatten)]
    #[param(ignore)]
    filter: filter::FilterQuery,
}

/// The largest page `GET /api/v1/jobs` gives.
const MAX_LIST_LIMIT: usize = 10_000;

/// The jobs the caller may see, all or a page of them, narrowed by the filter.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", params(ListQuery, filter::FilterQuery),
    responses((status = 200, description = "The jobs (with `next` when a `limit` was given)", body = openapi::JobPage),
        (status = 400, description = "A bad limit or state", body = openapi::ErrorBody), (status = "default", description = "A refusal, as JSON (401 without credentials, 403, 404, 413, ...)", body = openapi::ErrorBody)))]
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
    if query.after > i64::MAX as u64 {
        return Err(ApiError::bad_request(format!(
            "after {}: no LocalID is past {}",
            query.after,
            i64::MAX
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

/// A job to submit: its properties, and whether it waits for a Resume before it runs.
#[derive(Deserialize, utoipa::ToSchema)]
struct SubmitBody {
    #[schema(value_type = openapi::JobProperties)]
    properties: Map<String, Value>,
    #[serde(default)]
    hold: bool,
}

/// Submits a job owned by the caller.
#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", request_body = SubmitBody,
    responses((status = 201, description = "The job as submitted", body = openapi::Job),
        (status = 400, description = "A property the job cannot have", body = openapi::ErrorBody), (status = "default", description = "A refusal, as JSON (401 without credentials, 403, 404, 413, ...)", body = openapi::ErrorBody)))]
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

/// One job.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", params(JobPath),
    responses((status = 200, description = "The job", body = openapi::Job),
        (status = 404, description = "No such job (or not the caller's)", body = openapi::ErrorBody), (status = "default", description = "A refusal, as JSON (401 without credentials, 403, 404, 413, ...)", body = openapi::ErrorBody)))]
async fn show(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let job = visible_job(&engine, &principal, job_id(&id)?).await?;
    Ok(Json(json::job_to_json(&job, &view(&engine))))
}

/// The properties to change (ModifyInstance).
#[derive(Deserialize, utoipa::ToSchema)]
struct ModifyBody {
    #[schema(value_type = openapi::JobProperties)]
    properties: Map<String, Value>,
}

/// Changes a job's writable properties (ModifyInstance).
#[utoipa::path(patch, path = "/api/v1/jobs/{id}", tag = "jobs", params(JobPath), request_body = ModifyBody,
    responses((status = 200, description = "What changed, and the job now", body = openapi::Modified),
        (status = 400, description = "A property that cannot be changed, or a bad value", body = openapi::ErrorBody), (status = "default", description = "A refusal, as JSON (401 without credentials, 403, 404, 413, ...)", body = openapi::ErrorBody)))]
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
    as_owner(engine, principal, id, call(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `call` on job `id`, made only if `principal` may control the job (what every action of
/// the API and the dashboard goes through).
pub(crate) async fn as_owner<T>(
    engine: &EngineHandle,
    principal: &Principal,
    id: u64,
    call: impl std::future::Future<Output = Result<T, EngineError>>,
) -> ApiResult<T> {
    authorize(engine, principal, id).await?;
    Ok(call.await?)
}

/// Deletes a job that has ended (DeleteInstance).
#[utoipa::path(delete, path = "/api/v1/jobs/{id}", tag = "jobs", params(JobPath),
    responses((status = 204, description = "Deleted"),
        (status = 409, description = "The job has not ended", body = openapi::ErrorBody), (status = "default", description = "A refusal, as JSON (401 without credentials, 403, 404, 413, ...)", body = openapi::ErrorBody)))]
async fn remove(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    without_answer(&engine, &principal, &id, |id| engine.delete(id)).await
}

/// `?upcoming=N`: how many of a job's coming runs to show.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RunsQuery {
    /// How many (1 to 100); 5 without it.
    #[param(minimum = 1, maximum = 100)]
    upcoming: Option<usize>,
}

/// The most coming runs `GET /api/v1/jobs/{id}/runs` shows.
const MAX_UPCOMING: usize = 100;

/// Runs a job that waits for its time now.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/runnow", tag = "jobs", params(JobPath),
    responses((status = 204, description = "The job is starting"),
        (status = 409, description = "The job does not wait for its time", body = openapi::ErrorBody), (status = "default", description = "A refusal, as JSON (401 without credentials, 403, 404, 413, ...)", body = openapi::ErrorBody)))]
async fn run_now(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    without_answer(&engine, &principal, &id, |id| engine.run_now(id)).await
}

/// A job's run history and its coming runs.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/runs", tag = "runs", params(JobPath, RunsQuery),
    responses((status = 200, description = "The runs, and the next runs as CIM datetimes", body = openapi::Runs), (status = "default", description = "A refusal, as JSON (401 without credentials, 403, 404, 413, ...)", body = openapi::ErrorBody)))]
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
    let upcoming: Vec<String> = upcoming(&engine, &job, now, shown)
        .into_iter()
        .filter_map(|t| CimDateTime::from_timestamp(t, view.offset_minutes).ok())
        .map(|d| d.to_string())
        .collect();
    Ok(Json(json!({ "runs": runs, "upcoming": upcoming })))
}

/// The next (at most `shown`) runs of a job that is still to run, after `now`: a recurring
/// job's from its plan, else its one coming start.
pub(crate) fn upcoming(
    engine: &EngineHandle,
    job: &cimjob_rules::model::Job,
    now: Timestamp,
    shown: usize,
) -> Vec<Timestamp> {
    if job.situation.is_final() || job.situation == cimjob_rules::state::Situation::Held {
        return Vec::new();
    }
    match Plan::of(job, engine.zone()) {
        Ok(plan) if plan.is_timed() => {
            let left = if plan.runs == 0 {
                shown
            } else {
                plan.runs.saturating_sub(job.occurrences) as usize
            };
            plan.upcoming(now, left.min(shown))
        }
        _ => job.next_start().into_iter().collect(),
    }
}

/// Changes as a stream, read in order from where they start.
fn change_stream(
    changes: cimjob_engine::Changes,
) -> impl Stream<Item = cimjob_rules::events::Event> {
    futures_util::stream::unfold(changes, |mut changes| async move {
        changes.next().await.map(|event| (event, changes))
    })
}

/// Server-sent events: the job now, then the job after each durable change, until it is
/// deleted (`deleted` ends it). Each event's `id` is the change's place in the change record.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/events", tag = "events", params(JobPath),
    responses((status = 200, description = "A stream of the job's JSON, one event per change", content_type = "text/event-stream", body = String), (status = "default", description = "A refusal, as JSON (401 without credentials, 403, 404, 413, ...)", body = openapi::ErrorBody)))]
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

/// Server-sent events: every durable change to every job the caller may see.
///
/// Each is `{"sequence", "kind", "job"}` (`job` is NULL after a deletion, with `InstanceID`
/// beside it), in order, none skipped. From now, or — to resume — after the change
/// `Last-Event-ID` (or `?after=N`) names, as far back as the change record keeps.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(After,
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this change")),
    responses((status = 200, description = "A stream of `{sequence, kind, InstanceID, job}`", content_type = "text/event-stream", body = String), (status = "default", description = "A refusal, as JSON (401 without credentials, 403, 404, 413, ...)", body = openapi::ErrorBody)))]
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
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Follow {
    /// Non-zero: stream the log until the run ends.
    #[param(minimum = 0, maximum = 255)]
    follow: Option<u8>,
}

/// The output of one run, as text, for the job's owner or an admin; with `?follow=1`,
/// streamed as it grows until the run has ended.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/runs/{run}/log", tag = "runs",
    params(RunPath, Follow),
    responses((status = 200, description = "The run's output", content_type = "text/plain", body = String),
        (status = 404, description = "No such job or run", body = openapi::ErrorBody), (status = "default", description = "A refusal, as JSON (401 without credentials, 403, 404, 413, ...)", body = openapi::ErrorBody)))]
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
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct After {
    after: Option<u64>,
}

/// RequestStateChange's parameters.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
struct StateChangeBody {
    /// 2 Start (resume), 3 Suspend, 4 Terminate, 5 Kill, 6 Service.
    #[schema(maximum = 65535)]
    #[serde(deserialize_with = "whole_number")]
    requested_state: u16,
    #[serde(default)]
    timeout_period: Option<String>,
}

/// A JSON integer as JSON Schema counts them: `3` and also `3.0` (a number with no fraction).
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    use serde::de::Error;
    let n = serde_json::Number::deserialize(d)?;
    let whole = n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|x| x.fract() == 0.0 && *x >= 0.0)
            .map(|x| x as u64)
    });
    whole
        .and_then(|w| u16::try_from(w).ok())
        .ok_or_else(|| D::Error::custom(format!("{n} is not an integer from 0 to 65535")))
}

fn return_value(number: u32, name: &str) -> Json<Value> {
    Json(json!({ "ReturnValue": number, "Description": name }))
}

/// RequestStateChange: 2 Start (resume), 3 Suspend, 4 Terminate, 5 Kill, 6 Service.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/requeststatechange", tag = "methods", params(JobPath), request_body = StateChangeBody,
    responses((status = 200, description = "The method's return code", body = openapi::MethodAnswer), (status = "default", description = "A refusal, as JSON (401 without credentials, 403, 404, 413, ...)", body = openapi::ErrorBody)))]
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

/// KillJob's parameters.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
struct KillJobBody {
    #[serde(default)]
    delete_on_kill: bool,
}

/// KillJob (deprecated in CIM, kept for its clients).
#[utoipa::path(post, path = "/api/v1/jobs/{id}/killjob", tag = "methods", params(JobPath), request_body = KillJobBody,
    responses((status = 200, description = "The method's return code", body = openapi::MethodAnswer), (status = "default", description = "A refusal, as JSON (401 without credentials, 403, 404, 413, ...)", body = openapi::ErrorBody)))]
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

/// AnswerQuery's parameter: the answer to the job's question.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
struct AnswerBody {
    answer: String,
}

/// AnswerQuery: answers a job in Query Pending.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/answerquery", tag = "methods", params(JobPath), request_body = AnswerBody,
    responses((status = 200, description = "The method's return code", body = openapi::MethodAnswer), (status = "default", description = "A refusal, as JSON (401 without credentials, 403, 404, 413, ...)", body = openapi::ErrorBody)))]
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
