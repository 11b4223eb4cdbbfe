//! `cimjob serve`: opens the store, starts the engine, and serves one Router over HTTP and over
//! HTTPS (the TLS listener and certificate are in `crate::tls`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::routing::get;
use axum::Router;
use cimjob_rules::core::CoreConfig;
use cimjob_store::sqlite::SqliteStore;
use cimjob_store::subscriptions::SubscriptionStore;
use cimjob_store::Store;
use jiff::SignedDuration;

use crate::config::{default_data_dir, ADDRESS_FILE, DEFAULT_LISTEN};

/// Options of `cimjob serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Where jobs (cimjob.db) and run logs (logs/) live [default: $CIMJOB_DATA_DIR, else ~/.local/share/cimjob]
    #[arg(long, env = "CIMJOB_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The address to serve HTTP on (port 0 picks a free one; the chosen address is written to <data-dir>/cimjob.addr)
    #[arg(long, default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// How many jobs may run at once [default: the number of CPUs]
    #[arg(long)]
    max_running: Option<usize>,
    /// How many times RecoveryAction "Re-run Job" re-runs a failing job
    #[arg(long, default_value_t = 3)]
    max_reruns: u32,
    /// The wait before the first re-run (doubles each time, at most 5 minutes), e.g. 1s, 500ms
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    rerun_backoff: SignedDuration,
    /// The largest request body accepted (bigger ones get 413), in bytes
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    max_body_bytes: usize,
    /// How long one request may take: its headers (else the connection is closed) and its body (else 408)
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    request_timeout: SignedDuration,
    /// On SIGTERM or SIGINT, start no more runs and wait for the running ones to end before
    /// stopping (for `systemctl stop` before a machine is retired); without it, running work
    /// goes on and the next start adopts it
    #[arg(long)]
    drain: bool,
    /// Keep jobs in this PostgreSQL database instead of <data-dir>/cimjob.db, e.g.
    /// postgres://cimjob@db.example/cimjob?search_path=prod (search_path: the schema, made if absent)
    #[arg(long, env = "CIMJOB_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
    /// This node's name, which the work sees as CIMJOB_NODE [default: the host name]
    #[arg(long, env = "CIMJOB_NODE")]
    node: Option<String>,
    /// With --database-url: how long this node's lease on the database lasts unrenewed (it
    /// renews it every fifth of that); a node lost for longer has its jobs rescued by a live one
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    lease: SignedDuration,
    /// A TOML file setting any of these options under its long name (`max-running = 8`); a
    /// flag or an environment variable wins over it [default: /etc/cimjob/cimjob.toml when it
    /// exists]
    #[arg(long, env = "CIMJOB_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// How the log on stderr is written: `text` for people (coloured on a terminal only) or
    /// `json`, one object per line, for a log collector
    #[arg(long, value_enum, env = "CIMJOB_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    #[command(flatten)]
    tls: crate::tls::TlsArgs,
    #[command(flatten)]
    delivery: DeliveryArgs,
}

/// How indications and Notify notices are delivered.
#[derive(clap::Args)]
pub struct DeliveryArgs {
    /// How many tries an indication (or a Notify notice) gets before the subscription's OnFatalErrorPolicy applies
    #[arg(long, default_value_t = 8)]
    delivery_attempts: u32,
    /// The wait before the first retry; it doubles for each further one
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    delivery_backoff: SignedDuration,
    /// The longest wait between two tries
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    delivery_backoff_max: SignedDuration,
    /// A PEM file of certificate authorities that https listeners' certificates are verified against (repeatable)
    #[arg(long, value_name = "PEM")]
    listener_ca: Vec<PathBuf>,
    /// Notify by command: `sh -c COMMAND` gets the notice (JSON) on stdin when a job whose Notify is set ends
    #[arg(long, value_name = "COMMAND")]
    notify_command: Option<String>,
    /// Notify by webhook: the notice (JSON) is POSTed to this URL
    #[arg(long, value_name = "URL")]
    notify_webhook: Option<String>,
}

impl DeliveryArgs {
    fn policy(&self) -> crate::retry::RetryPolicy {
        crate::retry::RetryPolicy {
            attempts: self.delivery_attempts.max(1),
            first: self.delivery_backoff.unsigned_abs(),
            max: self.delivery_backoff_max.unsigned_abs(),
        }
    }

