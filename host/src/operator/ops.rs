//! The operator's operations endpoints over plain HTTP: `/metrics` (OpenMetrics text), `/healthz` (liveness) and `/readyz` (caches synced, plugins loaded).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use super::Context;

/// The routes: GET `/metrics`, `/healthz`, `/readyz`.
pub(super) fn router(ctx: Arc<Context>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(ctx)
}

async fn metrics() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        crate::metrics::global().encode(),
    )
        .into_response()
}

async fn ready(State(ctx): State<Arc<Context>>) -> Response {
    match ctx.readiness() {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}")).into_response(),
    }
}

/// Serves the routes on `listener` until the process ends.
pub(super) async fn serve(ctx: Arc<Context>, listener: TcpListener) {
    let app = router(ctx);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(crate::admission::serve_connection(tcp, app.clone()));
    }
}
