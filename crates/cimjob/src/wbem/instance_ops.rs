//! The instance operations: GetInstance, EnumerateInstances(Names), CreateInstance,
//! ModifyInstance, DeleteInstance, ExecQuery, and the Open* operations over instances of a
//! class or a query. Jobs go through the engine, subscriptions through the registry; nothing
//! here decides anything about a job.

use cim::xml::{CimError, IReturnValue, Object, ObjectWithPath, ParamValue};
use cim::CimStatusCode;
use cimjob_rules::model::properties::CLASS_NAME;

use super::classes::{CIMV2, INTEROP};
use super::enumeration::PullKind;
use super::jobs::{job_id_of, job_path, values_of};
use super::objects::Projection;
use super::operation::{
    blocking, engine_error, error, known_class, with_namespace, without_namespace, Answer, Call,
    Params,
};
use super::pull::{kind_of, Kept, PullFilter};
use super::query::{filter, parse_filter, Selected};
use super::service::Wbem;
use crate::indications::registry::Registry;

/// GetInstance.
pub async fn get_instance(w: &Wbem, c: &Call<'_>) -> Result<Answer, CimError> {
    let p = &c.params;
    let path = with_namespace(p.instance_name("InstanceName")?, c.ns);
    known_class(c.ns, &path.class_name, CimStatusCode::InvalidClass)?;
    let item = w.catalog(c.principal).get(&path).await?;
    let projection = Projection::new(
        c.ns,
        p.property_list()?,
        None,
        true,
        p.bool("LocalOnly", false)?,
        p.bool("IncludeClassOrigin", false)?,
    );
    Answer::value(IReturnValue::Instances(vec![
        projection.apply(item.instance(&c.view))
    ]))
}

/// EnumerateInstances (rendered while sent) and EnumerateInstanceNames.
pub async fn enumerate_instances(w: &Wbem, c: &Call<'_>) -> Result<Answer, CimError> {
    let p = &c.params;
    let class = p.required_class_name("ClassName")?;
    known_class(c.ns, class, CimStatusCode::InvalidClass)?;
    let mut rest = w.catalog(c.principal).pages(c.ns, class);
    let first = rest.next().await.transpose()?.unwrap_or_default();
    let projection = Projection::new(
        c.ns,
        p.property_list()?,
        Some(class),
        p.bool("DeepInheritance", true)?,
        p.bool("LocalOnly", false)?,
        p.bool("IncludeClassOrigin", false)?,
    );
    Ok(Answer::Enumerated {
        names_only: c.name.eq_ignore_ascii_case("EnumerateInstanceNames"),
        first,
        rest: Box::new(rest),
        projection,
    })
}

/// CreateInstance: a subscription object in interop, or a job in root/cimv2.
pub async fn create_instance(w: &Wbem, c: &Call<'_>) -> Result<Answer, CimError> {
    let instance = c
        .params
        .get("NewInstance")
        .and_then(ParamValue::as_instance)
        .ok_or_else(|| Params::wrong("NewInstance", "an instance"))?;
    known_class(c.ns, &instance.class_name, CimStatusCode::InvalidClass)?;
    if c.ns == INTEROP && Registry::holds_class(&instance.class_name) {
        let registry = w.indications.registry().clone();
        let (instance, named, owner) = (
            instance.clone(),
            c.namespace.to_string(),
            c.principal.clone(),
        );
        let path = blocking(move || registry.create(&named, &instance, &owner)).await?;
        return Answer::value(IReturnValue::InstanceNames(vec![without_namespace(path)]));
    }
    if c.ns != CIMV2 || !instance.class_name.eq_ignore_ascii_case(CLASS_NAME) {
        return Err(error(
            CimStatusCode::NotSupported,
            format!(
                "CreateInstance of {} is not supported: create jobs as {CLASS_NAME} in root/cimv2",
                instance.class_name
            ),
        ));
    }
    let values = values_of(instance, None).map_err(|e| engine_error(e.into()))?;
    let run_as = super::methods::run_as(c.principal)?;
    let id = w
        .engine
        .submit_as(values, &c.principal.name, run_as.as_deref(), false)
        .await
        .map_err(engine_error)?
        .local_id;
    Answer::value(IReturnValue::InstanceNames(vec![without_namespace(
        job_path(id),
    )]))
}

/// ModifyInstance: a subscription's SubscriptionState/Duration, or a job's Write properties.
pub async fn modify_instance(w: &Wbem, c: &Call<'_>) -> Result<Answer, CimError> {
    let p = &c.params;
    let named = p
        .get("ModifiedInstance")
        .and_then(ParamValue::as_named_instance)
        .ok_or_else(|| Params::wrong("ModifiedInstance", "a named instance"))?;
    let path = with_namespace(&named.path, c.ns);
    known_class(c.ns, &path.class_name, CimStatusCode::InvalidClass)?;
    if c.ns == INTEROP && Registry::holds_class(&path.class_name) {
        let registry = w.indications.registry().clone();
        let (instance, list, who) = (
            named.instance.clone(),
            p.property_list()?,
            c.principal.clone(),
        );
        blocking(move || registry.modify(&path, &instance, list.as_deref(), &who)).await?;
        return Ok(Answer::Value(None));
    }
    let Some(id) = job_id_of(&path).filter(|_| c.ns == CIMV2) else {
        w.catalog(c.principal).get(&path).await?;
        return Err(error(
            CimStatusCode::NotSupported,
            format!("instances of {} cannot be modified", path.class_name),
        ));
    };
    let list = p.property_list()?;
    w.authorize(c.principal, id).await?;
    let values = values_of(&named.instance, list.as_deref()).map_err(|e| engine_error(e.into()))?;
    w.engine.modify(id, values).await.map_err(engine_error)?;
    Ok(Answer::Value(None))
}

