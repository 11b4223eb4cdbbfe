//! What an operator's monitoring reads: `GET /metrics` in the Prometheus text format, and
//! the probes `GET /healthz` (the process serves) and `GET /readyz` (it can do its work: the
//! engine runs, the store answers, and on a cluster the node's lease holds).
//!
//! - Jobs by JobState and the ready queue's depth are counted by the store at each scrape, so
//!   they are the whole store's (every node's, on a cluster) and never drift.
//! - Runs by result, run durations and start delays are this node's, taken from its engine's
//!   changes as they become durable ([`crate::run_events`]; Prometheus sums the nodes).
//! - Indication deliveries by outcome, HTTP requests by method, route and status, and the
//!   build.
//!
//! No label names a job or a user, so the series stay as few as the states, results and
//! routes are.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cimjob_engine::EngineHandle;
use cimjob_rules::model::value_maps::JobState;
use cimjob_store::lease::{Standing, Tenure};

use crate::run_events::RunEvent;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

/// The content type of the Prometheus text format the scrape answers in.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

/// The service's figures, registered once and updated as the work goes.
pub struct Metrics {
    registry: Registry,
    jobs: Family<StateLabel, Gauge>,
    ready: Gauge,
    runs: Family<ResultLabel, Counter>,
    run_seconds: Histogram,
    start_delay_seconds: Histogram,
    deliveries: Family<OutcomeLabel, Counter>,
    requests: Family<RequestLabels, Counter>,
}

impl Metrics {
    /// Registers every figure (all at zero).
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::default();
        let jobs = Family::<StateLabel, Gauge>::default();
        registry.register(
            "cimjob_jobs",
            "Stored jobs by JobState (every node's)",
            jobs.clone(),
        );
        let ready = Gauge::default();
        registry.register(
            "cimjob_queue_depth",
            "Jobs ready to start, waiting for a free slot (every node's)",
            ready.clone(),
        );
        let runs = Family::<ResultLabel, Counter>::default();
        registry.register(
            "cimjob_runs",
            "Runs this node ended, by result",
            runs.clone(),
        );
        // 1 ms to about 9 hours
        let run_seconds = Histogram::new(exponential_buckets(0.001, 4.0, 13));
        registry.register_with_unit(
            "cimjob_run_duration",
            "How long this node's runs ran, from exec to end",
            Unit::Seconds,
            run_seconds.clone(),
        );
        // 100 µs to about 30 minutes
        let start_delay_seconds = Histogram::new(exponential_buckets(0.0001, 4.0, 13));
        registry.register_with_unit(
            "cimjob_start_delay",
            "From when a run was due (its submission, or its planned time) to its exec",
            Unit::Seconds,
            start_delay_seconds.clone(),
        );
        let deliveries = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "cimjob_indication_deliveries",
            "Indications this node delivered to listeners, by outcome",
            deliveries.clone(),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "cimjob_http_requests",
            "HTTP requests this node answered, by method, route and status",
            requests.clone(),
        );
        // an info gauge, as Prometheus's text format has no info type
        let build = Family::<VersionLabel, Gauge>::default();
        build
            .get_or_create(&VersionLabel {
                version: env!("CARGO_PKG_VERSION").into(),
            })
            .set(1);
        registry.register("cimjob_build_info", "The cimjob build serving", build);
        // every state from the first scrape, at zero until a job is in it
        for state in JobState::ALL {
            let _ = jobs.get_or_create(&StateLabel {
                state: label(state.name()),
            });
        }
        Arc::new(Metrics {
            registry,
            jobs,
            ready,
            runs,
            run_seconds,
            start_delay_seconds,
            deliveries,
            requests,
        })
    }

    /// Counts a run that started or ended.
    pub fn observe(&self, run: &RunEvent) {
        match run {
            RunEvent::Started { delay, .. } => self.start_delay_seconds.observe(seconds(*delay)),
            RunEvent::Ended {
                result, duration, ..
            } => {
                self.runs
                    .get_or_create(&ResultLabel {
                        result: result.label().into(),
                    })
                    .inc();
                if let Some(duration) = duration {
                    self.run_seconds.observe(seconds(*duration));
                }
            }
        }
    }

    /// Counts one indication's delivery (`delivered`, `gave_up`).
    pub fn delivered(&self, outcome: &str) {
        self.deliveries
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// The text a scrape answers, with the store's counts as of now.
    async fn render(&self, engine: &EngineHandle) -> Result<String, String> {
        let census = engine.census().await.map_err(|e| e.to_string())?;
        for state in JobState::ALL {
            let stored = census
                .by_state
                .iter()
                .find(|(number, _)| *number == state.number())
                .map_or(0, |(_, jobs)| *jobs);
            self.jobs
                .get_or_create(&StateLabel {
                    state: label(state.name()),
                })
                .set(i64::try_from(stored).unwrap_or(i64::MAX));
        }
        self.ready
            .set(i64::try_from(census.ready).unwrap_or(i64::MAX));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(|e| e.to_string())?;
        Ok(prometheus_text(&text))
    }
}

