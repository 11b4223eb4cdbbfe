//! `cimjob serve`: opens the store, starts the engine, and serves HTTP on one listener.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::routing::get;
use axum::Router;
use cimjob_core::core::CoreConfig;
use cimjob_core::store::sqlite::SqliteStore;
use cimjob_core::store::Store;
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
}

/// Parses `10s`, `1m 30s`, `500ms`, ISO 8601 `PT10S`, or a CIM interval.
pub fn parse_duration(text: &str) -> Result<SignedDuration, String> {
    if let Ok(d) = cim::CimDateTime::parse(text) {
        if d.is_interval() {
            return d.to_duration().map_err(|e| e.to_string());
        }
    }
    let d: SignedDuration = text
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: write e.g. 10s, 1m30s, 500ms, or 00000000000010.000000:000"))?;
    if d.is_negative() {
        return Err(format!("{text:?} is negative"));
    }
    Ok(d)
}

/// Runs the service until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CIMJOB_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let data_dir = args.data_dir.unwrap_or_else(default_data_dir);
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    let db_path = data_dir.join("cimjob.db");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&db_path)
            .with_context(|| format!("cannot open the job store {}", db_path.display()))?,
    );
    let mut config = CoreConfig::new(data_dir.join("logs"), &crate::service_user());
    if let Some(n) = args.max_running {
        anyhow::ensure!(n > 0, "--max-running must be at least 1, not 0");
        config.max_running = n;
    }
    config.max_reruns = args.max_reruns;
    config.rerun_backoff = args.rerun_backoff;
    let engine = cimjob_core::engine::start(store, config).context("cannot start the engine")?;

    let app = Router::new()
        .route(
            "/",
            get(|| async {
                concat!(
                    "cimjob ",
                    env!("CARGO_PKG_VERSION"),
                    ": the JSON API is under /api/v1\n"
                )
            }),
        )
        .merge(crate::api::router(engine.clone()))
        .merge(crate::wbem::router(engine.clone()));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    std::fs::write(data_dir.join(ADDRESS_FILE), local.to_string())?;
    tracing::info!(address = %local, data_dir = %data_dir.display(), "cimjob is serving http://{local}/");

    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    engine.shutdown().await;
    let _ = std::fs::remove_file(data_dir.join(ADDRESS_FILE));
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stopping");
}