/// DeleteInstance: a subscription object, or a finished job.
pub async fn delete_instance(w: &Wbem, c: &Call<'_>) -> Result<Answer, CimError> {
    let path = with_namespace(c.params.instance_name("InstanceName")?, c.ns);
    known_class(c.ns, &path.class_name, CimStatusCode::InvalidClass)?;
    if c.ns == INTEROP && Registry::holds_class(&path.class_name) {
        let (registry, who) = (w.indications.registry().clone(), c.principal.clone());
        // its lane ends with it (the registry tells the lanes' keeper)
        blocking(move || registry.delete(&path, &who)).await?;
        return Ok(Answer::Value(None));
    }
    let Some(id) = job_id_of(&path).filter(|_| c.ns == CIMV2) else {
        w.catalog(c.principal).get(&path).await?;
        return Err(error(
            CimStatusCode::NotSupported,
            format!("instances of {} cannot be deleted", path.class_name),
        ));
    };
    w.authorize(c.principal, id).await?;
    w.engine.delete(id).await.map_err(engine_error)?;
    Ok(Answer::Value(None))
}

/// The QueryLanguage and Query (or FilterQueryLanguage and FilterQuery) of a query call.
fn query_of<'a>(
    p: &Params<'a>,
    language: &str,
    query: &str,
) -> Result<(&'a str, &'a str), CimError> {
    let l = p
        .str(language)?
        .ok_or_else(|| Params::wrong(language, "given"))?;
    let q = p.str(query)?.ok_or_else(|| Params::wrong(query, "given"))?;
    Ok((l, q))
}

/// ExecQuery: the instances the query selects, with the properties it selects.
pub async fn exec_query(w: &Wbem, c: &Call<'_>) -> Result<Answer, CimError> {
    let (language, text) = query_of(&c.params, "QueryLanguage", "Query")?;
    let query = parse_filter(c.ns, language, text)?;
    let selected = Selected::of(&query);
    let projection = Projection::all(c.ns);
    let mut out = Vec::new();
    w.catalog(c.principal)
        .chunks(c.ns, &query.from_class, |chunk| {
            for item in chunk {
                let instance = item.instance(&c.view);
                if filter(c.ns, &query, &instance)? {
                    let object = Object::Instance(selected.apply(projection.apply(instance)));
                    out.push(ObjectWithPath {
                        path: w.full_path(item.path()),
                        object,
                    });
                }
            }
            Ok(())
        })
        .await?;
    Answer::value(IReturnValue::ObjectsWithPath(out))
}

/// OpenEnumerateInstances and OpenEnumerateInstancePaths.
pub async fn open_enumerate_instances(w: &Wbem, c: &Call<'_>) -> Result<Answer, CimError> {
    let p = &c.params;
    let class = p.required_class_name("ClassName")?;
    known_class(c.ns, class, CimStatusCode::InvalidClass)?;
    let mut kept = Vec::new();
    let wanted = PullFilter::of(c)?;
    w.catalog(c.principal)
        .chunks(c.ns, class, |chunk| {
            kept.extend(wanted.keep(c, chunk)?.into_iter().map(Kept::of));
            Ok(())
        })
        .await?;
    let projection = Projection::new(
        c.ns,
        p.property_list()?,
        Some(class),
        p.bool("DeepInheritance", true)?,
        false,
        p.bool("IncludeClassOrigin", false)?,
    );
    w.pulls
        .open(&w.engine, c, kept, projection, None, kind_of(c.name))
        .await
}

/// OpenQueryInstances: the instances a query selects, without paths.
pub async fn open_query_instances(w: &Wbem, c: &Call<'_>) -> Result<Answer, CimError> {
    let (language, text) = query_of(&c.params, "FilterQueryLanguage", "FilterQuery")?;
    let query = parse_filter(c.ns, language, text)?;
    let mut kept = Vec::new();
    w.catalog(c.principal)
        .chunks(c.ns, &query.from_class, |chunk| {
            for item in chunk {
                if filter(c.ns, &query, &item.instance(&c.view))? {
                    kept.push(Kept::of(item));
                }
            }
            Ok(())
        })
        .await?;
    let selected = Selected::of(&query);
    // DSP0200: with ReturnQueryResultClass, the class that describes each row
    let result_class = match c.params.bool("ReturnQueryResultClass", false)? {
        true => vec![(
            "QueryResultClass".to_owned(),
            ParamValue::Class(Box::new(query_result_class(
                c.ns,
                &query.from_class,
                &selected,
            )?)),
        )],
        false => Vec::new(),
    };
    let answer = w
        .pulls
        .open(
            &w.engine,
            c,
            kept,
            Projection::all(c.ns),
            Some(selected),
            PullKind::Instances,
        )
        .await?;
    Ok(match answer {
        Answer::Pull { value, context, .. } => Answer::Pull {
            value,
            context,
            params: result_class,
        },
        other => other,
    })
}

/// The class of a query's rows: the queried class with only the selected properties (no
/// methods: a row has none), as DSP0200's QueryResultClass describes it.
fn query_result_class(
    namespace: &str,
    class: &str,
    selected: &Selected,
) -> Result<cim::xml::Class, CimError> {
    let decl = super::classes::repository()
        .class(namespace, class)
        .ok_or_else(|| error(CimStatusCode::InvalidClass, format!("no class {class}")))?;
    let options = super::class_ops::ClassOptions {
        local_only: false,
        include_qualifiers: false,
        include_class_origin: false,
        property_list: selected.names().map(<[String]>::to_vec),
    };
    let mut row = super::class_ops::wire_class(namespace, decl, &options);
    row.methods.clear();
    Ok(row)
}
