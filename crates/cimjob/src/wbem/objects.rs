//! What the WBEM server can list and get: jobs (rendered on demand from the engine's
//! snapshots), the job service and its capabilities, the interop objects, and the
//! association instances between them. Fixed objects are typed by their class declarations,
//! so an instance never carries a property its class does not declare.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cim::xml::{CimError, Instance, InstanceWithPath};
use cim::{CimArray, CimStatusCode, CimType, CimValue, KeyValue, ObjectPath};
use cimjob_engine::{EngineHandle, JobPages};
use cimjob_rules::model::properties::View;
use cimjob_rules::model::Job;

use super::classes::statistics::{
    parse_run_instance_id, run_instance_id, ELEMENT_STATISTICAL_DATA, JOB_PROCESSING_STATISTICS,
};
use super::classes::system::{COMPUTER_SYSTEM, HOSTED_SERVICE};
use super::classes::{fixed, repository, CIMV2, INTEROP};
use super::jobs::{job_id_of, job_instance, job_path};
use crate::indications::registry::Registry;
use cimjob_rules::record::RunRecord;

/// Who we are, for the keys of the service and interop instances.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The host name (SystemName keys).
    pub host: String,
}

impl Identity {
    /// This machine.
    pub fn local() -> Identity {
        let host = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".into());
        Identity { host }
    }

    /// The one CIMJOB_JobService.
    pub fn service_path(&self) -> ObjectPath {
        self.hosted_service_path(CIMV2, "CIMJOB_JobService")
    }

    /// The machine the service runs on: the system its keys name.
    pub fn system_path(&self) -> ObjectPath {
        ObjectPath::new(Some(CIMV2), COMPUTER_SYSTEM)
            .with_key("CreationClassName", KeyValue::from(COMPUTER_SYSTEM))
            .with_key("Name", KeyValue::from(self.host.as_str()))
    }

    /// The one CIM_JobCapabilities.
    pub fn capabilities_path(&self) -> ObjectPath {
        ObjectPath::new(Some(CIMV2), "CIM_JobCapabilities")
            .with_key("InstanceID", KeyValue::from("CIMJOB:capabilities"))
    }

    /// The one CIM_ObjectManager.
    pub fn object_manager_path(&self) -> ObjectPath {
        self.hosted_service_path(INTEROP, "CIM_ObjectManager")
    }

    /// A CIM_Service named `cimjob` on this host: the four keys CIM_Service
    /// takes from its hosting system.
    fn hosted_service_path(&self, namespace: &str, class: &str) -> ObjectPath {
        ObjectPath::new(Some(namespace), class)
            .with_key("CreationClassName", KeyValue::from(class))
            .with_key("Name", KeyValue::from("cimjob"))
            .with_key("SystemCreationClassName", KeyValue::from(COMPUTER_SYSTEM))
            .with_key("SystemName", KeyValue::from(self.host.as_str()))
    }

    fn namespace_path(&self, name: &str) -> ObjectPath {
        ObjectPath::new(Some(INTEROP), "CIM_Namespace")
            .with_key("CreationClassName", KeyValue::from("CIM_Namespace"))
            .with_key("Name", KeyValue::from(name))
            .with_key(
                "ObjectManagerCreationClassName",
                KeyValue::from("CIM_ObjectManager"),
            )
            .with_key("ObjectManagerName", KeyValue::from("cimjob"))
            .with_key("SystemCreationClassName", KeyValue::from(COMPUTER_SYSTEM))
            .with_key("SystemName", KeyValue::from(self.host.as_str()))
    }

    fn profile_path(id: &str) -> ObjectPath {
        ObjectPath::new(Some(INTEROP), "CIM_RegisteredProfile")
            .with_key("InstanceID", KeyValue::from(id))
    }
}

