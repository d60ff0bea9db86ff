//! `matterlink serve`: the component's `wasi:http/incoming-handler` over HTTP/1.1, one fresh
//! instance per request from the shared `InstancePre`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Result};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView;

use crate::runtime::Runtime;

/// Requests still running this long after shutdown began are abandoned.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// A request taking longer than this is cut off with 504: the component's own per-request
/// iManage retries fit well inside it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Serves until `shutdown` resolves, then stops accepting and lets requests in flight finish.
pub async fn serve(
    runtime: Arc<Runtime>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let rt = runtime.clone();
                let service = service_fn(move |req| with_timeout(rt.clone(), req));
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all requests finished"),
        () = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("gave up waiting for requests in flight"),
    }
    Ok(())
}

async fn with_timeout(
    runtime: Arc<Runtime>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<HyperOutgoingBody>> {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    match tokio::time::timeout(REQUEST_TIMEOUT, handle(runtime, req)).await {
        Ok(result) => result,
        Err(_) => {
            // Dropping the future drops the instance and its store: the guest stops here.
            tracing::error!(%method, %path, "request timed out");
            Ok(json_response(
                504,
                r#"{"error":{"kind":"timeout","message":"the request took too long"}}"#,
            ))
        }
    }
}

fn json_response(status: u16, body: &'static str) -> hyper::Response<HyperOutgoingBody> {
    use http_body_util::BodyExt;
    let body = http_body_util::Full::new(bytes::Bytes::from_static(body.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = hyper::Response::new(body);
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::GATEWAY_TIMEOUT);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn handle(
    runtime: Arc<Runtime>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<HyperOutgoingBody>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let mut store = runtime.new_store();
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let request = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, req)?;
    let response_out = store.data_mut().http().new_response_outparam(sender)?;
    let plugin = runtime.pre().instantiate_async(&mut store).await?;
    // The guest may keep streaming the body after it set the response: run it on its own task.
    let task = tokio::spawn(async move {
        plugin
            .wasi_http_incoming_handler()
            .call_handle(&mut store, request, response_out)
            .await
    });
    match receiver.await {
        Ok(Ok(response)) => {
            tracing::info!(%method, %path, status = response.status().as_u16(), "request");
            Ok(response)
        }
        Ok(Err(code)) => Err(anyhow!("the component answered with an error: {code:?}")),
        Err(_) => {
            let why = match task.await {
                Ok(Ok(())) => anyhow!("the component set no response"),
                Ok(Err(e)) => anyhow::Error::from(e).context("the component trapped"),
                Err(e) => anyhow!(e),
            };
            tracing::error!(%method, %path, error = %why, "request failed");
            Err(why)
        }
    }
}
