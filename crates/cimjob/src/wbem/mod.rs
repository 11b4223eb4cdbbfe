//! The WBEM face: CIM operations over HTTP (DSP0200) in CIM-XML (DSP0201) at `/cimom`, on
//! the service's one listener, so pywbem, pywbemcli and sblim `wbemcli` work unchanged.
//!
//! - [`classes`]: the class repository (one declaration per class).
//! - [`class_ops`]: GetClass/EnumerateClasses answers from those declarations.
//! - [`objects`]: what can be listed and got: jobs, the job service and its capabilities,
//!   the interop objects, associations.
//! - [`jobs`]: a job as a CIMJOB_ConcreteJob instance and back.
//! - [`query`]: ExecQuery and FilterQuery over instances.
//! - [`enumeration`]: pull operations' enumeration contexts.
//! - [`operation`]: what every operation shares: its parameters, its answer, its errors.
//! - [`service`]: the server's state ([`service::Wbem`]) and the checks operations share.
//! - [`class_ops`], [`instance_ops`], [`associations`], [`pull`]: the intrinsic operations,
//!   one function each.
//! - [`methods`]: extrinsic methods.
//! - [`dispatch`]: one request to the function that answers it.
//!
//! This module is the HTTP glue: the headers and body are checked by the `cim` crate's codec
//! before any operation runs; a protocol error is an HTTP 400/501 with a `CIMError` header,
//! an operation error is a CIM-XML ERROR in a 200 answer.

pub mod associations;
pub mod class_ops;
pub mod classes;
pub mod dispatch;
pub mod enumeration;
pub mod instance_ops;
pub mod jobs;
pub mod methods;
pub mod objects;
pub mod operation;
pub mod pull;
pub mod qualifiers;
pub mod query;
pub mod service;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Extension, Router};
use cim::xml::{check_request, read_operation_headers, read_request, response_headers, Limits};
use cimjob_engine::EngineHandle;

use crate::auth::Principal;
use service::Wbem;

/// The CIM-XML endpoint, as a router to merge into the service's.
pub fn router(
    engine: EngineHandle,
    max_body_bytes: usize,
    indications: Arc<crate::indications::Indications>,
) -> Router {
    let limits = Limits {
        max_body_bytes,
        ..Limits::DEFAULT
    };
    let wbem = Arc::new(Wbem::new(engine, limits, indications));
    Router::new().route("/cimom", any(cimom)).with_state(wbem)
}

fn protocol_error(status: u16, cim_error: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, message.to_string()).into_response();
    if let Ok(v) = HeaderValue::from_str(cim_error) {
        response.headers_mut().insert("CIMError", v);
    }
    response
}

async fn cimom(
    State(wbem): State<Arc<Wbem>>,
    Extension(principal): Extension<Principal>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST && method.as_str() != "M-POST" {
        let mut r = (
            StatusCode::METHOD_NOT_ALLOWED,
            "CIM operations are POST (or M-POST) requests",
        )
            .into_response();
        r.headers_mut()
            .insert("Allow", HeaderValue::from_static("POST, M-POST"));
        return r;
    }
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
        .collect();
    let operation = match read_operation_headers(method.as_str(), pairs) {
        Ok(h) => h,
        Err(e) => {
            return protocol_error(e.http_status(), e.cim_error_header().as_str(), e.message())
        }
    };
    let request = match read_request(&body, &wbem.limits) {
        Ok(r) => r,
        Err(e) => {
            return protocol_error(e.http_status(), e.cim_error_header().as_str(), e.message())
        }
    };
    if let Err(e) = check_request(&operation, &request) {
        return protocol_error(e.http_status(), e.cim_error_header().as_str(), e.message());
    }
    let body = dispatch::handle(&wbem, &request, &principal)
        .await
        .into_body();
    let mut response = body.into_response();
    let prefix = operation.prefix.as_deref().unwrap_or("");
    for (name, value) in response_headers() {
        let name = if name.eq_ignore_ascii_case("Content-Type") {
            name.to_string()
        } else {
            format!("{prefix}{name}")
        };
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::from_str(&value)) {
            response.headers_mut().insert(n, v);
        }
    }
    if !prefix.is_empty() {
        response
            .headers_mut()
            .insert("Ext", HeaderValue::from_static(""));
    }
    response
}