fn strings(items: &[&str]) -> CimValue {
    CimValue::Array(
        CimArray::new(
            CimType::String,
            items
                .iter()
                .map(|s| CimValue::String(s.to_string()))
                .collect(),
        )
        .expect("strings"),
    )
}

fn u16s(items: &[u16]) -> CimValue {
    CimValue::Array(
        CimArray::new(
            CimType::UInt16,
            items.iter().map(|n| CimValue::UInt16(*n)).collect(),
        )
        .expect("uint16"),
    )
}

fn interval(text: &str) -> CimValue {
    CimValue::DateTime(cim::CimDateTime::parse(text).expect("a valid interval"))
}

/// The instance of a fixed object with its path's keys as properties too.
fn with_keys(path: &ObjectPath, values: Vec<(&str, CimValue)>) -> Vec<(String, CimValue)> {
    let keys = path.keys.iter().filter_map(|(name, key)| {
        let value = match key {
            KeyValue::String(s) => CimValue::String(s.clone()),
            KeyValue::Reference(p) => CimValue::Reference((**p).clone()),
            KeyValue::Boolean(b) => CimValue::Boolean(*b),
            KeyValue::Integer(_) => return None,
        };
        Some((name.clone(), value))
    });
    keys.chain(values.into_iter().map(|(n, v)| (n.to_string(), v)))
        .collect()
}

/// Every fixed instance of a namespace, with its path.
pub fn fixed_instances(identity: &Identity, namespace: &str) -> Vec<InstanceWithPath> {
    let mut out = Vec::new();
    let mut add = |ns: &str, path: ObjectPath, values: Vec<(&str, CimValue)>| {
        let instance = fixed(ns, &path.class_name, with_keys(&path, values));
        out.push(InstanceWithPath::new(path, instance));
    };
    let service = identity.service_path();
    let capabilities = identity.capabilities_path();
    let job_control = Identity::profile_path("CIMJOB:profile:job-control");
    let registration = Identity::profile_path("CIMJOB:profile:profile-registration");
    let conforms = |profile: &ObjectPath, element: &ObjectPath, ns: &str| {
        ObjectPath::new(Some(ns), "CIM_ElementConformsToProfile")
            .with_key(
                "ConformantStandard",
                KeyValue::Reference(Box::new(profile.clone())),
            )
            .with_key(
                "ManagedElement",
                KeyValue::Reference(Box::new(element.clone())),
            )
    };
    if namespace == CIMV2 {
        add(
            CIMV2,
            service.clone(),
            vec![
                ("ElementName", "cimjob job service".into()),
                (
                    "Description",
                    "Runs commands as CIM_ConcreteJob jobs: SubmitJob creates one.".into(),
                ),
                ("Started", true.into()),
                ("EnabledState", CimValue::UInt16(2)),
            ],
        );
        add(
            CIMV2,
            capabilities.clone(),
            vec![
                ("ElementName", "cimjob job capabilities".into()),
                ("RequestedStatesSupported", u16s(&[2, 3, 4, 5, 6])),
                ("DeleteJobSupported", true.into()),
                (
                    "TimeBeforeRemovalMin",
                    interval("00000000000000.000000:000"),
                ),
                (
                    "TimeBeforeRemovalMax",
                    interval("99999999235959.000000:000"),
                ),
            ],
        );
        let ec = ObjectPath::new(Some(CIMV2), "CIM_ElementCapabilities")
            .with_key(
                "Capabilities",
                KeyValue::Reference(Box::new(capabilities.clone())),
            )
            .with_key(
                "ManagedElement",
                KeyValue::Reference(Box::new(service.clone())),
            );
        add(CIMV2, ec, vec![("Characteristics", u16s(&[2]))]);
        let system = identity.system_path();
        add(
            CIMV2,
            system.clone(),
            vec![
                ("ElementName", identity.host.as_str().into()),
                (
                    "Description",
                    "The machine the cimjob service runs on.".into(),
                ),
                ("NameFormat", "Other".into()),
                ("EnabledState", CimValue::UInt16(2)),
            ],
        );
        let hosted = ObjectPath::new(Some(CIMV2), HOSTED_SERVICE)
            .with_key("Antecedent", KeyValue::Reference(Box::new(system)))
            .with_key("Dependent", KeyValue::Reference(Box::new(service.clone())));
        add(CIMV2, hosted, vec![]);
        add(CIMV2, conforms(&job_control, &service, CIMV2), vec![]);
    } else if namespace == INTEROP {
        let om = identity.object_manager_path();
        add(
            INTEROP,
            om.clone(),
            vec![
                ("ElementName", "cimjob".into()),
                (
                    "Description",
                    format!(
                        "cimjob CIM job service version {}",
                        env!("CARGO_PKG_VERSION")
                    )
                    .into(),
                ),
                ("Started", true.into()),
                ("EnabledState", CimValue::UInt16(2)),
                ("GatherStatisticalData", false.into()),
            ],
        );
        for ns in [CIMV2, INTEROP] {
            let path = identity.namespace_path(ns);
            add(
                INTEROP,
                path.clone(),
                vec![("ClassInfo", CimValue::UInt16(0))],
            );
            let inm = ObjectPath::new(Some(INTEROP), "CIM_NamespaceInManager")
                .with_key("Antecedent", KeyValue::Reference(Box::new(om.clone())))
                .with_key("Dependent", KeyValue::Reference(Box::new(path)));
            add(INTEROP, inm, vec![]);
        }
        for (path, name) in [
            (&job_control, "Job Control"),
            (&registration, "Profile Registration"),
        ] {
            add(
                INTEROP,
                path.clone(),
                vec![
                    ("RegisteredOrganization", CimValue::UInt16(2)),
                    ("RegisteredName", name.into()),
                    ("RegisteredVersion", "1.0.0".into()),
                    ("AdvertiseTypes", u16s(&[2])),
                    ("AdvertiseTypeDescriptions", strings(&["Not Advertised"])),
                ],
            );
        }
        add(INTEROP, conforms(&job_control, &service, INTEROP), vec![]);
        add(INTEROP, conforms(&registration, &om, INTEROP), vec![]);
    }
    out
}

