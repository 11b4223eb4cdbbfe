//! Extrinsic methods (InvokeMethod): RequestStateChange, KillJob, GetError, GetErrors and
//! AnswerQuery on jobs; SubmitJob on the job service. Parameters are typed and checked
//! against the method's declaration; return codes are the method's own value map.

use cim::xml::{CimError, Instance, ParamValue, XmlErrorKind};
use cim::{CimArray, CimStatusCode, CimType, CimValue, ObjectPath, ValueType};
use cimjob_rules::model::errors::{series_errors, JobError, OWNING_ENTITY};

use super::classes::fixed;
use super::classes::{canonical_namespace, repository, CIMV2};
use super::jobs::{job_id_of, job_path, values_of};
use super::objects::same_object;
use super::operation::{engine_error, error, Params};
use super::service::Wbem;
use crate::auth::Principal;

type Outcome = Result<(CimValue, Vec<(String, ParamValue)>), CimError>;

/// Typed IN parameters of one call, checked against the method's declaration.
struct Arguments {
    values: Vec<(String, Option<CimValue>)>,
    template: Option<Instance>,
}

impl Arguments {
    fn value(&self, name: &str) -> Option<&CimValue> {
        self.values
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_ref())
    }
}

fn read_arguments(method: &cim::MethodDecl, p: &Params<'_>) -> Result<Arguments, CimError> {
    let mut values = Vec::new();
    let mut template = None;
    for (name, value) in p.0 {
        let Some(decl) = method
            .parameters
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name) && d.is_in)
        else {
            return Err(error(
                CimStatusCode::InvalidParameter,
                format!("method {} has no input parameter {name:?}", method.name),
            ));
        };
        if decl.embedded_instance.is_some() {
            match value {
                ParamValue::Null => {}
                ParamValue::Instance(i) => template = Some((**i).clone()),
                _ => {
                    return Err(error(
                        CimStatusCode::TypeMismatch,
                        format!("parameter {}: expected an embedded instance", decl.name),
                    ))
                }
            }
            continue;
        }
        let converted = value
            .to_cim_value(ValueType {
                ty: decl.ty,
                is_array: decl.is_array,
            })
            .map_err(|e| {
                let code = if e.kind() == XmlErrorKind::TypeMismatch {
                    CimStatusCode::TypeMismatch
                } else {
                    CimStatusCode::InvalidParameter
                };
                error(code, format!("parameter {}: {e}", decl.name))
            })?;
        values.push((decl.name.to_string(), converted));
    }
    Ok(Arguments { values, template })
}

/// Calls `method` on `target`.
pub async fn invoke(
    w: &Wbem,
    principal: &Principal,
    target: &ObjectPath,
    target_is_class: bool,
    method: &str,
    p: Params<'_>,
) -> Outcome {
    let ns_name = target.namespace.as_deref().unwrap_or(CIMV2);
    let ns = canonical_namespace(ns_name).ok_or_else(|| {
        error(
            CimStatusCode::InvalidNamespace,
            format!("namespace {ns_name:?} does not exist here"),
        )
    })?;
    let repo = repository();
    if repo.class(ns, &target.class_name).is_none() {
        return Err(error(
            CimStatusCode::InvalidClass,
            format!("class {:?} does not exist in {ns}", target.class_name),
        ));
    }
    let decl = repo.method(ns, &target.class_name, method).ok_or_else(|| {
        error(
            CimStatusCode::MethodNotFound,
            format!("class {} has no method {method:?}", target.class_name),
        )
    })?;
    let args = read_arguments(decl, &p)?;
    if decl.name == "SubmitJob" {
        if !target_is_class && !same_object(target, &w.identity.service_path()) {
            return Err(error(
                CimStatusCode::NotFound,
                format!("no instance {target}"),
            ));
        }
        return submit_job(w, principal, args).await;
    }
    let id = job_id_of(target)
        .filter(|_| !target_is_class)
        .ok_or_else(|| {
            error(
                CimStatusCode::NotFound,
                format!("{method} needs a job instance path, not {target}"),
            )
        })?;
    let job = w.engine.get(id).await.map_err(engine_error)?;
    if !principal.may_see(&job.owner) {
        return Err(error(
            CimStatusCode::NotFound,
            format!("no instance {target}"),
        ));
    }
    // GetError and GetErrors read; every other method changes the job
    if !matches!(decl.name, "GetError" | "GetErrors") {
        w.authorize(principal, id).await?;
    }
    match decl.name {
        "RequestStateChange" => {
            let Some(requested) = args.value("RequestedState").and_then(CimValue::as_u64) else {
                return Ok((CimValue::UInt32(5), Vec::new()));
            };
            let timeout = match args.value("TimeoutPeriod").and_then(CimValue::as_datetime) {
                None => None,
                Some(d) if d.is_interval() => match d.to_duration() {
                    Ok(d) => Some(d),
                    Err(_) => return Ok((CimValue::UInt32(5), Vec::new())),
                },
                // a TimeoutPeriod must be an interval: Invalid Parameter (5)
                Some(_) => return Ok((CimValue::UInt32(5), Vec::new())),
            };
            let requested = u16::try_from(requested).unwrap_or(0);
            let code = w
                .engine
                .request_state_change(id, requested, timeout)
                .await
                .map_err(engine_error)?;
            Ok((CimValue::UInt32(code.number()), Vec::new()))
        }
        "KillJob" => {
            let delete = args
                .value("DeleteOnKill")
                .and_then(CimValue::as_bool)
                .unwrap_or(false);
            let code = w.engine.kill_job(id, delete).await.map_err(engine_error)?;
            Ok((CimValue::UInt32(code.number()), Vec::new()))
        }
        "GetError" => {
            let runs = w.engine.runs(id).await.map_err(engine_error)?;
            let error = series_errors(&job, &runs)
                .last()
                .map(|e| ParamValue::Instance(Box::new(cim_error(e))))
                .unwrap_or(ParamValue::Null);
            Ok((CimValue::UInt32(0), vec![("Error".into(), error)]))
        }
        "GetErrors" => {
            let runs = w.engine.runs(id).await.map_err(engine_error)?;
            // no error is an empty array, not NULL (a client iterates what it gets)
            let errors: Vec<Instance> = series_errors(&job, &runs).iter().map(cim_error).collect();
            Ok((
                CimValue::UInt32(0),
                vec![("Errors".into(), ParamValue::Instances(errors))],
            ))
        }
        "AnswerQuery" => {
            let Some(answer) = args.value("Answer").and_then(CimValue::as_str) else {
                return Ok((CimValue::UInt32(5), Vec::new()));
            };
            let code = w.engine.answer(id, answer).await.map_err(engine_error)?;
            Ok((CimValue::UInt32(code.number()), Vec::new()))
        }
        other => Err(error(
            CimStatusCode::MethodNotAvailable,
            format!("method {other} is declared but not available"),
        )),
    }
}

