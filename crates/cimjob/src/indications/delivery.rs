//! Delivery of indications to one CIM-XML listener (DSP0200 export requests): each
//! indication is POSTed as `ExportIndication`, numbered in its destination's sequence
//! (SequenceContext, SequenceNumber), and retried with bounded exponential backoff
//! ([`RetryPolicy`]) before its outcome is told. A destination's lane (see the `lane`
//! module) delivers its indications one after the other, in order.

use std::time::Duration;

use cim::xml::{
    export_request_headers, read_message, write_export_request, ExportRequest, Instance, Limits,
    Message, Property,
};
use cim::CimValue;
use jiff::Timestamp;

use crate::retry::RetryPolicy;

/// One indication on its way to one destination.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The subscription that selected it (its registry key), whose policy applies on failure.
    pub subscription: String,
    /// Its IndicationIdentifier.
    pub id: String,
    /// When it was produced.
    pub produced: Timestamp,
    /// The indication, without SequenceContext and SequenceNumber (set when it is sent).
    pub indication: Instance,
}

/// Where a lane delivers: the destination's registry key and URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The destination's registry key.
    pub key: String,
    /// Its Name (part of SequenceContext).
    pub name: String,
    /// Its URL.
    pub url: String,
    /// PersistenceType Transient: it lives on the node where it was made, which delivers
    /// to it whether or not it holds the delivery role.
    pub transient: bool,
}

/// What became of one indication.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The listener accepted it after this many tries.
    Delivered {
        /// Tries it took.
        attempts: u32,
    },
    /// Every try failed; the last error.
    GaveUp {
        /// Tries made.
        attempts: u32,
        /// The last failure.
        error: String,
    },
}

/// Delivers one destination's indications, in order, numbering them in its sequence.
pub struct Exporter {
    client: reqwest::Client,
    policy: RetryPolicy,
    /// SequenceContext: this run of the service and the destination; numbers restart with it.
    context: String,
    sequence: i64,
    target: Target,
}

impl Exporter {
    /// An exporter to `target`, POSTing with `client`, retrying per `policy`; `boot` names
    /// this run of the service in SequenceContext.
    pub fn new(
        client: reqwest::Client,
        policy: RetryPolicy,
        boot: &str,
        target: Target,
    ) -> Exporter {
        Exporter {
            client,
            policy,
            context: format!("{boot}:{}", target.name),
            sequence: 0,
            target,
        }
    }

    /// Where it delivers.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Delivers `item` (retrying as the policy says) and says what became of it.
    pub async fn deliver(&mut self, item: &Outgoing) -> Outcome {
        let mut indication = item.indication.clone();
        indication.set_property(Property::new(
            "SequenceContext",
            CimValue::String(self.context.clone()),
        ));
        indication.set_property(Property::new(
            "SequenceNumber",
            CimValue::SInt64(self.sequence),
        ));
        self.sequence += 1;
        let request = ExportRequest::export_indication(&self.sequence.to_string(), indication);
        let body = write_export_request(&request);
        let headers = export_request_headers(&request);
        let attempt = || self.post(&body, &headers);
        let log_failure = |tried: u32, error: &String| {
            tracing::info!(destination = %self.target.name, url = %self.target.url, indication = %item.id, attempt = tried, %error, "indication not delivered; will retry if tries remain");
        };
        match self.policy.run(attempt, log_failure).await {
            Ok(attempts) => Outcome::Delivered { attempts },
            Err((attempts, error)) => Outcome::GaveUp { attempts, error },
        }
    }

