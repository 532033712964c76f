//! `baton serve`: opens the broker, serves gRPC and HTTP (the REST API and `/health`), and on
//! SIGTERM or Ctrl-C stops accepting, lets open calls finish, then shuts the broker down so the
//! last writes are durable.

use std::io::Write;
use std::time::Duration;

use baton_gateway::GatewayConfig;
use baton_runtime::{Broker, Options};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

use crate::Failure;
use crate::config::ServeArgs;

/// How long open calls may take to finish once shutdown began, before the broker stops anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn run(args: ServeArgs) -> Result<(), Failure> {
    let settings = args.resolve()?;
    init_tracing();

    std::fs::create_dir_all(&settings.data_dir)
        .map_err(|error| Failure::failed(format!("cannot create data dir {}: {error}", settings.data_dir.display())))?;
    let options =
        Options { data_dir: Some(settings.data_dir.clone()), partitions: settings.partitions, ..Options::default() };
    // Opening replays the logs, which may take a while: keep it off the async workers.
    let broker = tokio::task::spawn_blocking(move || Broker::open(options))
        .await
        .map_err(|error| Failure::failed(format!("opening the broker panicked: {error}")))?
        .map_err(|error| Failure::failed(format!("cannot open the broker: {error}")))?;

    // Bind both listeners before announcing readiness, so the ready line carries the real
    // addresses (port 0 picks a free port) and clients that read it can connect at once.
    let grpc = TcpListener::bind(settings.grpc_addr)
        .await
        .map_err(|error| Failure::failed(format!("cannot listen on {}: {error}", settings.grpc_addr)))?;
    let http = TcpListener::bind(settings.http_addr)
        .await
        .map_err(|error| Failure::failed(format!("cannot listen on {}: {error}", settings.http_addr)))?;
    let grpc_addr = grpc.local_addr().map_err(|error| Failure::failed(error.to_string()))?;
    let http_addr = http.local_addr().map_err(|error| Failure::failed(error.to_string()))?;

    let (stop, stopping) = watch::channel(false);
    let stop = std::sync::Arc::new(stop);
    let stopping_main = stopping.clone();
    let stop_on_signal = stop.clone();
    tokio::spawn(async move {
        let signal = wait_for_signal().await;
        tracing::info!(signal, "shutting down");
        let _ = stop_on_signal.send(true);
    });

    let config = GatewayConfig {
        advertised_host: grpc_addr.ip().to_string(),
        advertised_port: grpc_addr.port(),
        ..GatewayConfig::default()
    };
    let grpc_server = tokio::spawn(baton_gateway::serve_on(broker.clone(), config, grpc, stopped(stopping.clone())));
    // The REST API (with its read model) on the same listener as the health check; it ends its
    // long polls when the stop signal comes, so they do not hold up the drain.
    let rest_config = baton_rest::Config {
        shutdown: Some(stopping.clone()),
        grpc_address: grpc_addr,
        ..baton_rest::Config::default()
    };
    let (rest, _read_model) = baton_rest::start(broker.clone(), rest_config);
    let app = rest.route("/health", axum::routing::get(health));
    let http_server =
        tokio::spawn(async move { axum::serve(http, app).with_graceful_shutdown(stopped(stopping)).await });

    println!(
        "baton listening: grpc={grpc_addr} http={http_addr} data={} partitions={}",
        settings.data_dir.display(),
        settings.partitions
    );
    let _ = std::io::stdout().flush();
    tracing::info!(%grpc_addr, %http_addr, partitions = settings.partitions, "ready");

    // Both servers end only after the stop signal (or a fatal error, which then stops the
    // other); the drain gets a bounded time so a stuck client cannot keep the broker from its
    // final snapshot.
    let mut failure = None;
    let servers = async {
        let grpc_result = grpc_server.await;
        if !matches!(grpc_result, Ok(Ok(()))) {
            let _ = stop.send(true);
        }
        (grpc_result, http_server.await)
    };
    let drain_deadline = async {
        stopped(stopping_main).await;
        tokio::time::sleep(DRAIN_TIMEOUT).await;
    };
    tokio::select! {
        (grpc_result, http_result) = servers => {
            match grpc_result {
                Ok(Ok(())) => {}
                Ok(Err(error)) => failure = Some(format!("gRPC server failed: {error}")),
                Err(error) => failure = Some(format!("gRPC server task failed: {error}")),
            }
            match http_result {
                Ok(Ok(())) => {}
                Ok(Err(error)) => failure = Some(format!("HTTP server failed: {error}")),
                Err(error) => failure = Some(format!("HTTP server task failed: {error}")),
            }
        }
        () = drain_deadline => {
            tracing::warn!("open calls did not finish within {DRAIN_TIMEOUT:?}; stopping anyway");
        }
    }
    if let Err(error) = broker.shutdown().await {
        failure = Some(format!("broker shutdown failed: {error}"));
    }
    match failure {
        Some(message) => Err(Failure::failed(message)),
        None => {
            tracing::info!("stopped");
            Ok(())
        }
    }
}

async fn health() -> &'static str {
    "OK"
}

async fn stopped(mut stopping: watch::Receiver<bool>) {
    // An Err means the sender is gone, which only happens when the process is ending anyway.
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// Waits for Ctrl-C or (on Unix) SIGTERM and names the one that came.
async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Logs go to stderr so stdout carries only the ready line; `RUST_LOG` overrides the default.
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