/// SubmitJob: a job from Name, CommandLine and the writable properties of Template; answers
/// 4096 (job started) and the Job reference, the DMTF way of returning a job.
async fn submit_job(w: &Wbem, principal: &Principal, args: Arguments) -> Outcome {
    let mut values = match &args.template {
        Some(template) => {
            if !repository().is_subclass_of(CIMV2, &template.class_name, "CIM_ConcreteJob") {
                return Err(error(
                    CimStatusCode::InvalidParameter,
                    format!(
                        "parameter Template: an instance of {} is not a CIMJOB_ConcreteJob",
                        template.class_name
                    ),
                ));
            }
            values_of(template, None).map_err(|e| engine_error(e.into()))?
        }
        None => Vec::new(),
    };
    for name in ["Name", "CommandLine"] {
        if let Some(v) = args.value(name) {
            values.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            values.push((name.to_string(), Some(v.clone())));
        }
    }
    // JobInParameters: the call's input parameters, as DSP1103 has a job made by a method
    // keep them (its creation is announced as the SubmitJob call from them, too)
    let mut in_parameters = Instance::new("__JobInParameters");
    for (name, value) in &args.values {
        if let Some(value) = value {
            in_parameters.set_property(cim::xml::Property::new(name, value.clone()));
        }
    }
    if let Some(template) = &args.template {
        in_parameters.set_property(cim::xml::Property::embedded_instance(
            "Template",
            template.clone(),
        ));
    }
    let id = w
        .engine
        .submit_by_method(
            values,
            &principal.name,
            run_as(principal)?.as_deref(),
            false,
            Some(cim::xml::write_instance(&in_parameters)),
        )
        .await
        .map_err(engine_error)?
        .local_id;
    Ok((
        CimValue::UInt32(4096),
        vec![(
            "Job".into(),
            ParamValue::Value(CimValue::Reference(job_path(id))),
        )],
    ))
}

/// The OS account a principal's new job runs as, or CIM_ERR_ACCESS_DENIED when its owner has
/// no account here.
pub fn run_as(principal: &Principal) -> Result<Option<String>, CimError> {
    principal
        .run_as()
        .map_err(|m| error(CimStatusCode::AccessDenied, m))
}

/// The LocalID of the job an error is about (its ErrorSource is the job's InstanceID, made
/// by the rules from the job itself, so it always parses).
fn job_of(e: &JobError) -> u64 {
    cimjob_rules::model::job::parse_instance_id(&e.error_source).unwrap_or_default()
}

/// One job error as a CIM_Error instance.
fn cim_error(e: &JobError) -> Instance {
    let mut values: Vec<(String, CimValue)> = vec![
        ("ErrorType".into(), CimValue::UInt16(e.error_type)),
        ("OwningEntity".into(), OWNING_ENTITY.into()),
        ("MessageID".into(), e.message_id.clone().into()),
        ("Message".into(), e.message.clone().into()),
        (
            "PerceivedSeverity".into(),
            CimValue::UInt16(e.perceived_severity),
        ),
        ("ProbableCause".into(), CimValue::UInt16(e.probable_cause)),
        (
            "ProbableCauseDescription".into(),
            e.probable_cause_description.into(),
        ),
        // the job, as the object path a client can GetInstance (ErrorSourceFormat 2,
        // "CIMObjectPath")
        ("ErrorSource".into(), job_path(job_of(e)).to_string().into()),
        ("ErrorSourceFormat".into(), CimValue::UInt16(2)),
        ("CIMStatusCode".into(), CimValue::UInt32(e.cim_status_code)),
        ("CIMStatusCodeDescription".into(), "CIM_ERR_FAILED".into()),
    ];
    if let Some(other) = e.other_error_type {
        values.push(("OtherErrorType".into(), other.into()));
    }
    if !e.message_arguments.is_empty() {
        let args = e
            .message_arguments
            .iter()
            .map(|a| CimValue::String(a.clone()))
            .collect();
        values.push((
            "MessageArguments".into(),
            CimValue::Array(CimArray::new(CimType::String, args).expect("strings")),
        ));
    }
    fixed(CIMV2, "CIM_Error", values)
}
