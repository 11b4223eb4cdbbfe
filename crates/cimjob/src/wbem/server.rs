//! The WBEM server's dispatch: one CIM-XML request in, one response out. Intrinsic
//! operations read the class repository, the catalog of instances and the engine; extrinsic
//! methods go to [`super::methods`]. Every failure is a CIM status code with a description
//! that names the problem.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use cim::xml::{
    write_response, CimError, IReturnValue, NamedInstancesWriter, Object, ObjectName,
    ObjectWithPath, ParamValue, Request, Response,
};
use cim::{CimStatusCode, ObjectPath};
use cimjob_engine::{EngineError, EngineHandle};
use cimjob_rules::model::properties::{View, CLASS_NAME};
use jiff::Timestamp;

use super::class_ops;
use super::classes::{canonical_namespace, repository, CIMV2, INTEROP};
use super::enumeration::{EnumerationContexts, PullKind, Scope};
use super::jobs::{job_id_of, values_of};
use super::objects::{references_of, same_object, Catalog, Identity, Item, Projection};
use super::query::{filter, parse_filter, Selected};
use crate::auth::Principal;
use crate::indications::registry::Registry;
use crate::indications::Indications;

/// How many enumeration contexts may be open at once.
pub const MAX_OPEN_ENUMERATIONS: usize = 256;
/// How many of them one user may hold.
pub const MAX_OPEN_ENUMERATIONS_PER_USER: usize = 32;

/// One entry of an open pull enumeration: the object and how to show it.
#[derive(Clone)]
pub struct Entry {
    item: Item,
    shape: Arc<Shape>,
}

/// How the objects of one enumeration are shown.
pub struct Shape {
    projection: Projection,
    selected: Option<Selected>,
}

/// The WBEM server: the engine, who we are, and the open enumerations.
pub struct Wbem {
    /// The bounds every request body is read within.
    pub limits: cim::xml::Limits,
    pub(super) engine: EngineHandle,
    pub(super) identity: Identity,
    pub(super) indications: Arc<Indications>,
    contexts: Mutex<EnumerationContexts<Entry>>,
}

/// A CIM error with a status code and a description.
pub fn error(code: CimStatusCode, description: impl Into<String>) -> CimError {
    CimError::new(code, description)
}

/// The CIM error for an engine failure.
pub fn engine_error(e: EngineError) -> CimError {
    match e {
        EngineError::NotFound(n) => error(CimStatusCode::NotFound, n.to_string()),
        EngineError::Property(p) => {
            let code = CimStatusCode::from_code(p.cim_status()).unwrap_or(CimStatusCode::Failed);
            error(code, p.message)
        }
        EngineError::NotFinished(m) => error(CimStatusCode::Failed, m),
        EngineError::Store(m) => error(CimStatusCode::Failed, m),
        EngineError::Stopped => error(
            CimStatusCode::ServerIsShuttingDown,
            "the service is stopping",
        ),
    }
}

/// The parameters of one call, read with DSP0200's types and defaults.
pub struct Params<'a>(pub &'a [(String, ParamValue)]);

