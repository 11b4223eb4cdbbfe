//! Requests that change something must come from the service's own pages or from a client,
//! never from another site's page in a browser that holds the credentials (cross-site
//! request forgery): HTTP Basic credentials, once a browser has them for the dashboard, go
//! with every request to the host, also those a form on another site makes (a body-less POST
//! to `…/runnow`, CIM-XML posted to `/cimom` as text).
//!
//! A browser says where a request comes from: `Sec-Fetch-Site` (every current browser) and
//! `Origin` (on every cross-origin POST; compared with Host only when the browser is too old to
//! send the first). A request that changes something (any method but GET, HEAD, OPTIONS) is
//! refused with 403 when they name another site. Clients that are not
//! browsers (the CLI, pywbem, wbemcli, curl) send neither and pass.

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The axum layer: refuses a state-changing request a browser made for another site's page.
pub async fn same_origin_only(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe {
        if let Some(why) = foreign(request.headers()) {
            tracing::warn!(method = %request.method(), path = request.uri().path(), why, "refused a cross-site request");
            return (
                StatusCode::FORBIDDEN,
                format!("refused: {why}; this service acts only on its own pages' requests and on clients'\n"),
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// Why the headers say the request comes from another site's page, if they do.
fn foreign(headers: &HeaderMap) -> Option<&'static str> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        // "none": typed or bookmarked; "same-origin": our own pages. The browser's own word
        // decides (a proxy in front may have changed Host, so Origin is not compared then).
        return (!matches!(site, "same-origin" | "none"))
            .then_some("the browser says it comes from another site (Sec-Fetch-Site)");
    }
    if let (Some(origin), Some(host)) = (text(header::ORIGIN.as_str()), text(header::HOST.as_str()))
    {
        // Origin is scheme://host[:port]; Host is host[:port]
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if origin == "null" || !origin_host.eq_ignore_ascii_case(host) {
            return Some("its Origin is another site");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn a_browsers_cross_site_request_is_told_apart_from_ours_and_from_clients() {
        assert!(
            foreign(&headers(&[])).is_none(),
            "a client sends neither header"
        );
        let ours = [
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://127.0.0.1:5988"),
            ("host", "127.0.0.1:5988"),
        ];
        assert!(foreign(&headers(&ours)).is_none());
        assert!(foreign(&headers(&[("sec-fetch-site", "cross-site")])).is_some());
        assert!(foreign(&headers(&[("sec-fetch-site", "same-site")])).is_some());
        let elsewhere = [
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:5988"),
        ];
        assert!(foreign(&headers(&elsewhere)).is_some());
        assert!(foreign(&headers(&[("origin", "null"), ("host", "h")])).is_some());
    }
}
