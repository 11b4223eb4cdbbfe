//! The dashboard at `/ui`: server-rendered pages (askama templates, compiled into the binary
//! with their assets) that htmx refreshes in place, behind the same authentication as every
//! front end. A page reads jobs through the engine as the JSON API does, a user sees only
//! their own jobs (an admin every job), and every action is the engine's own request with the
//! requester's rights ([`crate::api::bulk::act`]).
//!
//! Why server-rendered: the service already knows how a job reads (value-map names, its
//! zone, its plan); rendering here keeps one implementation of that and needs no JavaScript
//! build (`cargo build` needs no npm). htmx (vendored, 50 KB) swaps the fragments; `ui.js`
//! (ours, small) listens to the API's change stream and asks the live parts to refresh, and
//! follows a running job's log.
//!
//! | page | what it shows |
//! |---|---|
//! | `/ui` | counts by state, runs per minute and run durations of the last hour, recent failures |
//! | `/ui/jobs?state=&owner=&priority=&q=` | tabs by state with counts, the filter in the URL, bulk actions |
//! | `/ui/jobs/{id}` | every property, progress, runs with their logs, the live output, actions, next runs |
//! | `/ui/schedules` | recurring and scheduled jobs: next and last run, Suspend/Resume, Run now |
//! | `/ui/actions` | the jobs in Query Pending, each with its question and an answer form |
//!
//! Actions are POSTs that htmx makes; one without htmx's `HX-Request` header is refused, so a
//! page on another site cannot make a browser holding the credentials act (CSRF).

pub mod charts;
mod pages;
pub mod present;
pub mod recent;

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use cimjob_engine::EngineHandle;
use cimjob_rules::model::Job;
use jiff::Timestamp;

use crate::api::bulk::{self, Action};
use crate::api::filter::{Filter, FilterQuery};
use crate::api::{visible_job, ApiError};
use crate::auth::Principal;
pub use recent::RecentRuns;

/// The most rows a jobs page shows (the tabs still count every match): a page stays quick to
/// render and to refresh on every change; a narrower filter shows the rest.
pub const MAX_ROWS: usize = 500;

/// What every page reads from: the engine (jobs, always through it, as every front end) and
/// the last hour's run ends (the charts).
#[derive(Clone)]
pub struct Ui {
    engine: EngineHandle,
    recent: Arc<RecentRuns>,
}

/// The dashboard's routes (behind the authentication layer like the rest).
pub fn router(engine: EngineHandle, recent: Arc<RecentRuns>) -> Router {
    Router::new()
        .route("/ui", get(pages::overview))
        .route("/ui/", get(pages::overview))
        .route("/ui/overview/live", get(pages::overview_live))
        .route("/ui/jobs", get(pages::jobs))
        .route("/ui/jobs/rows", get(pages::job_rows))
        .route("/ui/jobs/bulk", post(bulk_action))
        .route("/ui/jobs/{id}", get(pages::job))
        .route("/ui/jobs/{id}/live", get(pages::job_live))
        .route("/ui/jobs/{id}/act", post(job_action))
        .route("/ui/jobs/{id}/answer", post(answer))
        .route("/ui/schedules", get(pages::schedules))
        .route("/ui/schedules/live", get(pages::schedules_live))
        .route("/ui/actions", get(pages::required))
        .route("/ui/actions/live", get(pages::required_live))
        .route("/ui/assets/{file}", get(asset))
        .layer(axum::middleware::from_fn(only_htmx_posts))
        .with_state(Ui { engine, recent })
}

/// Refuses (403) a POST that htmx did not make: a cross-site form cannot set the header.
async fn only_htmx_posts(request: Request, next: Next) -> Response {
    if request.method() == Method::POST && !request.headers().contains_key("HX-Request") {
        return (
            StatusCode::FORBIDDEN,
            "dashboard actions are made by its pages (HX-Request header missing)\n",
        )
            .into_response();
    }
    next.run(request).await
}

/// A page that could not be made: its status and a plain message.
pub struct UiError(ApiError);

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        UiError(e)
    }
}

impl From<cimjob_engine::EngineError> for UiError {
    fn from(e: cimjob_engine::EngineError) -> Self {
        UiError(e.into())
    }
}

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> Self {
        UiError(ApiError::internal(format!(
            "a page could not be rendered: {e}"
        )))
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, message) = self.0.status_and_message();
        let page = format!(
            "<!doctype html><title>cimjob: {status}</title><p>{}</p><p><a href=\"/ui/jobs\">Jobs</a></p>",
            escape(&message)
        );
        (status, Html(page)).into_response()
    }
}

/// `text` safe inside HTML.
fn escape(text: &str) -> String {
    askama::filters::escape(text, askama::filters::Html)
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// The filter of a jobs page as its URL gives it.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub(crate) struct PageFilter {
    #[serde(default)]
    state: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    q: String,
}

impl PageFilter {
    fn is_empty(&self) -> bool {
        self.state.is_empty()
            && self.owner.is_empty()
            && self.priority.is_empty()
            && self.q.is_empty()
    }

    /// The filter as the API reads it, without the state (`with_state`) or with it.
    fn parse(&self, with_state: bool) -> Result<Filter, ApiError> {
        let given = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Filter::parse(&FilterQuery {
            state: if with_state { given(&self.state) } else { None },
            owner: given(&self.owner),
            q: given(&self.q),
            priority: given(&self.priority),
            name: None,
        })
        .map_err(ApiError::bad_request)
    }