impl<'a> Params<'a> {
    /// The parameter, if given and not NULL.
    pub fn get(&self, name: &str) -> Option<&'a ParamValue> {
        self.0
            .iter()
            .find(|(n, v)| n.eq_ignore_ascii_case(name) && !v.is_null())
            .map(|(_, v)| v)
    }

    fn wrong(name: &str, what: &str) -> CimError {
        error(
            CimStatusCode::InvalidParameter,
            format!("parameter {name} must be {what}"),
        )
    }

    /// A boolean, or `default` when absent.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, CimError> {
        self.get(name).map_or(Ok(default), |v| {
            v.as_bool().ok_or_else(|| Self::wrong(name, "a boolean"))
        })
    }

    /// A uint32, if given.
    pub fn u32(&self, name: &str) -> Result<Option<u32>, CimError> {
        self.get(name)
            .map(|v| v.as_u32().ok_or_else(|| Self::wrong(name, "a uint32")))
            .transpose()
    }

    /// A string, if given.
    pub fn str(&self, name: &str) -> Result<Option<&'a str>, CimError> {
        self.get(name)
            .map(|v| v.as_str().ok_or_else(|| Self::wrong(name, "a string")))
            .transpose()
    }

    /// A class name, if given.
    pub fn class_name(&self, name: &str) -> Result<Option<&'a str>, CimError> {
        self.get(name)
            .map(|v| {
                v.as_class_name()
                    .or_else(|| v.as_str())
                    .ok_or_else(|| Self::wrong(name, "a class name"))
            })
            .transpose()
    }

    /// A class name that must be given.
    pub fn required_class_name(&self, name: &str) -> Result<&'a str, CimError> {
        self.class_name(name)?
            .ok_or_else(|| Self::wrong(name, "given (a class name)"))
    }

    /// An instance name that must be given.
    pub fn instance_name(&self, name: &str) -> Result<&'a ObjectPath, CimError> {
        self.get(name)
            .and_then(ParamValue::as_instance_name)
            .ok_or_else(|| Self::wrong(name, "an instance name"))
    }

    /// PropertyList: `None` = all properties.
    pub fn property_list(&self) -> Result<Option<Vec<String>>, CimError> {
        self.get("PropertyList")
            .map(|v| {
                v.as_string_list()
                    .map(|l| l.into_iter().map(str::to_string).collect())
                    .ok_or_else(|| Self::wrong("PropertyList", "an array of property names"))
            })
            .transpose()
    }
}

fn namespace_of(name: &str) -> Result<&'static str, CimError> {
    canonical_namespace(name).ok_or_else(|| {
        error(
            CimStatusCode::InvalidNamespace,
            format!("namespace {name:?} does not exist here: use root/cimv2, or root/interop (alias interop)"),
        )
    })
}

fn known_class(namespace: &'static str, class: &str, code: CimStatusCode) -> Result<(), CimError> {
    match repository().class(namespace, class) {
        Some(_) => Ok(()),
        None => Err(error(
            code,
            format!("class {class:?} does not exist in {namespace}"),
        )),
    }
}

/// What an intrinsic operation answers.
enum Answer {
    Value(Option<IReturnValue>),
    Pull {
        value: IReturnValue,
        context: Option<String>,
    },
    /// EnumerateInstances: rendered while it is sent (see [`Answered::NamedInstances`]).
    NamedInstances(Vec<Item>, Projection),
}

/// The answer to one request: a whole response, or an EnumerateInstances answer to render
/// while it is sent, so a hundred thousand jobs never sit in memory as one document.
pub enum Answered {
    /// Everything, ready to write.
    Whole(Response),
    /// The objects of a successful EnumerateInstances, in order, and how to show them.
    NamedInstances {
        /// The request's MESSAGE ID.
        message_id: String,
        /// The operation's name as the client wrote it.
        method: String,
        /// The objects.
        items: Vec<Item>,
        /// Which of their properties to show.
        projection: Projection,
        /// The moment they are shown at.
        view: View,
    },
}

impl Answered {
    /// The HTTP body: a whole response keeps its Content-Length; named instances are
    /// rendered piece by piece as the body is sent.
    pub fn into_body(self) -> axum::body::Body {
        /// Instances rendered per piece: big enough to keep the writes few, small enough to
        /// keep the memory flat.
        const PER_PIECE: usize = 256;
        let (message_id, method, items, projection, view) = match self {
            Answered::Whole(response) => return axum::body::Body::from(write_response(&response)),
            Answered::NamedInstances {
                message_id,
                method,
                items,
                projection,
                view,
            } => (message_id, method, items, projection, view),
        };
        let writer = NamedInstancesWriter::new(&message_id, &method);
        let head = std::iter::once(writer.head());
        let tail = std::iter::once(writer.tail());
        let mut items = items.into_iter().peekable();
        let body = std::iter::from_fn(move || {
            items.peek()?;
            let mut piece = String::with_capacity(PER_PIECE * 4096);
            for item in items.by_ref().take(PER_PIECE) {
                let named = cim::xml::InstanceWithPath::new(
                    without_namespace(item.path()),
                    projection.apply(item.instance(&view)),
                );
                writer.instance(&mut piece, &named);
            }
            Some(piece)
        });
        let pieces = head
            .chain(body)
            .chain(tail)
            .map(|piece| Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(piece)));
        axum::body::Body::from_stream(futures_util::stream::iter(pieces))
    }
}

