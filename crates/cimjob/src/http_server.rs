//! Serving the app on a listener (plain TCP or TLS), with what `axum::serve` does not bound:
//! a client must finish sending its request headers within the request timeout, so a slow
//! client cannot hold a connection open forever (the request-timeout layer only starts once
//! the headers are in). Each connection carries its client's address as `ConnectInfo`
//! for the per-client authentication limits; a stop signal ends accepting and gives open
//! connections (event streams included) a bounded time to finish.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::serve::Listener;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tower::ServiceExt;

/// How long open connections get to finish once the service stops.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `app` on every connection `listener` accepts until `stop` resolves; a client gets
/// `header_timeout` to send a request's headers.
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    header_timeout: Duration,
    stop: impl Future<Output = ()>,
) where
    L: Listener<Addr = SocketAddr>,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let (io, client) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(client));
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%client, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!(
            "connections still open after {} s were closed",
            SHUTDOWN_GRACE.as_secs()
        );
    }
}
