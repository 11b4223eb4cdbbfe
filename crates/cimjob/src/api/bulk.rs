//! `POST /api/v1/jobs/bulk`: one action on many jobs, named by `ids` or by a `filter` (the
//! list's `state`, `owner`, `q`), as an operator selects them: Suspend, Resume, Terminate,
//! Kill or Delete. Each job goes through the engine as its own request would, with the
//! requester's rights; the answer says what became of each, in LocalID order.

use axum::extract::State;
use axum::{Extension, Json};
use cimjob_engine::EngineHandle;
use serde::Deserialize;
use serde_json::{json, Value};

use super::filter::{Filter, FilterQuery};

/// How many jobs a filter reads at a time.
const PAGE: usize = 1000;
use super::{job_id, ApiError, ApiResult};
use crate::auth::Principal;

/// The most jobs one bulk request acts on.
pub const MAX_BULK_JOBS: usize = 10_000;

/// What a bulk request does.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Action {
    Suspend,
    Resume,
    Terminate,
    Kill,
    Delete,
}

/// One action, and the jobs it is for: `ids` or `filter`, one of them.
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct BulkBody {
    action: Action,
    /// The jobs, as InstanceIDs or LocalIDs.
    #[serde(default)]
    #[schema(schema_with = job_ids)]
    ids: Option<Vec<Value>>,
    /// Or every job that matches.
    #[serde(default)]
    filter: Option<FilterQuery>,
}

/// Job ids as a client gives them: InstanceIDs (`"CIMJOB:7"`) or LocalIDs (`7` or `"7"`).
fn job_ids() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, SchemaType, Type};
    let id = OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(super::JOB_ID_PATTERN)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        );
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(id)
        .max_items(Some(MAX_BULK_JOBS))
        .build()
}

/// Suspends, resumes, terminates, kills or deletes many jobs, each as its own request would.
#[utoipa::path(post, path = "/api/v1/jobs/bulk", tag = "jobs", request_body = BulkBody,
    responses((status = 200, description = "What became of each job", body = super::openapi::BulkAnswer),
        (status = 400, description = "Neither or both of ids and filter, a bad id or state", body = super::openapi::ErrorBody),
        (status = "default", description = "A refusal, as JSON", body = super::openapi::ErrorBody)))]
pub(super) async fn bulk(
    State(engine): State<EngineHandle>,
    Extension(principal): Extension<Principal>,
    Json(body): Json<BulkBody>,
) -> ApiResult<Json<Value>> {
    let ids = match (body.ids, body.filter) {
        (Some(ids), None) => ids
            .iter()
            .map(|id| match id {
                Value::String(text) => job_id(text),
                Value::Number(n) => job_id(&n.to_string()),
                other => Err(ApiError::bad_request(format!("{other} is not a job id"))),
            })
            .collect::<ApiResult<Vec<u64>>>()?,
        (None, Some(filter)) => {
            let filter = Filter::parse(&filter).map_err(ApiError::bad_request)?;
            matching(&engine, &principal, &filter).await?
        }
        _ => {
            return Err(ApiError::bad_request(
                "give the jobs as \"ids\" or as a \"filter\", one of them".into(),
            ))
        }
    };
    if ids.len() > MAX_BULK_JOBS {
        return Err(ApiError::bad_request(format!(
            "{} jobs is more than one request acts on ({MAX_BULK_JOBS})",
            ids.len()
        )));
    }
    let results = act_on_each(&engine, &principal, ids, body.action).await;
    Ok(Json(json!({ "results": results })))
}

impl Action {
    /// Every action, in the order a page offers them.
    pub(crate) const ALL: [Action; 5] = [
        Action::Suspend,
        Action::Resume,
        Action::Terminate,
        Action::Kill,
        Action::Delete,
    ];

    /// Its name in a request (`terminate`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Action::Suspend => "suspend",
            Action::Resume => "resume",
            Action::Terminate => "terminate",
            Action::Kill => "kill",
            Action::Delete => "delete",
        }
    }

    /// Its name on a button (`Terminate`).
    pub(crate) fn label(self) -> &'static str {
        match self {
            Action::Suspend => "Suspend",
            Action::Resume => "Resume",
            Action::Terminate => "Terminate",
            Action::Kill => "Kill",
            Action::Delete => "Delete",
        }
    }

    /// The action a form names (`terminate`), if it is one.
    pub(crate) fn named(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == text)
    }
}

/// Carries out `action` on each of `ids` as `principal`, in LocalID order (each once): what
/// became of each, as the bulk answer's `results` say it.
pub(crate) async fn act_on_each(
    engine: &EngineHandle,
    principal: &Principal,
    mut ids: Vec<u64>,
    action: Action,
) -> Vec<Value> {
    ids.sort_unstable();
    ids.dedup();
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let instance = cimjob_rules::model::job::instance_id(id);
        let outcome = act(engine, principal, id, action).await;
        results.push(match outcome {
            Ok(Some((code, name))) => {
                json!({"InstanceID": instance, "ReturnValue": code, "Description": name})
            }
            Ok(None) => json!({"InstanceID": instance, "deleted": true}),
            Err(error) => json!({"InstanceID": instance, "error": error.body()["error"]}),
        });
    }
    results
}

/// The LocalIDs of the jobs `principal` sees that match `filter`.
pub(crate) async fn matching(
    engine: &EngineHandle,
    principal: &Principal,
    filter: &Filter,
) -> ApiResult<Vec<u64>> {
    let mut ids = Vec::new();
    each_visible(engine, principal, filter, |job| ids.push(job.local_id)).await?;
    Ok(ids)
}

/// Every job `principal` may see that `filter` matches, handed to `visit` in LocalID order, a
/// page at a time: what every reader of "the jobs that match" does (a bulk filter, the
/// dashboard's lists).
pub(crate) async fn each_visible(
    engine: &EngineHandle,
    principal: &Principal,
    filter: &Filter,
    mut visit: impl FnMut(&std::sync::Arc<cimjob_rules::model::Job>),
) -> ApiResult<()> {
    engine
        .each_page(0, PAGE, |page| {
            page.iter()
                .filter(|j| principal.may_see(&j.owner) && filter.matches(j))
                .for_each(&mut visit);
            std::ops::ControlFlow::<()>::Continue(())
        })
        .await?;
    Ok(())
}

/// Carries out `action` on job `id` as `principal`: the method's return code and its name,
/// or `None` for a deletion.
pub(crate) async fn act(
    engine: &EngineHandle,
    principal: &Principal,
    id: u64,
    action: Action,
) -> ApiResult<Option<(u32, &'static str)>> {
    super::authorize(engine, principal, id).await?;
    let state_change = |requested: u16| async move {
        let code = engine.request_state_change(id, requested, None).await?;
        Ok::<_, ApiError>(Some((code.number(), code.name())))
    };
    match action {
        Action::Suspend => state_change(3).await,
        Action::Resume => state_change(2).await,
        Action::Terminate => state_change(4).await,
        Action::Kill => {
            let code = engine.kill_job(id, false).await?;
            Ok(Some((code.number(), code.name())))
        }
        Action::Delete => {
            engine.delete(id).await?;
            Ok(None)
        }
    }
}
