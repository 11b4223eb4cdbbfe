//! Every refusal under `/api/v1` is JSON: the handlers' own ([`super::ApiError`]) and also
//! what axum and tower answer before a handler runs (a body that is not the JSON asked for, a
//! bad path, a method the route does not take, a body too large, a path no route has), which
//! come as plain text and are wrapped here in the same `{"error": {...}}` shape.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The most of a plain-text refusal's body that is read; its first [`MAX_MESSAGE_CHARS`]
/// characters are kept as its message.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The most of a plain-text refusal's text kept as its message.
const MAX_MESSAGE_CHARS: usize = 1024;

/// Answers every request under `/api/` with JSON refusals (see [`json_errors`]); the other
/// paths (CIM-XML, the probes) as they are.
pub async fn api_errors_in_json(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if path.starts_with("/api/") {
        json_errors(response, &path).await
    } else {
        response
    }
}

/// `response` as it is when it is a success or already JSON; else the same status with its
/// text as the message of a JSON error (`path`'s, for a path no route has).
async fn json_errors(response: Response, path: &str) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text: String = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default()
        .chars()
        .take(MAX_MESSAGE_CHARS)
        .collect();
    let message = match (text.is_empty(), status) {
        (false, _) => text,
        (true, StatusCode::NOT_FOUND) => format!("no API route {path}"),
        (true, _) => status.canonical_reason().unwrap_or("refused").to_owned(),
    };
    let mut wrapped = (status, axum::Json(error_body(status, &message))).into_response();
    for (name, value) in parts.headers.iter() {
        // keep what the client needs (Allow on 405, WWW-Authenticate on 401), not the old type
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            wrapped.headers_mut().append(name.clone(), value.clone());
        }
    }
    wrapped
}

/// The JSON body of a refusal with this status.
fn error_body(status: StatusCode, message: &str) -> serde_json::Value {
    let cim_status = match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => 2,
        StatusCode::NOT_FOUND => 6,
        StatusCode::METHOD_NOT_ALLOWED => 7,
        StatusCode::SERVICE_UNAVAILABLE => 28,
        // the request's time ran out: what it did by then stands (CIM_ERR_FAILED)
        StatusCode::REQUEST_TIMEOUT => 1,
        s if s.is_client_error() => 4,
        _ => 1,
    };
    json!({"error": {"message": message, "cim_status": cim_status, "property": null}})
}
