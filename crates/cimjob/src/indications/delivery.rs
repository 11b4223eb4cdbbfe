//! Delivery of indications to CIM-XML listeners (DSP0200 export requests).
//!
//! One ordered queue and one task per destination: a listener that is slow or down holds up
//! only its own queue, never the engine, the WBEM server or other listeners. Each indication
//! is POSTed as `ExportIndication` and retried with bounded exponential backoff
//! ([`RetryPolicy`]); every outcome goes to the report callback, which records it and, when
//! the tries run out, applies the subscription's OnFatalErrorPolicy. At shutdown the queues
//! hand back what they have not delivered, so it can be kept and delivered after a restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cim::xml::{
    export_request_headers, read_message, write_export_request, ExportRequest, Instance, Limits,
    Message, Property,
};
use cim::CimValue;
use jiff::Timestamp;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::retry::RetryPolicy;

/// How many indications may wait for one destination; more are dropped (and reported), so a
/// dead listener costs bounded memory.
pub const MAX_QUEUED_PER_DESTINATION: usize = 10_000;

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

/// Where a queue delivers: the destination's registry key and URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The destination's registry key.
    pub key: String,
    /// Its Name (part of SequenceContext).
    pub name: String,
    /// Its URL.
    pub url: String,
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
    /// The destination's queue was full; it was never sent.
    Dropped,
}

/// Hears of every outcome, on the queue's task (must not block for long).
pub type Report = Arc<dyn Fn(&Target, &Outgoing, &Outcome) + Send + Sync>;

struct Queue {
    target: Target,
    tx: mpsc::Sender<Outgoing>,
    task: JoinHandle<Vec<Outgoing>>,
}

/// The delivery queues, one per destination, created on first use.
pub struct Deliveries {
    client: reqwest::Client,
    policy: RetryPolicy,
    /// Identifies this run of the service in SequenceContext: numbers restart with it.
    boot: String,
    report: Report,
    queues: Mutex<HashMap<String, Queue>>,
    stop: watch::Sender<bool>,
}

impl Deliveries {
    /// Queues that POST with `client`, retry per `policy` and tell `report` the outcomes.
    pub fn new(client: reqwest::Client, policy: RetryPolicy, report: Report) -> Deliveries {
        Deliveries {
            client,
            policy,
            boot: format!("cimjob:{}", Timestamp::now().as_millisecond()),
            report,
            queues: Mutex::new(HashMap::new()),
            stop: watch::channel(false).0,
        }
    }

    fn queues(&self) -> std::sync::MutexGuard<'_, HashMap<String, Queue>> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `item` for `target`, behind everything queued for it before. Never waits: a
    /// full queue drops the item and reports [`Outcome::Dropped`].
    pub fn send(&self, target: &Target, item: Outgoing) {
        let mut queues = self.queues();
        let queue = queues
            .entry(target.key.clone())
            .or_insert_with(|| self.start_queue(target.clone()));
        if let Err(e) = queue.tx.try_send(item) {
            let item = match e {
                mpsc::error::TrySendError::Full(item) | mpsc::error::TrySendError::Closed(item) => {
                    item
                }
            };
            tracing::warn!(destination = %target.name, indication = %item.id, "the destination's queue is full; indication dropped");
            (self.report)(target, &item, &Outcome::Dropped);
        }
    }

    fn start_queue(&self, target: Target) -> Queue {
        let (tx, rx) = mpsc::channel(MAX_QUEUED_PER_DESTINATION);
        let sender = Sender {
            client: self.client.clone(),
            policy: self.policy,
            context: format!("{}:{}", self.boot, target.name),
            report: self.report.clone(),
            target: target.clone(),
        };
        let task = tokio::spawn(sender.run(rx, self.stop.subscribe()));
        Queue { target, tx, task }
    }

    /// Drops a destination's queue (the destination was deleted): what it held is not sent.
    pub fn forget(&self, key: &str) {
        if let Some(queue) = self.queues().remove(key) {
            queue.task.abort();
        }
    }

    /// Stops every queue and returns, per destination, what was not delivered, in order.
    pub async fn shutdown(&self) -> Vec<(Target, Vec<Outgoing>)> {
        let _ = self.stop.send(true);
        let queues: Vec<Queue> = self.queues().drain().map(|(_, q)| q).collect();
        let mut left = Vec::new();
        for queue in queues {
            if let Ok(items) = queue.task.await {
                if !items.is_empty() {
                    left.push((queue.target, items));
                }
            }
        }
        left
    }
}