/// The path of the statistics of one run.
fn run_path(run: &RunRecord) -> ObjectPath {
    ObjectPath::new(Some(CIMV2), JOB_PROCESSING_STATISTICS).with_key(
        "InstanceID",
        KeyValue::from(run_instance_id(run.local_id, run.run_number).as_str()),
    )
}

/// One run as a CIM_JobProcessingStatistics: when it started, how long it ran (until now
/// while it goes on), the job's ErrorCode and ErrorDescription for it.
fn run_statistics(run: &RunRecord) -> InstanceWithPath {
    let path = run_path(run);
    let moment = |t: jiff::Timestamp| {
        cim::CimDateTime::from_timestamp(t, 0)
            .map(CimValue::DateTime)
            .ok()
    };
    let until = run.ended_at.unwrap_or_else(jiff::Timestamp::now);
    let elapsed = cim::CimDateTime::from_duration(until.duration_since(run.started_at))
        .map(CimValue::DateTime)
        .ok();
    let mut values: Vec<(&str, CimValue)> = vec![
        (
            "ElementName",
            format!(
                "{} run {}",
                cimjob_rules::model::job::instance_id(run.local_id),
                run.run_number
            )
            .into(),
        ),
        ("ErrorCode", CimValue::UInt16(run.error_code)),
    ];
    let times = [
        ("StartTime", moment(run.started_at)),
        ("StartStatisticTime", moment(run.started_at)),
        ("StatisticTime", moment(until)),
        ("ElapsedTime", elapsed),
    ];
    values.extend(times.into_iter().filter_map(|(n, v)| Some((n, v?))));
    if let Some(text) = &run.error_description {
        values.push(("ErrorDescription", text.as_str().into()));
    }
    let instance = fixed(CIMV2, JOB_PROCESSING_STATISTICS, with_keys(&path, values));
    InstanceWithPath::new(path, instance)
}