    /// One POST of one export request; `Err` says why it did not count as delivered.
    async fn post(&self, body: &str, headers: &[(&'static str, String)]) -> Result<(), String> {
        let mut request = self.client.post(&self.target.url).body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.map_err(|e| describe(&e))?;
        let status = response.status();
        if !status.is_success() {
            let cim_error = response
                .headers()
                .get("CIMError")
                .and_then(|v| v.to_str().ok())
                .map(|v| format!(" (CIMError: {v})"))
                .unwrap_or_default();
            return Err(format!("the listener answered HTTP {status}{cim_error}"));
        }
        let bytes = response.bytes().await.map_err(|e| describe(&e))?;
        match read_message(&bytes, &Limits::DEFAULT) {
            Ok(Message::ExportResponse(answer)) => answer
                .result
                .map_err(|e| format!("the listener refused the indication: {e}")),
            Ok(_) => Err("the listener's answer is not an export response".into()),
            Err(e) => Err(format!("the listener's answer is not CIM-XML: {e}")),
        }
    }
}

/// A transport error with its causes (reqwest's own text omits them).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The HTTP client deliveries use: bounded connect and request times, so a listener that
/// accepts and never answers costs one try, not a stuck queue. `roots` are the extra
/// certificate authorities https listeners are verified against.
pub fn client(roots: &[reqwest::Certificate]) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .pool_max_idle_per_host(1)
        .user_agent(concat!("cimjob/", env!("CARGO_PKG_VERSION")));
    for root in roots {
        builder = builder.add_root_certificate(root.clone());
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::StatusCode;
    use cim::xml::{write_export_response, PropertyValue};

    /// A loopback listener that refuses its first `refuse` requests (HTTP 503), then answers
    /// every ExportIndication as pywbem's listener does and keeps what it got.
    struct Listener {
        refuse: usize,
        seen: AtomicUsize,
        got: Mutex<Vec<Instance>>,
    }

    async fn listener(refuse: usize) -> (Arc<Listener>, String) {
        let state = Arc::new(Listener {
            refuse,
            seen: AtomicUsize::new(0),
            got: Mutex::new(Vec::new()),
        });
        async fn export(State(l): State<Arc<Listener>>, body: Bytes) -> (StatusCode, String) {
            if l.seen.fetch_add(1, Ordering::SeqCst) < l.refuse {
                return (StatusCode::SERVICE_UNAVAILABLE, String::new());
            }
            let Ok(Message::ExportRequest(request)) = read_message(&body, &Limits::DEFAULT) else {
                return (StatusCode::BAD_REQUEST, String::new());
            };
            l.got
                .lock()
                .unwrap()
                .push(request.indication().unwrap().clone());
            (
                StatusCode::OK,
                write_export_response(&request.ok_response()),
            )
        }
        let app = axum::Router::new()
            .route("/", axum::routing::post(export))
            .with_state(state.clone());
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", socket.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(socket, app).await });
        (state, url)
    }

    fn item(n: usize) -> Outgoing {
        Outgoing {
            subscription: "s".into(),
            id: format!("i{n}"),
            produced: Timestamp::now(),
            indication: Instance::new("CIM_InstCreation"),
        }
    }

    fn exporter(url: String, attempts: u32) -> Exporter {
        let policy = RetryPolicy {
            attempts,
            first: Duration::from_millis(10),
            max: Duration::from_millis(50),
        };
        let target = Target {
            key: "destination:d".into(),
            name: "d".into(),
            url,
            transient: false,
        };
        Exporter::new(client(&[]).unwrap(), policy, "boot", target)
    }

    fn told(outcome: &Outcome) -> String {
        match outcome {
            Outcome::Delivered { attempts } => format!("delivered after {attempts}"),
            Outcome::GaveUp { attempts, .. } => format!("gave up after {attempts}"),
        }
    }

    #[tokio::test]
    async fn a_listener_that_refuses_at_first_gets_everything_in_order_after_retries() {
        let (listener, url) = listener(2).await;
        let mut exporter = exporter(url, 5);
        let mut outcomes = Vec::new();
        for n in 0..3 {
            outcomes.push(told(&exporter.deliver(&item(n)).await));
        }
        assert_eq!(
            outcomes,
            [
                "delivered after 3",
                "delivered after 1",
                "delivered after 1"
            ]
        );
        let got = listener.got.lock().unwrap();
        let numbers: Vec<_> = got
            .iter()
            .map(|i| match i.value("SequenceNumber") {
                Some(PropertyValue::Cim(CimValue::SInt64(n))) => *n,
                other => panic!("SequenceNumber is {other:?}"),
            })
            .collect();
        assert_eq!(numbers, [0, 1, 2]);
        assert!(got.iter().all(|i| i.value("SequenceContext").is_some()));
    }

    #[tokio::test]
    async fn tries_run_out_against_a_listener_that_is_not_there() {
        // nothing listens on a port that was just freed
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut exporter = exporter(format!("http://127.0.0.1:{port}/"), 2);
        assert_eq!(told(&exporter.deliver(&item(0)).await), "gave up after 2");
    }
}