impl Wbem {
    /// A server over the engine.
    pub fn new(
        engine: EngineHandle,
        limits: cim::xml::Limits,
        indications: Arc<Indications>,
    ) -> Wbem {
        Wbem {
            limits,
            engine,
            identity: Identity::local(),
            indications,
            contexts: Mutex::new(EnumerationContexts::new(
                MAX_OPEN_ENUMERATIONS,
                MAX_OPEN_ENUMERATIONS_PER_USER,
            )),
        }
    }

    /// Answers one request.
    pub async fn handle(&self, request: &Request, principal: &Principal) -> Answered {
        let id = &request.message_id;
        let response = match &request.call {
            cim::xml::Call::Intrinsic {
                namespace,
                name,
                params,
            } => match self
                .intrinsic(namespace, name, Params(params), principal)
                .await
            {
                Ok(Answer::Value(v)) => Response::intrinsic(id, name, v),
                Ok(Answer::Pull { value, context }) => {
                    let end = context.is_none();
                    Response::pull(id, name, value, context.as_deref().unwrap_or(""), end)
                }
                Ok(Answer::NamedInstances(items, projection)) => {
                    return Answered::NamedInstances {
                        message_id: id.clone(),
                        method: name.clone(),
                        items,
                        projection,
                        view: self.engine.view(Timestamp::now()),
                    }
                }
                Err(e) => Response::intrinsic_error(id, name, e),
            },
            cim::xml::Call::Extrinsic {
                target,
                target_is_class,
                method,
                params,
            } => {
                match super::methods::invoke(
                    self,
                    principal,
                    target,
                    *target_is_class,
                    method,
                    Params(params),
                )
                .await
                {
                    Ok((code, out)) => Response::extrinsic(id, method, code, out),
                    Err(e) => Response::extrinsic_error(id, method, e),
                }
            }
        };
        Answered::Whole(response)
    }

    fn catalog(&self) -> Catalog {
        Catalog::new(
            self.identity.clone(),
            self.engine.clone(),
            self.indications.registry().clone(),
        )
    }

    /// Refuses (CIM_ERR_ACCESS_DENIED) a change of a job its requester does not own, unless
    /// an admin asks.
    pub(super) async fn authorize(&self, principal: &Principal, id: u64) -> Result<(), CimError> {
        let job = self.engine.get(id).await.map_err(engine_error)?;
        if principal.may_control(&job.owner) {
            Ok(())
        } else {
            Err(error(
                CimStatusCode::AccessDenied,
                principal.refusal(&job.instance_id(), &job.owner),
            ))
        }
    }

