//! The API's OpenAPI 3.1 document. Each route declares itself beside its handler
//! (`#[utoipa::path]`) and is routed by the same declaration ([`super::router`] uses
//! utoipa-axum's `routes!`), so the document cannot drift from the router. What the handlers'
//! own types cannot say is said here: a job's JSON is the CIM property table, so its schema is
//! built from that table ([`Job`], [`JobProperties`]), and every route needs HTTP Basic.
//!
//! `GET /api/v1/openapi.json` serves the document and `/api/v1/docs/` a Swagger UI page over it,
//! its assets vendored into the binary (utoipa-swagger-ui's `vendored` feature).

use std::borrow::Cow;

use cim::{CimType, PropertyDecl};
use cimjob_rules::model::properties::{properties, MAX_ENTRIES};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";
/// Where its docs page is served.
pub const DOCS_PATH: &str = "/api/v1/docs";

/// The document's fixed part: what it is, who may call, and the schemas no handler names.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cimjob JSON API",
        description = "Jobs as CIM_ConcreteJob instances (CIMJOB_ConcreteJob): the CIM property names and values, as JSON. The same jobs, users and rules as the WBEM server at /cimom.",
    ),
    modifiers(&BasicAuth),
    security(("basic" = [])),
    tags(
        (name = "jobs", description = "Submit, read, change and remove jobs"),
        (name = "methods", description = "CIM_ConcreteJob's extrinsic methods"),
        (name = "runs", description = "A job's runs and their output"),
        (name = "events", description = "Changes as server-sent events"),
    ),
)]
pub struct ApiDoc;

/// Adds the HTTP Basic scheme every route is called with.
struct BasicAuth;

impl Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

/// What `state` is, as `filter::FilterQuery::state` says it.
const STATE_DESCRIPTION: &str = "JobStates, by number or name, comma-separated (`4,suspended`).";

/// Declares the list's `state` as it is read: one parameter, its values comma-separated
/// (utoipa leaves out the `style` and `explode` of a parameter whose schema a function gives).
pub fn finish(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{ParameterIn, ParameterStyle};
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.put,
            &mut item.delete,
        ];
        let parameters = operations
            .into_iter()
            .flatten()
            .flat_map(|op| op.parameters.iter_mut().flatten());
        for parameter in parameters {
            let RefOr::T(p) = parameter else { continue };
            if p.name == "state" && p.parameter_in == ParameterIn::Query {
                p.style = Some(ParameterStyle::Form);
                p.explode = Some(false);
                p.description = Some(STATE_DESCRIPTION.into());
            }
        }
    }
}

/// A job as the API answers it: every property of CIMJOB_ConcreteJob, NULL where it has no
/// value.
pub struct Job;

impl PartialSchema for Job {
    fn schema() -> RefOr<Schema> {
        job_object(properties().iter().map(|p| &p.decl), false)
    }
}

impl ToSchema for Job {
    fn name() -> Cow<'static, str> {
        "Job".into()
    }
}

/// The properties a client gives when it submits or modifies a job: those a job may be created
/// with. (ModifyInstance changes only the writable ones and names any other it was given.)
pub struct JobProperties;

impl PartialSchema for JobProperties {
    fn schema() -> RefOr<Schema> {
        let given = properties()
            .iter()
            .filter(|p| p.on_create || p.is_writable());
        job_object(given.map(|p| &p.decl), true)
    }
}

impl ToSchema for JobProperties {
    fn name() -> Cow<'static, str> {
        "JobProperties".into()
    }
}

/// An object of these properties, each nullable; `strict` refuses other names (a request),
/// else the object has exactly these (an answer).
fn job_object<'a>(decls: impl Iterator<Item = &'a PropertyDecl>, strict: bool) -> RefOr<Schema> {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for decl in decls {
        object = object.property(decl.name, property_schema(decl));
        if !strict {
            object = object.required(decl.name);
        }
    }
    RefOr::T(Schema::Object(object.build()))
}

/// One property's JSON: its CIM type (or an array of it), or NULL.
fn property_schema(decl: &PropertyDecl) -> Schema {
    let description = first_sentence(decl.description);
    if decl.is_array {
        let array = ArrayBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
            .items(scalar_schema(decl.ty, None))
            .max_items(Some(MAX_ENTRIES))
            .description(Some(description));
        return Schema::Array(array.build());
    }
    Schema::Object(scalar_schema(decl.ty, Some(description)).build())
}

/// A nullable value of CIM type `ty`: integers within their type's range, reals (NULL for a
/// NaN), strings for the rest (datetimes in DSP0004's form, references as object paths).
fn scalar_schema(ty: CimType, description: Option<String>) -> ObjectBuilder {
    let json_type = match ty {
        CimType::Boolean => Type::Boolean,
        CimType::Real32 | CimType::Real64 => Type::Number,
        t if t.is_integer() => Type::Integer,
        _ => Type::String,
    };
    let mut value = ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([json_type, Type::Null]))
        .description(description);
    if let Some((min, max)) = ty.integer_range() {
        value = value.minimum(number(min)).maximum(number(max));
    }
    if ty == CimType::DateTime {
        value = value.pattern(Some(r"^[0-9*]{14}\.[0-9*]{6}[+:-][0-9*]{3}$"));
    }
    value
}