/// The CIM_ElementStatisticalData from a run's job to the run's statistics.
fn run_link(run: &RunRecord) -> InstanceWithPath {
    let path = ObjectPath::new(Some(CIMV2), ELEMENT_STATISTICAL_DATA)
        .with_key(
            "ManagedElement",
            KeyValue::Reference(Box::new(job_path(run.local_id))),
        )
        .with_key("Stats", KeyValue::Reference(Box::new(run_path(run))));
    let instance = fixed(CIMV2, ELEMENT_STATISTICAL_DATA, with_keys(&path, vec![]));
    InstanceWithPath::new(path, instance)
}

/// Something an enumeration returns, rendered when it is sent: a job snapshot (cheap to
/// hold while a pull enumeration waits), the CIM_OwningJobElement of a job, or an instance
/// made already (a fixed one, a subscription object, a run's statistics or their link).
#[derive(Clone)]
pub enum Item {
    /// A job.
    Job(Arc<Job>),
    /// The association from the job service to this job.
    Owning(u64, Arc<ObjectPath>),
    /// A fixed instance.
    Fixed(Arc<InstanceWithPath>),
}

impl Item {
    /// The class of the instance.
    pub fn class_name(&self) -> &str {
        match self {
            Item::Job(_) => cimjob_rules::model::properties::CLASS_NAME,
            Item::Owning(..) => "CIM_OwningJobElement",
            Item::Fixed(f) => &f.instance.class_name,
        }
    }

    /// The path.
    pub fn path(&self) -> ObjectPath {
        match self {
            Item::Job(job) => job_path(job.local_id),
            Item::Owning(id, service) => owning_path(service, *id),
            Item::Fixed(f) => f.path.clone(),
        }
    }

    /// The instance with every property.
    pub fn instance(&self, view: &View) -> Instance {
        match self {
            Item::Job(job) => job_instance(job, view),
            Item::Owning(id, service) => {
                let path = owning_path(service, *id);
                fixed(CIMV2, "CIM_OwningJobElement", with_keys(&path, vec![]))
            }
            Item::Fixed(f) => f.instance.clone(),
        }
    }
}

fn owning_path(service: &ObjectPath, id: u64) -> ObjectPath {
    ObjectPath::new(Some(CIMV2), "CIM_OwningJobElement")
        .with_key("OwnedElement", KeyValue::Reference(Box::new(job_path(id))))
        .with_key(
            "OwningElement",
            KeyValue::Reference(Box::new(service.clone())),
        )
}

/// Which properties an instance in an answer carries: PropertyList, DeepInheritance (only
/// the requested class's properties), LocalOnly (only those it defines), IncludeClassOrigin.
pub struct Projection {
    namespace: &'static str,
    property_list: Option<Vec<String>>,
    requested_class: Option<String>,
    deep: bool,
    local_only: bool,
    include_class_origin: bool,
}

/// Property name (as declared, and lowercased) → the class that defines it.
type Origins = HashMap<String, &'static str>;

