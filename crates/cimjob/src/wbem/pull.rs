//! The pull operations' open enumerations on this server (DSP0200 Open*, Pull*,
//! CloseEnumeration, EnumerationCount): which objects each holds and how to show them, over
//! the sans-IO contexts of [`super::enumeration`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use cim::xml::{CimError, IReturnValue, ParamValue};
use cim::CimStatusCode;
use cimjob_engine::EngineHandle;
use cimjob_rules::model::properties::View;

use super::enumeration::{EnumerationContexts, PullError, PullKind, Scope};
use super::objects::{Item, Projection};
use super::operation::{error, Answer, Call, Params};
use super::query::{filter, parse_filter, Selected};

/// How many enumeration contexts may be open at once.
pub const MAX_OPEN_ENUMERATIONS: usize = 256;
/// How many of them one user may hold.
pub const MAX_OPEN_ENUMERATIONS_PER_USER: usize = 32;

/// An object as an open enumeration keeps it until a pull shows it: small, since an
/// enumeration of a million jobs keeps a million of these (how they are shown is kept once
/// for the enumeration).
#[derive(Clone)]
pub enum Kept {
    /// Any other object (a fixed instance, an association), itself.
    Item(Box<Item>),
    /// A job, by LocalID: read from the store when its batch is shown (as it is then; one
    /// deleted since is left out), so an enumeration of many jobs holds a number each, not
    /// the jobs — most of which the engine does not hold either.
    Job(u64),
}

impl Kept {
    /// How an enumeration keeps `item`.
    pub fn of(item: Item) -> Kept {
        match item {
            Item::Job(job) => Kept::Job(job.local_id),
            item => Kept::Item(Box::new(item)),
        }
    }
}

/// How the objects of one enumeration are shown.
pub struct Shape {
    projection: Projection,
    selected: Option<Selected>,
}

/// The open enumerations, and the host their paths name.
pub struct Pulls {
    contexts: Mutex<EnumerationContexts<Kept, Arc<Shape>>>,
    host: String,
}

fn pull_error(e: PullError) -> CimError {
    let code = CimStatusCode::from_code(e.status_code()).unwrap_or(CimStatusCode::Failed);
    error(code, e.to_string())
}

/// The kind of pull an operation's name asks for (`...Paths` or the rest).
pub fn kind_of(name: &str) -> PullKind {
    if name.ends_with("Paths") {
        PullKind::Paths
    } else {
        PullKind::InstancesWithPath
    }
}

fn scope<'a>(call: &'a Call<'_>) -> Scope<'a> {
    Scope {
        owner: &call.principal.name,
        namespace: call.ns,
    }
}