    async fn intrinsic(
        &self,
        namespace: &str,
        name: &str,
        p: Params<'_>,
        principal: &Principal,
    ) -> Result<Answer, CimError> {
        let ns = namespace_of(namespace)?;
        let view = self.engine.view(Timestamp::now());
        let value = |v: IReturnValue| Ok(Answer::Value(Some(v)));
        match cim::xml::intrinsic_operation(name).unwrap_or(name) {
            "GetClass" => {
                let class = p.required_class_name("ClassName")?;
                let options = class_ops::ClassOptions {
                    local_only: p.bool("LocalOnly", true)?,
                    include_qualifiers: p.bool("IncludeQualifiers", true)?,
                    include_class_origin: p.bool("IncludeClassOrigin", false)?,
                    property_list: p.property_list()?,
                };
                let decl = repository()
                    .class(ns, class)
                    .ok_or_else(|| error(CimStatusCode::NotFound, format!("class {class:?} does not exist in {ns}")))?;
                value(IReturnValue::Classes(vec![class_ops::wire_class(ns, decl, &options)]))
            }
            "EnumerateClasses" | "EnumerateClassNames" => {
                let class = p.class_name("ClassName")?;
                if let Some(c) = class {
                    known_class(ns, c, CimStatusCode::InvalidClass)?;
                }
                let deep = p.bool("DeepInheritance", false)?;
                let classes = repository().subclasses(ns, class, deep);
                if name.eq_ignore_ascii_case("EnumerateClassNames") {
                    return value(IReturnValue::ClassNames(classes.iter().map(|c| c.name.to_string()).collect()));
                }
                let options = class_ops::ClassOptions {
                    local_only: p.bool("LocalOnly", true)?,
                    include_qualifiers: p.bool("IncludeQualifiers", true)?,
                    include_class_origin: p.bool("IncludeClassOrigin", false)?,
                    property_list: None,
                };
                value(IReturnValue::Classes(classes.iter().map(|c| class_ops::wire_class(ns, c, &options)).collect()))
            }
            "GetInstance" => {
                let path = with_namespace(p.instance_name("InstanceName")?, ns);
                known_class(ns, &path.class_name, CimStatusCode::InvalidClass)?;
                let item = self.catalog().get(&path).await?;
                let projection = Projection::new(ns, p.property_list()?, None, true, p.bool("LocalOnly", false)?, p.bool("IncludeClassOrigin", false)?);
                value(IReturnValue::Instances(vec![projection.apply(item.instance(&view))]))
            }
            "EnumerateInstances" | "EnumerateInstanceNames" => {
                let class = p.required_class_name("ClassName")?;
                known_class(ns, class, CimStatusCode::InvalidClass)?;
                let items = self.catalog().items(ns, class).await?;
                if name.eq_ignore_ascii_case("EnumerateInstanceNames") {
                    return value(IReturnValue::InstanceNames(items.iter().map(|i| without_namespace(i.path())).collect()));
                }
                let projection = Projection::new(
                    ns,
                    p.property_list()?,
                    Some(class),
                    p.bool("DeepInheritance", true)?,
                    p.bool("LocalOnly", false)?,
                    p.bool("IncludeClassOrigin", false)?,
                );
                Ok(Answer::NamedInstances(items, projection))
            }
            "CreateInstance" => {
                let instance = p.get("NewInstance").and_then(ParamValue::as_instance).ok_or_else(|| Params::wrong("NewInstance", "an instance"))?;
                known_class(ns, &instance.class_name, CimStatusCode::InvalidClass)?;
                if ns == INTEROP && Registry::holds_class(&instance.class_name) {
                    let (registry, instance, named, owner) = (self.indications.registry().clone(), instance.clone(), namespace.to_string(), principal.clone());
                    let path = blocking(move || registry.create(&named, &instance, &owner)).await?;
                    return value(IReturnValue::InstanceNames(vec![without_namespace(path)]));
                }
                if ns != CIMV2 || !instance.class_name.eq_ignore_ascii_case(CLASS_NAME) {
                    return Err(error(
                        CimStatusCode::NotSupported,
                        format!("CreateInstance of {} is not supported: create jobs as {CLASS_NAME} in root/cimv2", instance.class_name),
                    ));
                }
                let values = values_of(instance, None).map_err(|e| engine_error(e.into()))?;
                let run_as = super::methods::run_as(principal)?;
                let id = self.engine.submit_as(values, &principal.name, run_as.as_deref(), false).await.map_err(engine_error)?.local_id;
                value(IReturnValue::InstanceNames(vec![without_namespace(super::jobs::job_path(id))]))
            }
            "ModifyInstance" => {
                let named = p.get("ModifiedInstance").and_then(ParamValue::as_named_instance).ok_or_else(|| Params::wrong("ModifiedInstance", "a named instance"))?;
                let path = with_namespace(&named.path, ns);
                known_class(ns, &path.class_name, CimStatusCode::InvalidClass)?;
                if ns == INTEROP && Registry::holds_class(&path.class_name) {
                    let (registry, instance, list, who) = (self.indications.registry().clone(), named.instance.clone(), p.property_list()?, principal.clone());
                    blocking(move || registry.modify(&path, &instance, list.as_deref(), &who)).await?;
                    return Ok(Answer::Value(None));
                }
                let Some(id) = job_id_of(&path).filter(|_| ns == CIMV2) else {
                    self.catalog().get(&path).await?;
                    return Err(error(CimStatusCode::NotSupported, format!("instances of {} cannot be modified", path.class_name)));
                };
                let list = p.property_list()?;
                self.authorize(principal, id).await?;
                let values = values_of(&named.instance, list.as_deref()).map_err(|e| engine_error(e.into()))?;
                self.engine.modify(id, values).await.map_err(engine_error)?;
                Ok(Answer::Value(None))
            }
            "DeleteInstance" => {
                let path = with_namespace(p.instance_name("InstanceName")?, ns);
                known_class(ns, &path.class_name, CimStatusCode::InvalidClass)?;
                if ns == INTEROP && Registry::holds_class(&path.class_name) {
                    let (registry, who) = (self.indications.registry().clone(), principal.clone());
                    if let Some(destination) = blocking(move || registry.delete(&path, &who)).await? {
                        self.indications.deliveries().forget(&destination);
                    }
                    return Ok(Answer::Value(None));
                }
                let Some(id) = job_id_of(&path).filter(|_| ns == CIMV2) else {
                    self.catalog().get(&path).await?;
                    return Err(error(CimStatusCode::NotSupported, format!("instances of {} cannot be deleted", path.class_name)));
                };
                self.authorize(principal, id).await?;
                self.engine.delete(id).await.map_err(engine_error)?;
                Ok(Answer::Value(None))
            }
            "ExecQuery" => {
                let language = p.str("QueryLanguage")?.ok_or_else(|| Params::wrong("QueryLanguage", "given"))?;
                let text = p.str("Query")?.ok_or_else(|| Params::wrong("Query", "given"))?;
                let query = parse_filter(ns, language, text)?;
                let items = self.catalog().items(ns, &query.from_class).await?;
                let selected = Selected::of(&query);
                let projection = Projection::all(ns);
                let mut out = Vec::new();
                for item in items {
                    let instance = item.instance(&view);
                    if filter(ns, &query, &instance)? {
                        let object = Object::Instance(selected.apply(projection.apply(instance)));
                        out.push(ObjectWithPath { path: self.full_path(item.path()), object });
                    }
                }
                value(IReturnValue::ObjectsWithPath(out))
            }
            "Associators" | "AssociatorNames" | "References" | "ReferenceNames" => {
                let names = name.ends_with("Names");
                let associators = name.starts_with("Associator");
                let items = self.walk(ns, &p, associators).await?;
                if names {
                    return value(IReturnValue::ObjectPaths(items.iter().map(|i| ObjectName::Instance(self.full_path(i.path()))).collect()));
                }
                let projection = Projection::new(ns, p.property_list()?, None, true, false, p.bool("IncludeClassOrigin", false)?);
                let objects = items
                    .iter()
                    .map(|i| ObjectWithPath { path: self.full_path(i.path()), object: Object::Instance(projection.apply(i.instance(&view))) })
                    .collect();
                value(IReturnValue::ObjectsWithPath(objects))
            }
            "OpenEnumerateInstances" | "OpenEnumerateInstancePaths" => {
                let class = p.required_class_name("ClassName")?;
                known_class(ns, class, CimStatusCode::InvalidClass)?;
                let items = self.filter_items(ns, &p, self.catalog().items(ns, class).await?, &view)?;
                let projection = Projection::new(ns, p.property_list()?, Some(class), p.bool("DeepInheritance", true)?, false, p.bool("IncludeClassOrigin", false)?);
                let kind = if name.ends_with("Paths") { PullKind::Paths } else { PullKind::InstancesWithPath };
                self.open(ns, &p, principal, items, projection, None, kind, &view)
            }
            "OpenAssociatorInstances" | "OpenAssociatorInstancePaths" | "OpenReferenceInstances" | "OpenReferenceInstancePaths" => {
                let associators = name.starts_with("OpenAssociator");
                let items = self.filter_items(ns, &p, self.walk(ns, &p, associators).await?, &view)?;
                let projection = Projection::new(ns, p.property_list()?, None, true, false, p.bool("IncludeClassOrigin", false)?);
                let kind = if name.ends_with("Paths") { PullKind::Paths } else { PullKind::InstancesWithPath };
                self.open(ns, &p, principal, items, projection, None, kind, &view)
            }
            "OpenQueryInstances" => {
                let language = p.str("FilterQueryLanguage")?.ok_or_else(|| Params::wrong("FilterQueryLanguage", "given"))?;
                let text = p.str("FilterQuery")?.ok_or_else(|| Params::wrong("FilterQuery", "given"))?;
                let query = parse_filter(ns, language, text)?;
                let mut items = Vec::new();
                for item in self.catalog().items(ns, &query.from_class).await? {
                    if filter(ns, &query, &item.instance(&view))? {
                        items.push(item);
                    }
                }
                let selected = Some(Selected::of(&query));
                self.open(ns, &p, principal, items, Projection::all(ns), selected, PullKind::Instances, &view)
            }
            "PullInstancesWithPath" | "PullInstancePaths" | "PullInstances" => {
                let kind = match name {
                    "PullInstancesWithPath" => PullKind::InstancesWithPath,
                    "PullInstancePaths" => PullKind::Paths,
                    _ => PullKind::Instances,
                };
                let id = p.str("EnumerationContext")?.ok_or_else(|| Params::wrong("EnumerationContext", "given"))?;
                let max = p.u32("MaxObjectCount")?.ok_or_else(|| Params::wrong("MaxObjectCount", "given"))?;
                let batch = self.lock().pull(id, kind, Scope { owner: &principal.name, namespace: ns }, max, Instant::now()).map_err(pull_error)?;
                Ok(Answer::Pull { value: render(kind, &batch.items, &view, &self.identity.host), context: batch.context })
            }
            "CloseEnumeration" => {
                let id = p.str("EnumerationContext")?.ok_or_else(|| Params::wrong("EnumerationContext", "given"))?;
                self.lock().close(id, Scope { owner: &principal.name, namespace: ns }, Instant::now()).map_err(pull_error)?;
                Ok(Answer::Value(None))
            }
            "EnumerationCount" => {
                let id = p.str("EnumerationContext")?.ok_or_else(|| Params::wrong("EnumerationContext", "given"))?;
                let n = self.lock().count(id, Scope { owner: &principal.name, namespace: ns }, Instant::now()).map_err(pull_error)?;
                value(IReturnValue::Value(ParamValue::Value(cim::CimValue::UInt64(n))))
            }
            other => Err(error(
                CimStatusCode::NotSupported,
                format!("operation {other} is not supported: this server's classes are fixed and its instances are jobs"),
            )),
        }
    }