/// The Prometheus text format (0.0.4, which `promtool` and every scraper read) of the
/// OpenMetrics text prometheus-client writes: a counter's HELP and TYPE name its `_total`
/// samples, and the UNIT and EOF lines, which that format does not have, go.
fn prometheus_text(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut text = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let named = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        text.push_str(named.as_deref().unwrap_or(line));
        text.push('\n');
    }
    text
}

fn seconds(span: jiff::SignedDuration) -> f64 {
    span.as_secs_f64().max(0.0)
}

/// A value-map name as a label value: `Shutting Down` is `shutting_down`.
fn label(name: &str) -> String {
    name.to_ascii_lowercase().replace(' ', "_")
}

/// `GET /metrics` (behind the service's authentication, as every route is).
pub fn router(metrics: Arc<Metrics>, engine: EngineHandle) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state((metrics, engine))
}

/// What the readiness probe asks about.
#[derive(Clone)]
struct Probe {
    engine: EngineHandle,
    /// This node's lease, on a cluster.
    tenure: Option<Tenure>,
}

/// `GET /healthz` and `GET /readyz`, which a supervisor or a load balancer asks without
/// credentials; on a cluster, a node whose lease lapsed (`tenure`) is not ready.
pub fn probes(engine: EngineHandle, tenure: Option<Tenure>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(Probe { engine, tenure })
}

async fn scrape(State((metrics, engine)): State<(Arc<Metrics>, EngineHandle)>) -> Response {
    match metrics.render(&engine).await {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store cannot be counted: {error}\n"),
        )
            .into_response(),
    }
}

async fn ready(State(probe): State<Probe>) -> Response {
    if let Some(Standing::Lost(why)) = probe.tenure.as_ref().map(Tenure::standing) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: this node's lease on the database is gone: {why}\n"),
        )
            .into_response();
    }
    // the engine answers a call, and the store a read
    let answered = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        probe.engine.held().await?;
        probe.engine.store_answers().await
    })
    .await;
    match answered {
        Ok(Ok(())) => "ready\n".into_response(),
        Ok(Err(error)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {error}\n"),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the engine or the store did not answer within 2 s\n",
        )
            .into_response(),
    }
}

/// Counts every request by method, route (as routed: `/api/v1/jobs/{id}`, never the id) and
/// status; a path no route matched counts as `unmatched`.
pub async fn count_requests(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // the standard methods by name, any other as one: a client cannot grow the series
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let response = next.run(request).await;
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16().to_string(),
        })
        .inc();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_counters_become_prometheus_text_counters() {
        let openmetrics = "# HELP a_runs Runs.\n# TYPE a_runs counter\na_runs_total{r=\"x\"} 2\n\
            # HELP a_seconds Time.\n# TYPE a_seconds histogram\n# UNIT a_seconds seconds\n\
            a_seconds_count 1\n# EOF\n";
        assert_eq!(
            prometheus_text(openmetrics),
            "# HELP a_runs_total Runs.\n# TYPE a_runs_total counter\na_runs_total{r=\"x\"} 2\n\
             # HELP a_seconds Time.\n# TYPE a_seconds histogram\na_seconds_count 1\n"
        );
    }

    #[test]
    fn a_value_map_name_is_a_label_value() {
        assert_eq!(label("Shutting Down"), "shutting_down");
        assert_eq!(label("Query Pending"), "query_pending");
        assert_eq!(label("New"), "new");
    }
}