impl Pulls {
    /// No enumeration open yet; paths will name `host`.
    pub fn new(host: &str) -> Pulls {
        Pulls {
            contexts: Mutex::new(EnumerationContexts::new(
                MAX_OPEN_ENUMERATIONS,
                MAX_OPEN_ENUMERATIONS_PER_USER,
            )),
            host: host.to_string(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, EnumerationContexts<Kept, Arc<Shape>>> {
        self.contexts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens an enumeration of `objects` and answers its first batch (MaxObjectCount of
    /// them; all, and no context, when they fit).
    pub async fn open(
        &self,
        engine: &EngineHandle,
        call: &Call<'_>,
        objects: Vec<Kept>,
        projection: Projection,
        selected: Option<Selected>,
        kind: PullKind,
    ) -> Result<Answer, CimError> {
        let p = &call.params;
        if p.bool("ContinueOnError", false)? {
            return Err(error(
                CimStatusCode::ContinuationOnErrorNotSupported,
                "ContinueOnError is not supported",
            ));
        }
        let max = p.u32("MaxObjectCount")?.unwrap_or(0);
        let timeout = p.u32("OperationTimeout")?;
        let shape = Arc::new(Shape {
            projection,
            selected,
        });
        let batch = self
            .lock()
            .open(
                (objects, shape),
                kind,
                scope(call),
                max,
                timeout,
                Instant::now(),
            )
            .map_err(pull_error)?;
        let shown = shown(engine, batch.items, batch.shared).await?;
        Ok(Answer::Pull {
            value: self.render(kind, &shown, &call.view),
            context: batch.context,
            params: Vec::new(),
        })
    }

    /// PullInstancesWithPath, PullInstancePaths, PullInstances: the next batch.
    pub async fn pull(&self, engine: &EngineHandle, call: &Call<'_>) -> Result<Answer, CimError> {
        let kind = match call.name {
            "PullInstancesWithPath" => PullKind::InstancesWithPath,
            "PullInstancePaths" => PullKind::Paths,
            _ => PullKind::Instances,
        };
        let p = &call.params;
        let id = context_of(p)?;
        let max = p
            .u32("MaxObjectCount")?
            .ok_or_else(|| Params::wrong("MaxObjectCount", "given"))?;
        let batch = self
            .lock()
            .pull(id, kind, scope(call), max, Instant::now())
            .map_err(pull_error)?;
        let shown = shown(engine, batch.items, batch.shared).await?;
        Ok(Answer::Pull {
            value: self.render(kind, &shown, &call.view),
            context: batch.context,
            params: Vec::new(),
        })
    }

    /// CloseEnumeration.
    pub fn close(&self, call: &Call<'_>) -> Result<Answer, CimError> {
        let id = context_of(&call.params)?;
        self.lock()
            .close(id, scope(call), Instant::now())
            .map_err(pull_error)?;
        Ok(Answer::Value(None))
    }

    /// EnumerationCount.
    pub fn count(&self, call: &Call<'_>) -> Result<Answer, CimError> {
        let id = context_of(&call.params)?;
        let n = self
            .lock()
            .count(id, scope(call), Instant::now())
            .map_err(pull_error)?;
        Answer::value(IReturnValue::Value(ParamValue::Value(
            cim::CimValue::UInt64(n),
        )))
    }

    fn render(&self, kind: PullKind, shown: &Shown, view: &View) -> IReturnValue {
        let path = |item: &Item| {
            let mut p = item.path();
            p.host = Some(self.host.clone());
            p
        };
        let shape = &shown.shape;
        let instance = |item: &Item| shape.projection.apply(item.instance(view));
        let items = shown.items.iter();
        match kind {
            PullKind::Paths => IReturnValue::InstancePaths(items.map(path).collect()),
            PullKind::InstancesWithPath => IReturnValue::InstancesWithPath(
                items
                    .map(|item| cim::xml::InstanceWithPath::new(path(item), instance(item)))
                    .collect(),
            ),
            PullKind::Instances => IReturnValue::Instances(
                items
                    .map(|item| match &shape.selected {
                        Some(s) => s.apply(instance(item)),
                        None => instance(item),
                    })
                    .collect(),
            ),
        }
    }
}

/// A batch's objects, ready to show, and how.
struct Shown {
    items: Vec<Item>,
    shape: Arc<Shape>,
}

/// A batch's objects with their jobs read back (one deleted since is left out).
async fn shown(
    engine: &EngineHandle,
    kept: Vec<Kept>,
    shape: Arc<Shape>,
) -> Result<Shown, CimError> {
    let ids: Vec<u64> = kept
        .iter()
        .filter_map(|kept| match kept {
            Kept::Job(id) => Some(*id),
            Kept::Item(_) => None,
        })
        .collect();
    let mut read = HashMap::new();
    if !ids.is_empty() {
        let jobs = engine
            .stored(ids)
            .await
            .map_err(|e| error(CimStatusCode::Failed, e.to_string()))?;
        read.extend(jobs.into_iter().map(|job| (job.local_id, job)));
    }
    let items = kept
        .into_iter()
        .filter_map(|kept| match kept {
            Kept::Item(item) => Some(*item),
            Kept::Job(id) => Some(Item::Job(read.remove(&id)?)),
        })
        .collect();
    Ok(Shown { items, shape })
}

fn context_of<'a>(p: &Params<'a>) -> Result<&'a str, CimError> {
    p.str("EnumerationContext")?
        .ok_or_else(|| Params::wrong("EnumerationContext", "given"))
}

/// DSP0200's language of a pull operation's FilterQuery (DSP0212).
pub const FQL: &str = "DMTF:FQL";

/// An FQL filter: a condition on each instance's properties, read with the DMTF:CQL
/// where-clause grammar (FQL's comparisons, LIKE, IS NULL, AND, OR and NOT are CQL's); the
/// instances are the operation's own, so there is no FROM class to check.
fn fql_condition(text: &str) -> Result<cim::query::Query, CimError> {
    cim::query::parse(
        "DMTF:CQL",
        &format!("SELECT * FROM CIM_ManagedElement WHERE {text}"),
    )
    .map_err(|e| {
        error(
            CimStatusCode::InvalidQuery,
            format!("DMTF:FQL query {text:?}: {e}"),
        )
    })
}

/// The FilterQuery given with an Open*, read once: DMTF:FQL as DSP0200 says (a condition
/// only), WQL and DMTF:CQL queries too (their FROM class and condition); another language is
/// CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED.
pub enum PullFilter {
    /// No FilterQuery: everything is kept.
    Everything,
    /// A DMTF:FQL condition.
    Fql(cim::query::Query),
    /// A WQL or DMTF:CQL query.
    Query(cim::query::Query),
}

impl PullFilter {
    /// The call's FilterQueryLanguage and FilterQuery.
    pub fn of(call: &Call<'_>) -> Result<PullFilter, CimError> {
        let p = &call.params;
        match (p.str("FilterQueryLanguage")?, p.str("FilterQuery")?) {
            (Some(language), Some(text)) if language.eq_ignore_ascii_case(FQL) => {
                Ok(PullFilter::Fql(fql_condition(text)?))
            }
            (Some(language), Some(text)) => {
                Ok(PullFilter::Query(parse_filter(call.ns, language, text)?))
            }
            (None, None) => Ok(PullFilter::Everything),
            _ => Err(Params::wrong(
                "FilterQueryLanguage",
                "given together with FilterQuery",
            )),
        }
    }

    /// The items it keeps, in order.
    pub fn keep(&self, call: &Call<'_>, items: Vec<Item>) -> Result<Vec<Item>, CimError> {
        let mut kept = Vec::new();
        for item in items {
            let keeps = match self {
                PullFilter::Everything => true,
                PullFilter::Fql(condition) => {
                    let instance = item.instance(&call.view);
                    let subject = super::query::InstanceSubject::new(call.ns, &instance);
                    condition
                        .matches(&subject)
                        .map_err(|e| error(CimStatusCode::InvalidQuery, format!("DMTF:FQL: {e}")))?
                }
                PullFilter::Query(query) => filter(call.ns, query, &item.instance(&call.view))?,
            };
            if keeps {
                kept.push(item);
            }
        }
        Ok(kept)
    }
}