/// One destination's task.
struct Sender {
    client: reqwest::Client,
    policy: RetryPolicy,
    context: String,
    report: Report,
    target: Target,
}

impl Sender {
    async fn run(
        self,
        mut rx: mpsc::Receiver<Outgoing>,
        mut stop: watch::Receiver<bool>,
    ) -> Vec<Outgoing> {
        let mut left = Vec::new();
        let mut sequence: i64 = 0;
        loop {
            let item = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => break,
                item = rx.recv() => match item {
                    Some(item) => item,
                    None => break,
                },
            };
            let mut indication = item.indication.clone();
            indication.set_property(Property::new(
                "SequenceContext",
                CimValue::String(self.context.clone()),
            ));
            indication.set_property(Property::new("SequenceNumber", CimValue::SInt64(sequence)));
            sequence += 1;
            let request = ExportRequest::export_indication(&sequence.to_string(), indication);
            let body = write_export_request(&request);
            let headers = export_request_headers(&request);
            let attempt = || self.post(&body, &headers);
            let log_failure = |tried: u32, error: &String| {
                tracing::info!(destination = %self.target.name, url = %self.target.url, indication = %item.id, attempt = tried, %error, "indication not delivered; will retry if tries remain");
            };
            let outcome = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => {
                    left.push(item);
                    break;
                }
                result = self.policy.run(attempt, log_failure) => match result {
                    Ok(attempts) => Outcome::Delivered { attempts },
                    Err((attempts, error)) => Outcome::GaveUp { attempts, error },
                },
            };
            (self.report)(&self.target, &item, &outcome);
        }
        while let Ok(item) = rx.try_recv() {
            left.push(item);
        }
        left
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

    type Outcomes = Arc<Mutex<Vec<(String, String)>>>;

    fn queues(attempts: u32) -> (Deliveries, Outcomes) {
        let outcomes: Outcomes = Arc::default();
        let record = outcomes.clone();
        let report: Report = Arc::new(move |_, item: &Outgoing, outcome: &Outcome| {
            let what = match outcome {
                Outcome::Delivered { attempts } => format!("delivered after {attempts}"),
                Outcome::GaveUp { attempts, .. } => format!("gave up after {attempts}"),
                Outcome::Dropped => "dropped".into(),
            };
            record.lock().unwrap().push((item.id.clone(), what));
        });
        let policy = RetryPolicy {
            attempts,
            first: Duration::from_millis(20),
            max: Duration::from_millis(50),
        };
        (
            Deliveries::new(client(&[]).unwrap(), policy, report),
            outcomes,
        )
    }

    async fn wait_for(outcomes: &Outcomes, n: usize) {
        for _ in 0..500 {
            if outcomes.lock().unwrap().len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("only {:?} outcomes", outcomes.lock().unwrap());
    }

    #[tokio::test]
    async fn a_listener_that_refuses_at_first_gets_everything_in_order_after_retries() {
        let (listener, url) = listener(2).await;
        let (deliveries, outcomes) = queues(5);
        let target = Target {
            key: "destination:d".into(),
            name: "d".into(),
            url,
        };
        for n in 0..3 {
            deliveries.send(&target, item(n));
        }
        wait_for(&outcomes, 3).await;
        assert_eq!(
            *outcomes.lock().unwrap(),
            [
                ("i0".to_string(), "delivered after 3".to_string()),
                ("i1".into(), "delivered after 1".into()),
                ("i2".into(), "delivered after 1".into())
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
    async fn tries_run_out_and_shutdown_hands_back_what_was_not_sent() {
        // nothing listens on a port that was just freed
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (dead, outcomes) = queues(2);
        let target = Target {
            key: "destination:dead".into(),
            name: "dead".into(),
            url: format!("http://127.0.0.1:{port}/"),
        };
        dead.send(&target, item(0));
        wait_for(&outcomes, 1).await;
        assert_eq!(outcomes.lock().unwrap()[0].1, "gave up after 2");

        let (slow, outcomes) = queues(1_000);
        for n in 0..3 {
            slow.send(&target, item(n));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let left = slow.shutdown().await;
        assert!(outcomes.lock().unwrap().is_empty());
        assert_eq!(left.len(), 1);
        let ids: Vec<_> = left[0].1.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(
            ids,
            ["i0", "i1", "i2"],
            "in order, the one being retried first"
        );
    }
}