    fn client(&self) -> anyhow::Result<reqwest::Client> {
        let mut roots = Vec::new();
        for path in &self.listener_ca {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read --listener-ca {}", path.display()))?;
            roots.extend(
                reqwest::Certificate::from_pem_bundle(&pem).with_context(|| {
                    format!("--listener-ca {} holds no PEM certificate", path.display())
                })?,
            );
        }
        Ok(crate::indications::delivery::client(&roots)?)
    }
}

/// Where a node keeps its jobs and the indication service's objects: both in SQLite files in
/// the data dir (one node), or both in one PostgreSQL database.
struct Stores {
    jobs: Arc<dyn Store>,
    subscriptions: (Arc<dyn SubscriptionStore>, String),
    /// The node's lease, when the database is shared.
    tenure: Option<cimjob_store::lease::Tenure>,
}

impl Stores {
    /// Opens the stores; with a database URL, joins the cluster first.
    async fn open(
        database_url: Option<&str>,
        data_dir: &std::path::Path,
        membership: &cimjob_store::lease::Membership,
    ) -> anyhow::Result<Stores> {
        use cimjob_store::postgres::PostgresSubscriptions;
        use cimjob_store::subscriptions::SqliteSubscriptions;
        let Some(url) = database_url else {
            let jobs = data_dir.join("cimjob.db");
            let subscriptions = data_dir.join("indications.db");
            return Ok(Stores {
                jobs: Arc::new(
                    SqliteStore::open(&jobs)
                        .with_context(|| format!("cannot open the job store {}", jobs.display()))?,
                ),
                subscriptions: (
                    Arc::new(SqliteSubscriptions::open(&subscriptions)?),
                    subscriptions.display().to_string(),
                ),
                tenure: None,
            });
        };
        let jobs = crate::cluster::join(url, membership).await?;
        let location = jobs.location().to_string();
        let tenure = jobs.tenure().clone();
        let subscriptions =
            PostgresSubscriptions::open(url).context("cannot open the subscriptions")?;
        Ok(Stores {
            jobs: Arc::new(jobs),
            subscriptions: (Arc::new(subscriptions), location),
            tenure: Some(tenure),
        })
    }
}

/// Starts the indication service over `engine` (the registry in `subscriptions`, a lane per
/// destination) and the Notify notifier, if one is configured; `node` names this node, and
/// deliveries are counted in `metrics`.
fn start_indications(
    args: &DeliveryArgs,
    (subscriptions, location): (Arc<dyn SubscriptionStore>, String),
    engine: &cimjob_engine::EngineHandle,
    (node, delivering): (&str, tokio::sync::watch::Receiver<bool>),
    metrics: Arc<crate::metrics::Metrics>,
) -> anyhow::Result<(
    Arc<crate::indications::Indications>,
    Option<tokio::task::JoinHandle<()>>,
)> {
    use crate::indications::{registry::Registry, Indications};
    let identity = crate::wbem::objects::Identity::local();
    let registry = Arc::new(
        Registry::open(subscriptions, &identity.host)
            .with_context(|| format!("cannot open the subscriptions {location}"))?,
    );
    let client = args.client()?;
    let notifier = crate::notify::Notifier::new(
        crate::notify::NotifyConfig {
            command: args.notify_command.clone(),
            webhook: args.notify_webhook.clone(),
            zone: engine.zone().clone(),
        },
        args.policy(),
        client.clone(),
    );
    let notifying = notifier.map(|n| n.follow(engine, delivering.clone()));
    let indications = Indications::start(
        registry,
        engine,
        (client, args.policy()),
        (identity, node.to_owned()),
        delivering,
        metrics,
    );
    Ok((indications, notifying))
}

/// Parses `10s`, `1m 30s`, `500ms`, `7d` (a day is 24 hours), ISO 8601 `PT10S`, or a CIM
/// interval.
pub fn parse_duration(text: &str) -> Result<SignedDuration, String> {
    if let Ok(d) = cim::CimDateTime::parse(text) {
        if d.is_interval() {
            return d.to_duration().map_err(|e| e.to_string());
        }
    }
    let days_are_24_hours = |span: jiff::Span| {
        span.to_duration(jiff::SpanRelativeTo::days_are_24_hours())
            .ok()
    };
    let d: SignedDuration = text
        .parse()
        .ok()
        .or_else(|| text.parse::<jiff::Span>().ok().and_then(days_are_24_hours))
        .ok_or_else(|| format!("{text:?} is not a duration: write e.g. 10s, 1m30s, 500ms, 7d, or 00000000000010.000000:000"))?;
    if d.is_negative() {
        return Err(format!("{text:?} is negative"));
    }
    Ok(d)
}