    /// The filter as a query string, with the state replaced by `state`.
    fn query_with_state(&self, state: &str) -> String {
        let mut with = self.clone();
        with.state = state.to_owned();
        serde_urlencoded::to_string(&with).unwrap_or_default()
    }

    fn query(&self) -> String {
        self.query_with_state(&self.state)
    }
}

/// A short answer in the page's status area, and the lists told to refresh.
fn flash(message: String) -> Response {
    let mut response = Html(format!("<p>{}</p>", escape(&message))).into_response();
    response
        .headers_mut()
        .insert("HX-Trigger", HeaderValue::from_static("cimjob-changed"));
    response
}

/// The fields of a form body, repeated names kept (several `ids`).
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// What a bulk answer's results say, in one line: how many jobs each outcome had.
fn summary(action: &str, results: &[serde_json::Value]) -> String {
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for r in results {
        let outcome = if r["deleted"] == true {
            "deleted".to_owned()
        } else if let Some(message) = r["error"]["message"].as_str() {
            format!("refused: {message}")
        } else {
            r["Description"].as_str().unwrap_or("done").to_owned()
        };
        *outcomes.entry(outcome).or_default() += 1;
    }
    let parts: Vec<String> = outcomes
        .into_iter()
        .map(|(o, n)| format!("{n} × {o}"))
        .collect();
    format!("{action} of {} job(s): {}", results.len(), parts.join("; "))
}

/// `POST /ui/jobs/bulk?FILTER` with `action` and the ticked `ids`, or `all=1` for every job
/// the filter matches.
async fn bulk_action(
    State(ui): State<Ui>,
    Extension(principal): Extension<Principal>,
    Query(filter): Query<PageFilter>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let fields = form_fields(&body);
    let Some(action) = field(&fields, "action").and_then(Action::named) else {
        return Ok(flash("no such action".into()));
    };
    let ids: Vec<u64> = if field(&fields, "all") == Some("1") {
        let filter = filter.parse(true)?;
        bulk::matching(&ui.engine, &principal, &filter).await?
    } else {
        fields
            .iter()
            .filter(|(k, _)| k == "ids")
            .filter_map(|(_, v)| v.parse().ok())
            .collect()
    };
    if ids.is_empty() {
        return Ok(flash(
            "Tick the jobs to act on first (or every job that matches).".into(),
        ));
    }
    if ids.len() > bulk::MAX_BULK_JOBS {
        return Ok(flash(format!(
            "{} jobs is more than one action takes ({}): narrow the filter",
            ids.len(),
            bulk::MAX_BULK_JOBS
        )));
    }
    let label = action.label();
    let results = bulk::act_on_each(&ui.engine, &principal, ids, action).await;
    Ok(flash(summary(label, &results)))
}

/// `POST /ui/jobs/{id}/act` with `action`: one of the bulk actions, or `runnow`.
async fn job_action(
    State(ui): State<Ui>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<u64>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let fields = form_fields(&body);
    let named = field(&fields, "action").unwrap_or("");
    let who = cimjob_rules::model::job::instance_id(id);
    if named == "runnow" {
        let outcome = crate::api::as_owner(&ui.engine, &principal, id, ui.engine.run_now(id)).await;
        return Ok(flash(match outcome {
            Ok(()) => format!("{who} runs now"),
            Err(refusal) => format!("{who}: Run now refused: {}", refusal.message()),
        }));
    }
    let Some(action) = Action::named(named) else {
        return Ok(flash(format!("no such action {named:?}")));
    };
    let results = bulk::act_on_each(&ui.engine, &principal, vec![id], action).await;
    Ok(flash(format!(
        "{who}: {}",
        summary(action.label(), &results)
    )))
}

/// `POST /ui/jobs/{id}/answer` with `answer`: AnswerQuery.
async fn answer(
    State(ui): State<Ui>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<u64>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let fields = form_fields(&body);
    let text = field(&fields, "answer").unwrap_or("");
    let who = cimjob_rules::model::job::instance_id(id);
    let outcome =
        crate::api::as_owner(&ui.engine, &principal, id, ui.engine.answer(id, text)).await;
    Ok(flash(match outcome {
        Ok(code) => format!("{who}: answered: {}", code.name()),
        Err(refusal) => format!("{who}: answer refused: {}", refusal.message()),
    }))
}

/// The dashboard's own files, compiled in: name, type, contents.
const ASSETS: [(&str, &str, &[u8]); 3] = [
    (
        "htmx.min.js",
        "text/javascript",
        include_bytes!("../../assets/htmx.min.js"),
    ),
    (
        "ui.js",
        "text/javascript",
        include_bytes!("../../assets/ui.js"),
    ),
    ("ui.css", "text/css", include_bytes!("../../assets/ui.css")),
];

/// `GET /ui/assets/{file}`, revalidated by a tag of its contents (a browser keeps a file
/// until the binary serves another).
async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some((_, kind, body)) = ASSETS.iter().find(|(name, ..)| *name == file) else {
        return (StatusCode::NOT_FOUND, "no such asset\n").into_response();
    };
    let tag = tag_of(body);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == tag.as_bytes())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::ETAG, tag),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
        ],
        *body,
    )
        .into_response()
}

/// An ETag of `body`: the first 16 hex digits of its SHA-256, quoted.
pub fn tag_of(body: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// The job as `principal` may see it, for a page.
async fn job_for(ui: &Ui, principal: &Principal, id: u64) -> Result<Arc<Job>, UiError> {
    Ok(visible_job(&ui.engine, principal, id).await?)
}

/// Now, for every reading of one page.
fn now() -> Timestamp {
    Timestamp::now()
}
