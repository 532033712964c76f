//! Baton's gRPC gateway: serves the Zeebe gateway protocol (`gateway_protocol.Gateway`) over a
//! [`baton_runtime::Broker`], so existing Zeebe clients (zbctl, pyzeebe, the Java/JS SDKs) work
//! against Baton unchanged. It also serves the standard `grpc.health.v1.Health` service (pyzeebe's
//! health check calls it) and a small Baton-specific `baton.admin.v1.Admin` service for the CLI.
//!
//! The protocol definition in `proto/gateway.proto` is compiled at build time with protox, so no
//! `protoc` is needed. The generated types are public ([`proto`], [`admin`]) because the CLI and
//! tests use the generated clients; the engine's own types never appear on the wire — all
//! translation happens in the `convert` module.

mod admin_service;
mod convert;
mod service;

use std::future::Future;
use std::net::SocketAddr;

use baton_runtime::Broker;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::codec::CompressionEncoding;
use tonic::transport::Server;
use tonic::transport::server::Router;
use tonic_health::ServingStatus;

pub use admin_service::AdminService;
pub use service::{GATEWAY_VERSION, GatewayConfig, GatewayService};

/// Types and client/server stubs generated from `proto/gateway.proto`.
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("gateway_protocol");
}

/// Types and client/server stubs generated from `proto/baton_admin.proto`.
pub mod admin {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("baton.admin.v1");
}

/// The service name pyzeebe's health check asks about.
pub const GATEWAY_SERVICE_NAME: &str = "gateway_protocol.Gateway";

/// Builds the router with every service Baton serves over gRPC: the gateway, health and admin.
pub async fn router(broker: Broker, config: GatewayConfig) -> Router {
    let (_, stopping) = watch::channel(false);
    router_stopping(broker, config, stopping).await
}

/// As [`router`]; long polls and job streams end when `stopping` turns true.
async fn router_stopping(broker: Broker, config: GatewayConfig, stopping: watch::Receiver<bool>) -> Router {
    let (reporter, health) = tonic_health::server::health_reporter();
    // "" is the whole server; clients that check overall health ask for it.
    reporter.set_service_status("", ServingStatus::Serving).await;
    reporter.set_service_status(GATEWAY_SERVICE_NAME, ServingStatus::Serving).await;
    // Requests may come gzipped (the Camunda JS SDK gzips its requests). Answers never are, as
    // from Zeebe's gateway: every common gRPC library says it would take gzip, so compressing
    // whenever a client allows it meant compressing every small answer, for nothing.
    let gateway =
        proto::gateway_server::GatewayServer::new(GatewayService::new(broker.clone(), config).with_shutdown(stopping))
            .accept_compressed(CompressionEncoding::Gzip);
    let admin =
        admin::admin_server::AdminServer::new(AdminService::new(broker)).accept_compressed(CompressionEncoding::Gzip);
    Server::builder().add_service(health).add_service(gateway).add_service(admin)
}

/// Serves on an already bound listener until `shutdown` resolves; open calls are let finish.
/// Tests bind `127.0.0.1:0` and read the port from the listener before calling this.
pub async fn serve_on(
    broker: Broker,
    config: GatewayConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let (stop, stopping) = watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        // Open job streams never end by themselves; tell them to, so the graceful shutdown
        // only waits for ordinary calls.
        let _ = stop.send(true);
    };
    // tonic's own `tcp_nodelay` applies only to listeners tonic binds. Without it, every small
    // answer (a job, an acknowledgement) waits for the client's delayed ACK: ~40 ms per call.
    let incoming = TcpListenerStream::new(listener).map(|stream| {
        stream.inspect(|socket| {
            if let Err(error) = socket.set_nodelay(true) {
                tracing::debug!(%error, "could not disable Nagle's algorithm on a gateway connection");
            }
        })
    });
    router_stopping(broker, config, stopping).await.serve_with_incoming_shutdown(incoming, shutdown).await
}

/// Binds `addr` and serves until `shutdown` resolves.
pub async fn serve(
    broker: Broker,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let listener = TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(|source| ServeError::Bind { addr, source })?;
    let config = GatewayConfig {
        advertised_host: local.ip().to_string(),
        advertised_port: local.port(),
        ..GatewayConfig::default()
    };
    serve_on(broker, config, listener, shutdown).await.map_err(ServeError::Transport)
}

/// Why [`serve`] stopped with an error.
#[derive(Debug)]
pub enum ServeError {
    Bind { addr: SocketAddr, source: std::io::Error },
    Transport(tonic::transport::Error),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            ServeError::Transport(error) => write!(f, "gRPC server failed: {error}"),
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServeError::Bind { source, .. } => Some(source),
            ServeError::Transport(error) => Some(error),
        }
    }
}