/// A class's [`Origins`], made once per namespace and class: the repository never changes,
/// and every instance in every answer is projected with them.
fn class_origins(namespace: &'static str, class: &str) -> Arc<Origins> {
    type Cache = Mutex<HashMap<(&'static str, String), Arc<Origins>>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let key = (namespace, class.to_ascii_lowercase());
    let mut cache = CACHE
        .get_or_init(Cache::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(origins) = cache.get(&key) {
        return origins.clone();
    }
    let mut origins = Origins::new();
    for (decl, origin, _) in repository().all_properties(namespace, class) {
        origins.insert(decl.name.to_ascii_lowercase(), origin);
        origins.insert(decl.name.to_string(), origin);
    }
    let origins = Arc::new(origins);
    // only classes the repository declares, so the cache stays as small as the repository
    if !origins.is_empty() {
        cache.insert(key, origins.clone());
    }
    origins
}

impl Projection {
    /// Every property, no class origin.
    pub fn all(namespace: &'static str) -> Projection {
        Projection::new(namespace, None, None, true, false, false)
    }

    /// A projection as the operation's parameters ask.
    pub fn new(
        namespace: &'static str,
        property_list: Option<Vec<String>>,
        requested_class: Option<&str>,
        deep: bool,
        local_only: bool,
        include_class_origin: bool,
    ) -> Projection {
        Projection {
            namespace,
            property_list,
            requested_class: requested_class.map(str::to_string),
            deep,
            local_only,
            include_class_origin,
        }
    }

    /// Keeps the selected properties of `instance` and sets or clears their CLASSORIGIN.
    pub fn apply(&self, mut instance: Instance) -> Instance {
        let repo = repository();
        let origins = class_origins(self.namespace, &instance.class_name);
        let requested = self
            .requested_class
            .as_deref()
            .unwrap_or(&instance.class_name)
            .to_string();
        instance.properties.retain_mut(|p| {
            let origin = origins
                .get(p.name.as_str())
                .or_else(|| origins.get(&p.name.to_ascii_lowercase()))
                .copied()
                .unwrap_or("");
            let listed = self
                .property_list
                .as_ref()
                .is_none_or(|l| l.iter().any(|n| n.eq_ignore_ascii_case(&p.name)));
            let inherited_ok = if self.local_only {
                origin.eq_ignore_ascii_case(&requested)
            } else if !self.deep {
                repo.is_subclass_of(self.namespace, &requested, origin)
            } else {
                true
            };
            p.class_origin = self
                .include_class_origin
                .then(|| origin.to_string())
                .filter(|o| !o.is_empty());
            listed && inherited_ok
        });
        instance
    }
}

/// Whether two paths name the same object: equal keys (names ignoring case, references
/// compared the same way) and classes related by ISA, since a client may name a job by
/// CIM_ConcreteJob.
pub fn same_object(a: &ObjectPath, b: &ObjectPath) -> bool {
    if a.keys.len() != b.keys.len() {
        return false;
    }
    let repo = repository();
    let ns = a
        .namespace
        .as_deref()
        .or(b.namespace.as_deref())
        .and_then(super::classes::canonical_namespace)
        .unwrap_or(CIMV2);
    let related = a.class_name.eq_ignore_ascii_case(&b.class_name)
        || repo.is_subclass_of(ns, &a.class_name, &b.class_name)
        || repo.is_subclass_of(ns, &b.class_name, &a.class_name);
    related
        && a.keys.iter().all(|(name, va)| match (va, b.key(name)) {
            (KeyValue::Reference(pa), Some(KeyValue::Reference(pb))) => same_object(pa, pb),
            (va, Some(vb)) => va == vb,
            (_, None) => false,
        })
}

/// What one request may see: the jobs (read from the engine a page at a time), the fixed
/// instances and the subscription objects.
#[derive(Clone)]
pub struct Catalog {
    /// Our identity.
    pub identity: Identity,
    engine: EngineHandle,
    subscriptions: Arc<Registry>,
    /// Only this owner's jobs are there (a user's view); `None` for an admin's.
    owner: Option<String>,
}

fn engine_failed(e: cimjob_engine::EngineError) -> CimError {
    CimError::new(CimStatusCode::Failed, e.to_string())
}

/// How many jobs [`Catalog::chunks`] reads from the engine at a time.
const JOB_PAGE: usize = 1000;

impl Catalog {
    /// A catalog over the engine, of what `owner` may see (`None`: everything, an admin's).
    pub fn new(
        identity: Identity,
        engine: EngineHandle,
        subscriptions: Arc<Registry>,
        owner: Option<&str>,
    ) -> Catalog {
        Catalog {
            identity,
            engine,
            subscriptions,
            owner: owner.map(str::to_string),
        }
    }

    fn visible(&self, job: &Job) -> bool {
        self.owner.as_deref().is_none_or(|o| o == job.owner)
    }

    /// The job with this LocalID, if there is one and it is to be seen here.
    async fn job(&self, id: u64) -> Option<Arc<Job>> {
        self.engine.get(id).await.ok().filter(|j| self.visible(j))
    }

    /// Every instance in `namespace` whose class ISA `class` (polymorphic enumeration).
    pub async fn items(
        &mut self,
        namespace: &'static str,
        class: &str,
    ) -> Result<Vec<Item>, CimError> {
        let mut out = Vec::new();
        self.chunks(namespace, class, |chunk| {
            out.extend(chunk);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// [`Catalog::items`] handed to `visit` a page of jobs at a time, so a caller that keeps
    /// less than every job (an open enumeration) never holds them all at once.
    pub async fn chunks(
        &mut self,
        namespace: &'static str,
        class: &str,
        mut visit: impl FnMut(Vec<Item>) -> Result<(), CimError>,
    ) -> Result<(), CimError> {
        let mut pages = self.pages(namespace, class);
        // bounded: the pages end once the jobs do
        while let Some(chunk) = pages.next().await {
            visit(chunk?)?;
        }
        Ok(())
    }

    /// [`Catalog::items`] as [`Pages`] of its own, to be read on while an answer is sent.
    pub fn pages(&self, namespace: &'static str, class: &str) -> Pages {
        let repo = repository();
        let in_cimv2 = namespace == CIMV2;
        let want_jobs = in_cimv2
            && repo.is_subclass_of(
                namespace,
                cimjob_rules::model::properties::CLASS_NAME,
                class,
            );
        let want_owning = in_cimv2 && repo.is_subclass_of(namespace, "CIM_OwningJobElement", class);
        let want_runs =
            in_cimv2 && repo.is_subclass_of(namespace, JOB_PROCESSING_STATISTICS, class);
        let want_run_links =
            in_cimv2 && repo.is_subclass_of(namespace, ELEMENT_STATISTICAL_DATA, class);
        let want_any = want_jobs || want_owning || want_runs || want_run_links;
        Pages {
            service: Arc::new(self.identity.service_path()),
            jobs: want_any.then(|| self.engine.pages(0, JOB_PAGE)),
            want_runs,
            want_run_links,
            catalog: self.clone(),
            namespace,
            class: class.to_string(),
            want_jobs,
            want_owning,
            rest_done: false,
        }
    }

    /// The object a path names, or CIM_ERR_NOT_FOUND.
    pub async fn get(&mut self, path: &ObjectPath) -> Result<Item, CimError> {
        let not_found = || CimError::new(CimStatusCode::NotFound, format!("no instance {path}"));
        let namespace = path
            .namespace
            .as_deref()
            .and_then(super::classes::canonical_namespace)
            .unwrap_or(CIMV2);
        let repo = repository();
        if namespace == CIMV2
            && repo.is_subclass_of(
                namespace,
                cimjob_rules::model::properties::CLASS_NAME,
                &path.class_name,
            )
        {
            if let Some(id) = job_id_of(path).filter(|_| path.keys.len() == 1) {
                return self.job(id).await.map(Item::Job).ok_or_else(not_found);
            }
        }
        if namespace == CIMV2
            && repo.is_subclass_of(namespace, "CIM_OwningJobElement", &path.class_name)
        {
            let owned = path.key("OwnedElement");
            let owning = path.key("OwningElement");
            if let (Some(KeyValue::Reference(job)), Some(KeyValue::Reference(service))) =
                (owned, owning)
            {
                let our_service = self.identity.service_path();
                if let Some(id) = job_id_of(job).filter(|_| same_object(service, &our_service)) {
                    if self.job(id).await.is_some() {
                        return Ok(Item::Owning(id, Arc::new(our_service)));
                    }
                }
            }
            return Err(not_found());
        }
        let is_run = repo.is_subclass_of(namespace, JOB_PROCESSING_STATISTICS, &path.class_name);
        let is_run_link =
            repo.is_subclass_of(namespace, ELEMENT_STATISTICAL_DATA, &path.class_name);
        let stats = match (is_run, path.key("Stats")) {
            (true, _) => Some(path),
            (false, Some(KeyValue::Reference(stats))) if is_run_link => Some(&**stats),
            _ => None,
        };
        // a path that names no run (a CIM_ManagedElement path of another object) goes on to
        // the other objects
        if let Some((id, number)) = stats.filter(|_| namespace == CIMV2).and_then(run_named) {
            self.job(id).await.ok_or_else(not_found)?;
            let runs = self.engine.runs(id).await.map_err(engine_failed)?;
            let run = runs
                .iter()
                .find(|r| r.run_number == number)
                .ok_or_else(not_found)?;
            let found = if is_run {
                run_statistics(run)
            } else {
                run_link(run)
            };
            return if same_object(&found.path, path) {
                Ok(Item::Fixed(Arc::new(found)))
            } else {
                Err(not_found())
            };
        }
        if namespace == INTEROP && Registry::holds_class(&path.class_name) {
            return self
                .subscriptions
                .get(path)
                .map(|s| Item::Fixed(Arc::new(s)))
                .ok_or_else(not_found);
        }
        fixed_instances(&self.identity, namespace)
            .into_iter()
            .find(|f| same_object(&f.path, path))
            .map(|f| Item::Fixed(Arc::new(f)))
            .ok_or_else(not_found)
    }

    /// The association instances in `namespace` that Associators and References of `source`
    /// walk: those of the hierarchies `assoc_class` is in (every association class without
    /// one). A run's links are
    /// read for a job or a run only, and for them alone: the source's runs, not every job's.
    pub async fn associations(
        &mut self,
        namespace: &'static str,
        source: &ObjectPath,
        assoc_class: Option<&str>,
    ) -> Result<Vec<Item>, CimError> {
        let repo = repository();
        let classes: Vec<&str> = repo
            .subclasses(namespace, None, true)
            .into_iter()
            .filter(|c| {
                c.is_association
                    && c.superclass
                        .is_none_or(|s| repo.class(namespace, s).is_none_or(|p| !p.is_association))
                    // the top class of a hierarchy the asked-for class is in (either way:
                    // the walk checks each instance's own class)
                    && assoc_class.is_none_or(|a| {
                        repo.is_subclass_of(namespace, c.name, a)
                            || repo.is_subclass_of(namespace, a, c.name)
                    })
            })
            .map(|c| c.name)
            .collect();
        let mut out = Vec::new();
        for class in classes {
            if class == ELEMENT_STATISTICAL_DATA {
                out.extend(self.run_links_of(source).await?);
            } else {
                out.extend(self.items(namespace, class).await?);
            }
        }
        Ok(out)
    }

    /// The CIM_ElementStatisticalData of `source`: each run's, for a job; its own, for a
    /// run; none for anything else.
    async fn run_links_of(&mut self, source: &ObjectPath) -> Result<Vec<Item>, CimError> {
        let (id, only) = if let Some(id) = job_id_of(source) {
            (id, None)
        } else if let Some((id, run)) = run_named(source) {
            (id, Some(run))
        } else {
            return Ok(Vec::new());
        };
        if self.job(id).await.is_none() {
            return Ok(Vec::new());
        }
        let runs = self.engine.runs(id).await.map_err(engine_failed)?;
        Ok(runs
            .iter()
            .filter(|r| only.is_none_or(|n| r.run_number == n))
            .map(|r| Item::Fixed(Arc::new(run_link(r))))
            .collect())
    }
}

/// The job and run a CIM_JobProcessingStatistics path names (by its InstanceID), if it names
/// one of ours.
fn run_named(path: &ObjectPath) -> Option<(u64, u32)> {
    match path.key("InstanceID")? {
        KeyValue::String(id) if path.keys.len() == 1 => parse_run_instance_id(id),
        _ => None,
    }
}

/// The objects of one polymorphic enumeration in order, a page at a time: the jobs (and
/// their CIM_OwningJobElement associations, their runs' statistics and the links to them)
/// [`JOB_PAGE`] jobs at a time, then the fixed instances
/// and subscription objects. It owns what it reads through, so an answer can go on reading
/// it while it is sent, holding one page.
pub struct Pages {
    catalog: Catalog,
    namespace: &'static str,
    class: String,
    service: Arc<ObjectPath>,
    want_jobs: bool,
    want_owning: bool,
    /// CIM_JobProcessingStatistics: each run of each job.
    want_runs: bool,
    /// CIM_ElementStatisticalData: from each job to each of its runs.
    want_run_links: bool,
    /// The jobs still to read; `None` once they are done (or none are wanted).
    jobs: Option<JobPages>,
    rest_done: bool,
}

impl Pages {
    /// The next page of objects (it may be empty), or `None` at the end. After an error
    /// there is nothing more.
    pub async fn next(&mut self) -> Option<Result<Vec<Item>, CimError>> {
        if let Some(jobs) = &mut self.jobs {
            let page = match jobs.next().await {
                Some(Ok(page)) => page,
                Some(Err(e)) => {
                    self.jobs = None;
                    self.rest_done = true;
                    return Some(Err(engine_failed(e)));
                }
                None => {
                    self.jobs = None;
                    return self.rest();
                }
            };
            let mut chunk = Vec::new();
            for job in page.into_iter().filter(|j| self.catalog.visible(j)) {
                let id = job.local_id;
                if self.want_jobs {
                    chunk.push(Item::Job(job));
                }
                if self.want_owning {
                    chunk.push(Item::Owning(id, self.service.clone()));
                }
                if self.want_runs || self.want_run_links {
                    let runs = match self.catalog.engine.runs(id).await {
                        Ok(runs) => runs,
                        Err(e) => {
                            self.jobs = None;
                            self.rest_done = true;
                            return Some(Err(engine_failed(e)));
                        }
                    };
                    for run in &runs {
                        if self.want_runs {
                            chunk.push(Item::Fixed(Arc::new(run_statistics(run))));
                        }
                        if self.want_run_links {
                            chunk.push(Item::Fixed(Arc::new(run_link(run))));
                        }
                    }
                }
            }
            return Some(Ok(chunk));
        }
        self.rest()
    }

    /// The fixed instances and subscription objects, once, after the jobs.
    fn rest(&mut self) -> Option<Result<Vec<Item>, CimError>> {
        if std::mem::replace(&mut self.rest_done, true) {
            return None;
        }
        let repo = repository();
        let (namespace, class) = (self.namespace, self.class.as_str());
        let mut rest = Vec::new();
        for f in fixed_instances(&self.catalog.identity, namespace) {
            if repo.is_subclass_of(namespace, &f.instance.class_name, class) {
                rest.push(Item::Fixed(Arc::new(f)));
            }
        }
        if namespace == INTEROP {
            let subscriptions = self.catalog.subscriptions.instances(class);
            rest.extend(subscriptions.into_iter().map(|s| Item::Fixed(Arc::new(s))));
        }
        Some(Ok(rest))
    }
}

/// The reference properties of an association instance: (role, path).
pub fn references_of(instance: &Instance) -> Vec<(String, ObjectPath)> {
    instance
        .properties
        .iter()
        .filter_map(|p| match p.cim_value() {
            Some(CimValue::Reference(path)) => Some((p.name.clone(), path.clone())),
            _ => None,
        })
        .collect()
}