/// How the service's log is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logs to stderr at the level `$CIMJOB_LOG` says (default `info`), as `format` says; colours
/// only when stderr is a terminal (never in a file or the journal).
pub fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("CIMJOB_LOG").unwrap_or_else(|_| "info".into());
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => log.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => log.json().init(),
    }
}

/// Runs the service until SIGINT or SIGTERM; running work goes on, held by its supervisor,
/// and the next start adopts it.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    if let Some(config) = &args.config {
        tracing::info!(config = %config.display(), "read the config file");
    }
    let node = args
        .node
        .clone()
        .unwrap_or_else(|| crate::wbem::objects::Identity::local().host);
    anyhow::ensure!(
        !node.is_empty() && !node.contains(['\0', '=']),
        "--node {node:?} is not a node name: it must be non-empty, without NUL or '='"
    );
    let data_dir = args.data_dir.unwrap_or_else(default_data_dir);
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    // held until run returns: one service per store, or both would run every job
    let _claim = crate::config::lock_data_dir(&data_dir)?;
    // refuses remote plain HTTP and loads (or makes) the certificate before anything starts
    let https = crate::tls::prepare(&args.tls, args.listen, &data_dir)?;
    // the handlers exist before the address files do: whoever reads an address and at once
    // sends SIGTERM gets a clean stop, never the default disposition's abrupt one
    let signalled = futures_util::FutureExt::shared(Box::pin(shutdown_signal()?));
    let lease = args.lease.unsigned_abs();
    anyhow::ensure!(
        lease >= cimjob_store::lease::MIN_LEASE,
        "--lease {:?} is too short: a lease lasts at least {:?}",
        lease,
        cimjob_store::lease::MIN_LEASE
    );
    let membership = cimjob_store::lease::Membership::new(node.clone(), lease);
    let stores = Stores::open(args.database_url.as_deref(), &data_dir, &membership).await?;
    let store = stores.jobs.clone();
    let slots = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut config = CoreConfig::new(
        data_dir.join("logs"),
        &crate::config::service_user(),
        jiff::tz::TimeZone::system(),
        slots,
    );
    if let Some(n) = args.max_running {
        anyhow::ensure!(n > 0, "--max-running must be at least 1, not 0");
        config.max_running = n;
    }
    config.max_reruns = args.max_reruns;
    config.node = node.clone();
    config.rerun_backoff = args.rerun_backoff;
    // jobs of other OS accounts start through this binary's internal-exec-as
    let program = std::env::current_exe().context("cannot find the service's own binary")?;
    config.exec_helper = Some(program.clone());
    let supervisors = data_dir.join("supervisors");
    let (processes, reports, trust) =
        cimjob_supervisor::Supervisors::connect(&supervisors, &program)
            .await
            .with_context(|| format!("cannot reach a supervisor in {}", supervisors.display()))?;
    let lease_lost = stores
        .tenure
        .clone()
        .map(|tenure| crate::cluster::follow_lease(tenure, trust));
    let engine = cimjob_engine::start(store.clone(), config, processes, reports)
        .context("cannot start the engine")?;
    tokio::spawn(crate::memory::give_back_freed_memory(engine.clone()));
    let mut users = crate::auth::UsersPlace::new(&data_dir, args.database_url.as_deref()).open()?;
    if let Some(password) =
        crate::auth::users::ensure_admin(&mut users, &data_dir, &crate::config::service_user())?
    {
        eprintln!(
            "cimjob: created the user admin; its password (shown once) is {password}\n        it is also in {} (mode 0600), which the CLI on this machine reads",
            data_dir.join(crate::auth::users::ADMIN_PASSWORD_FILE).display()
        );
    }
    let authenticator = Arc::new(crate::auth::Authenticator::new(users)?);
    // one node of a cluster delivers; every node follows what the others change in the
    // subscriptions
    let (delivering, delivery_role) = crate::cluster::delivery_role(store.clone());
    let metrics = crate::metrics::Metrics::new();
    let recent_runs = std::sync::Arc::new(crate::ui::RecentRuns::default());
    let _runs = crate::run_events::follow(&engine, metrics.clone(), recent_runs.clone());
    let (indications, notifying) = start_indications(
        &args.delivery,
        stores.subscriptions,
        &engine,
        (&node, delivering),
        metrics.clone(),
    )?;
    let following = store
        .shared()
        .then(|| crate::cluster::follow_registry(indications.registry().clone()));

    let app = Router::new()
        .route(
            "/",
            get(|| async {
                concat!(
                    "cimjob ",
                    env!("CARGO_PKG_VERSION"),
                    ": CIM-XML (WBEM) at /cimom, the JSON API under /api/v1 (its document at /api/v1/docs/), the dashboard at /ui\n"
                )
            }),
        )
        .merge(crate::api::router(engine.clone(), args.max_body_bytes))
        .merge(crate::ui::router(engine.clone(), recent_runs))
        .merge(crate::indications::router(indications.clone()))
        .merge(crate::wbem::router(
            engine.clone(),
            args.max_body_bytes,
            indications.clone(),
        ))
        // inner to outer: the time limit covers reading the body and answering (not the
        // password check, which is ours), the body limit every route, authentication all
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            args.request_timeout.unsigned_abs(),
        ))
        .layer(axum::extract::DefaultBodyLimit::max(args.max_body_bytes))
        .merge(crate::metrics::router(metrics.clone(), engine.clone()))
        .layer(axum::middleware::from_fn_with_state(
            authenticator,
            crate::auth::require_authentication,
        ))
        // the probes answer without credentials; every API refusal is JSON, and every
        // request is counted
        .merge(crate::metrics::probes(
            engine.clone(),
            stores.tenure.clone(),
        ))
        // a browser's request for another site's page changes nothing
        .layer(axum::middleware::from_fn(crate::csrf::same_origin_only))
        .layer(axum::middleware::from_fn(
            crate::api::errors::api_errors_in_json,
        ))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::count_requests,
        ));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    // cimjob-https.addr is written before cimjob.addr: whoever sees the one finds the other
    let https = match https {
        Some(https) => Some(https.bind(&data_dir).await?),
        None => None,
    };
    std::fs::write(data_dir.join(ADDRESS_FILE), local.to_string())?;
    tracing::info!(address = %local, data_dir = %data_dir.display(), "cimjob is serving http://{local}/");

    // HTTPS serves the same app; one signal stops both listeners; headers too must come in time
    let header_timeout = args.request_timeout.unsigned_abs();
    let draining = args.drain.then(|| engine.clone());
    let (lost_tx, mut lost_rx) = tokio::sync::oneshot::channel::<String>();
    let stop = futures_util::FutureExt::shared(Box::pin(async move {
        let lost = async {
            match lease_lost {
                Some(lost) => lost.await.ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = signalled => {}
            Some(why) = lost => {
                // fenced: no drain, nothing more will be written
                let _ = lost_tx.send(why);
                return;
            }
        }
        if let Some(engine) = draining {
            // still serving meanwhile, so clients can watch the last runs end
            tracing::info!("draining: no new runs start; waiting for the running ones to end");
            engine.drain().await;
            tracing::info!("drained: nothing runs any more");
        }
    }));
    let https_server = {
        let (app, stop) = (app.clone(), stop.clone());
        async move {
            if let Some(listener) = https {
                crate::http_server::serve(listener, app, header_timeout, stop).await;
            }
        }
    };
    let http_server = crate::http_server::serve(listener, app, header_timeout, stop);
    tokio::join!(http_server, https_server);
    engine.shutdown().await;
    delivery_role.abort();
    if let Some(following) = following {
        following.abort();
    }
    indications.shutdown().await;
    if let Some(notifying) = notifying {
        // the engine has stopped: it ends once it has read the last changes
        let _ = notifying.await;
    }
    // last: the consumers of the changes have saved their positions
    store.close();
    let _ = std::fs::remove_file(data_dir.join(ADDRESS_FILE));
    crate::tls::remove_address_file(&data_dir);
    if let Ok(why) = lost_rx.try_recv() {
        anyhow::bail!(
            "node {} lost its lease ({why}): it stopped, and its supervisors killed what it ran",
            membership.node
        );
    }
    Ok(())
}

/// Installs the SIGTERM and SIGINT handlers now and resolves when either signal comes.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        tracing::info!("stopping");
    })
}