    /// A path as INSTANCEPATH carries it: with our host and its namespace.
    fn full_path(&self, mut path: ObjectPath) -> ObjectPath {
        path.host = Some(self.identity.host.clone());
        path
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EnumerationContexts<Entry>> {
        self.contexts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps the items a FilterQuery (given with the Open*) matches.
    fn filter_items(
        &self,
        ns: &'static str,
        p: &Params<'_>,
        items: Vec<Item>,
        view: &View,
    ) -> Result<Vec<Item>, CimError> {
        match (p.str("FilterQueryLanguage")?, p.str("FilterQuery")?) {
            (Some(language), Some(text)) => {
                let query = parse_filter(ns, language, text)?;
                let mut kept = Vec::new();
                for item in items {
                    if filter(ns, &query, &item.instance(view))? {
                        kept.push(item);
                    }
                }
                Ok(kept)
            }
            (None, None) => Ok(items),
            _ => Err(Params::wrong(
                "FilterQueryLanguage",
                "given together with FilterQuery",
            )),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn open(
        &self,
        ns: &'static str,
        p: &Params<'_>,
        principal: &Principal,
        items: Vec<Item>,
        projection: Projection,
        selected: Option<Selected>,
        kind: PullKind,
        view: &View,
    ) -> Result<Answer, CimError> {
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
        let entries = items
            .into_iter()
            .map(|item| Entry {
                item,
                shape: shape.clone(),
            })
            .collect();
        let batch = self
            .lock()
            .open(
                entries,
                kind,
                Scope {
                    owner: &principal.name,
                    namespace: ns,
                },
                max,
                timeout,
                Instant::now(),
            )
            .map_err(pull_error)?;
        Ok(Answer::Pull {
            value: render(kind, &batch.items, view, &self.identity.host),
            context: batch.context,
        })
    }

    /// Associators/References: the objects associated with ObjectName (or the association
    /// instances that reference it), filtered by AssocClass/ResultClass/Role/ResultRole.
    async fn walk(
        &self,
        ns: &'static str,
        p: &Params<'_>,
        associators: bool,
    ) -> Result<Vec<Item>, CimError> {
        // the classic operations name it ObjectName, the Open* ones InstanceName (DSP0200)
        let object = match p.get("ObjectName").or_else(|| p.get("InstanceName")) {
            Some(ParamValue::InstanceName(path)) => with_namespace(path, ns),
            Some(v) if v.as_class_name().is_some() => return Ok(Vec::new()),
            _ => return Err(Params::wrong("ObjectName", "an instance name")),
        };
        let assoc_class = if associators {
            p.class_name("AssocClass")?
        } else {
            p.class_name("ResultClass")?
        };
        let result_class = if associators {
            p.class_name("ResultClass")?
        } else {
            None
        };
        let role = p.str("Role")?;
        let result_role = if associators {
            p.str("ResultRole")?
        } else {
            None
        };
        for c in [assoc_class, result_class].into_iter().flatten() {
            known_class(ns, c, CimStatusCode::InvalidParameter)?;
        }
        let repo = repository();
        let mut catalog = self.catalog();
        catalog.get(&object).await?;
        let view = self.engine.view(Timestamp::now());
        let mut out: Vec<Item> = Vec::new();
        for association in catalog.associations(ns).await? {
            if assoc_class.is_some_and(|c| !repo.is_subclass_of(ns, association.class_name(), c)) {
                continue;
            }
            let refs = references_of(&association.instance(&view));
            let Some((near_role, _)) = refs.iter().find(|(r, path)| {
                same_object(path, &object) && role.is_none_or(|want| want.eq_ignore_ascii_case(r))
            }) else {
                continue;
            };
            if !associators {
                out.push(association.clone());
                continue;
            }
            for (far_role, far) in &refs {
                if far_role == near_role
                    || result_role.is_some_and(|want| !want.eq_ignore_ascii_case(far_role))
                {
                    continue;
                }
                let Ok(target) = catalog.get(far).await else {
                    continue;
                };
                let target_ns = far
                    .namespace
                    .as_deref()
                    .and_then(canonical_namespace)
                    .unwrap_or(ns);
                if result_class
                    .is_some_and(|c| !repo.is_subclass_of(target_ns, target.class_name(), c))
                {
                    continue;
                }
                if !out.iter().any(|o| same_object(&o.path(), &target.path())) {
                    out.push(target);
                }
            }
        }
        Ok(out)
    }
}

fn pull_error(e: super::enumeration::PullError) -> CimError {
    let code = CimStatusCode::from_code(e.status_code()).unwrap_or(CimStatusCode::Failed);
    error(code, e.to_string())
}

fn render(kind: PullKind, entries: &[Entry], view: &View, host: &str) -> IReturnValue {
    let path = |e: &Entry| {
        let mut p = e.item.path();
        p.host = Some(host.to_string());
        p
    };
    match kind {
        PullKind::Paths => IReturnValue::InstancePaths(entries.iter().map(path).collect()),
        PullKind::InstancesWithPath => IReturnValue::InstancesWithPath(
            entries
                .iter()
                .map(|e| {
                    cim::xml::InstanceWithPath::new(
                        path(e),
                        e.shape.projection.apply(e.item.instance(view)),
                    )
                })
                .collect(),
        ),
        PullKind::Instances => IReturnValue::Instances(
            entries
                .iter()
                .map(|e| {
                    let instance = e.shape.projection.apply(e.item.instance(view));
                    match &e.shape.selected {
                        Some(s) => s.apply(instance),
                        None => instance,
                    }
                })
                .collect(),
        ),
    }
}

/// Runs a registry change (a durable SQLite write) off the async workers.
async fn blocking<T: Send + 'static>(
    change: impl FnOnce() -> Result<T, CimError> + Send + 'static,
) -> Result<T, CimError> {
    tokio::task::spawn_blocking(change).await.map_err(|e| {
        error(
            CimStatusCode::Failed,
            format!("the change did not complete: {e}"),
        )
    })?
}

/// A path from a request, with the request's namespace when it names none.
fn with_namespace(path: &ObjectPath, ns: &str) -> ObjectPath {
    let mut p = path.clone();
    if p.namespace.is_none() {
        p.namespace = Some(ns.to_string());
    }
    p
}

/// A path as INSTANCENAME carries it (no host, no namespace).
fn without_namespace(mut path: ObjectPath) -> ObjectPath {
    path.namespace = None;
    path.host = None;
    path
}