/// An integer bound as the document writes it.
fn number(n: i128) -> Option<utoipa::Number> {
    if n < 0 {
        isize::try_from(n).ok().map(utoipa::Number::Int)
    } else {
        usize::try_from(n).ok().map(utoipa::Number::UInt)
    }
}

/// A description's first sentence: the document stays readable (GetClass has the whole text).
fn first_sentence(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.find(". ") {
        Some(end) => text[..=end].to_owned(),
        None => text,
    }
}

/// A refusal: what was wrong, the CIM status it corresponds to, and the property at fault.
#[derive(ToSchema)]
pub struct ErrorBody {
    /// The refusal.
    pub error: ErrorDetail,
}

/// The parts of a refusal.
#[derive(ToSchema)]
pub struct ErrorDetail {
    /// What was wrong, in words.
    pub message: String,
    /// The CIM status code (DSP0200) the same refusal has over CIM-XML.
    pub cim_status: u16,
    /// The property at fault, when one is.
    pub property: Option<String>,
}

/// An extrinsic method's answer: its return code and that code's name in the method's value
/// map (`0` "Completed with No Error", `4096` "Method Parameters Checked - Transition Started").
#[derive(ToSchema)]
#[schema(rename_all = "PascalCase")]
pub struct MethodAnswer {
    /// The method's return code.
    pub return_value: u32,
    /// Its name in the method's value map.
    pub description: String,
}

/// A page of the job list.
#[derive(ToSchema)]
pub struct JobPage {
    /// The jobs, in LocalID order.
    pub jobs: Vec<Job>,
    /// The LocalID to pass as `after` for the following page; NULL on the last page, absent
    /// when no `limit` was given.
    #[schema(required = false)]
    pub next: Option<u64>,
}

/// What a ModifyInstance changed, and the job after it.
#[derive(ToSchema)]
pub struct Modified {
    /// The names of the properties whose values changed.
    pub changed: Vec<String>,
    /// The job now.
    pub job: Job,
}

/// One run of a job, as the run history keeps it.
#[derive(ToSchema)]
pub struct Run {
    /// The job's LocalID.
    pub local_id: u64,
    /// 1 for the first run.
    pub run_number: u32,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended (RFC 3339); NULL while it goes on.
    pub ended_at: Option<String>,
    /// Its command's exit status, when it exited.
    pub exit_status: Option<i32>,
    /// The signal that ended the process, when one did.
    pub signal: Option<i32>,
    /// The job's ErrorCode for this run (0: no error).
    pub error_code: u16,
    /// The job's ErrorDescription for this run.
    pub error_description: Option<String>,
    /// The JobState the run ended in; NULL while it goes on.
    pub final_state: Option<u16>,
}

/// A job's runs, and its coming runs.
#[derive(ToSchema)]
pub struct Runs {
    /// Every run, the first first.
    pub runs: Vec<Run>,
    /// The next runs, as CIM datetimes.
    pub upcoming: Vec<String>,
}

/// What became of each job of a bulk request, in LocalID order.
#[derive(ToSchema)]
pub struct BulkAnswer {
    /// One per job.
    pub results: Vec<BulkResult>,
}

/// What became of one job of a bulk request: a method's answer, a deletion, or a refusal.
#[derive(ToSchema)]
#[schema(rename_all = "PascalCase")]
pub struct BulkResult {
    /// The job.
    #[schema(rename = "InstanceID")]
    pub instance_id: String,
    /// The method's return code (Suspend, Resume, Terminate, Kill).
    #[schema(required = false)]
    pub return_value: Option<u32>,
    /// Its name.
    #[schema(required = false)]
    pub description: Option<String>,
    /// Present (true) when the job was deleted.
    #[schema(rename = "deleted", required = false)]
    pub deleted: Option<bool>,
    /// Present when the job was refused.
    #[schema(rename = "error", required = false)]
    pub error: Option<ErrorDetail>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_schema_has_every_property_of_the_table_with_its_type() {
        let RefOr::T(Schema::Object(job)) = Job::schema() else {
            panic!("a job is an object")
        };
        assert_eq!(job.properties.len(), properties().len());
        let json = serde_json::to_value(&job).unwrap();
        assert_eq!(
            json["properties"]["Priority"]["type"],
            serde_json::json!(["integer", "null"])
        );
        assert_eq!(json["properties"]["Priority"]["maximum"], 4_294_967_295u64);
        assert_eq!(
            json["properties"]["CommandLine"]["type"],
            serde_json::json!(["array", "null"])
        );
        assert_eq!(json["additionalProperties"], false);
    }

    #[test]
    fn a_request_names_only_what_a_job_may_be_created_with() {
        let RefOr::T(Schema::Object(given)) = JobProperties::schema() else {
            panic!("an object")
        };
        assert!(given.properties.contains_key("CommandLine"));
        assert!(!given.properties.contains_key("JobState"));
        assert!(given.required.is_empty());
    }
}
