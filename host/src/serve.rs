//! `matterlink serve`: the component's `wasi:http/incoming-handler` over HTTP/1.1 (optionally
//! behind TLS), one fresh instance per request from the shared `InstancePre`.
//!
//! Everything a client can hold is bounded, so that slow or hostile clients cannot starve the
//! rest (see [`ServeOptions`]): the time to send the request head, the time to send the body,
//! the time a request may take in all, the connections open at once, and the requests (each
//! one instance of the pool) in flight at once. A request past its deadline is stopped for
//! real: the task running it is dropped, and the guest traps at its epoch deadline if it is
//! computing rather than waiting on the host.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView;

use crate::runtime::{Runtime, MAX_INSTANCES};

/// Requests still running this long after shutdown began are abandoned.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// A request taking longer than this is cut off with 504: the component's own per-request
/// iManage retries fit well inside it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// The request line and headers must arrive within this: a legitimate client sends them in one
/// packet, and a slow one otherwise holds a connection for as long as it likes.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole body must arrive within this of the head: room for the largest document
/// (64 MiB) at about 1 MiB/s, and no longer for a client that trickles.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections open at once. Beyond it new ones wait in the kernel's listen backlog (we stop
/// accepting) rather than being accepted and closed: they cost this process nothing while
/// they wait, an honest client is served as soon as the header deadline frees a slot instead
/// of failing, and a flood cannot make us spin accepting and closing.
pub const MAX_CONNECTIONS: usize = 1024;
/// Requests in flight at once, each holding one instance; beyond it a request gets 503 at
/// once without instantiating. Below the pool's `MAX_INSTANCES` (256) so that calls the same
/// runtime makes outside `serve` still find a slot, and so the pool is never the limit.
pub const MAX_IN_FLIGHT: usize = 192;
/// Largest request head (request line and headers). Our callers send a few short headers;
/// common servers allow 8–32 KiB. Larger heads get 431.
pub const MAX_HEAD_BYTES: usize = 16 << 10;
/// Most headers in one request; more get 431.
pub const MAX_HEADERS: usize = 64;

/// How `serve` bounds what clients can hold. The defaults are the constants of this module.
#[derive(Clone)]
pub struct ServeOptions {
    /// Time to receive the request line and headers (also how long an idle keep-alive
    /// connection stays open, and the TLS handshake's limit). Beyond it the connection is
    /// closed without an answer.
    pub header_timeout: Duration,
    /// Time to receive the body, from the head's arrival. Beyond it: 408.
    pub body_timeout: Duration,
    /// Time for the whole request, from the head's arrival. Beyond it: 504, or the response
    /// cut off if it had begun.
    pub request_timeout: Duration,
    /// Connections open at once (see [`MAX_CONNECTIONS`]).
    pub max_connections: usize,
    /// Requests in flight at once, at most the instance pool's size (see [`MAX_IN_FLIGHT`]).
    pub max_in_flight: usize,
    /// Terminate TLS with this configuration (see [`tls_config`]); plain HTTP without.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            header_timeout: HEADER_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            max_in_flight: MAX_IN_FLIGHT,
            tls: None,
        }
    }
}

impl ServeOptions {
    fn check(&self) -> Result<()> {
        if self.max_connections == 0 || self.max_in_flight == 0 {
            bail!("the connection and in-flight limits must be at least 1");
        }
        if self.max_in_flight > MAX_INSTANCES as usize {
            bail!(
                "at most {MAX_INSTANCES} requests can be in flight (the instance pool's size), not {}",
                self.max_in_flight
            );
        }
        if self.header_timeout.is_zero() {
            bail!("the header timeout must be above zero");
        }
        Ok(())
    }
}

/// A TLS server configuration from a PEM certificate chain and a PEM private key (PKCS#8,
/// PKCS#1 or SEC1), speaking HTTP/1.1.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the certificate chain {}", cert.display()))?;
    if certs.is_empty() {
        bail!("no certificate in {}", cert.display());
    }
    // The key's own error could quote the file; say only where it was.
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|_| anyhow!("no usable private key in {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key do not make a TLS configuration")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The path as logs may show it: the Actionstep hook's path carries its secret token, so
/// whatever follows an `actionstep` segment (in any case or percent-encoding) is redacted,
/// whether or not the request would have reached the hook.
pub fn loggable_path(path: &str) -> String {
    let mut shown = Vec::new();
    for segment in path.split('/') {
        shown.push(segment);
        let decoded = url::form_urlencoded::parse(segment.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default();
        if decoded.eq_ignore_ascii_case("actionstep") {
            return format!("{}/<redacted>", shown.join("/"));
        }
    }
    path.to_string()
}

/// Serves until `shutdown` resolves, then stops accepting and lets requests in flight finish;
/// with the default [`ServeOptions`].
pub async fn serve(
    runtime: Arc<Runtime>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    serve_with(runtime, listener, ServeOptions::default(), shutdown).await
}

/// What every request of one `serve` shares.
struct Shared {
    runtime: Arc<Runtime>,
    in_flight: Arc<Semaphore>,
    options: ServeOptions,
    scheme: Scheme,
}

/// [`serve`] with the limits in `options`.
pub async fn serve_with(
    runtime: Arc<Runtime>,
    listener: TcpListener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    options.check()?;
    let connections = Arc::new(Semaphore::new(options.max_connections));
    let tls = options.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let shared = Arc::new(Shared {
        runtime,
        in_flight: Arc::new(Semaphore::new(options.max_in_flight)),
        scheme: if tls.is_some() {
            Scheme::Https
        } else {
            Scheme::Http
        },
        options,
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    // Without a timer hyper silently ignores the header read timeout.
    http.timer(TokioTimer::new())
        .header_read_timeout(shared.options.header_timeout)
        .max_headers(MAX_HEADERS)
        .max_buf_size(MAX_HEAD_BYTES.max(8192))
        .max_header_size(MAX_HEAD_BYTES);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // At the cap we stop accepting: new connections wait in the listen backlog.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, most likely: pause rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let shared = shared.clone();
        let http = http.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let Some(acceptor) = tls else {
                return connection(http, watcher, shared, stream, peer).await;
            };
            // The handshake gets the header deadline: it comes before the head.
            match tokio::time::timeout(shared.options.header_timeout, acceptor.accept(stream)).await
            {
                Ok(Ok(stream)) => connection(http, watcher, shared, stream, peer).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all requests finished"),
        () = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("gave up waiting for requests in flight"),
    }
    Ok(())
}

async fn connection<S>(
    http: hyper::server::conn::http1::Builder,
    watcher: hyper_util::server::graceful::Watcher,
    shared: Arc<Shared>,
    stream: S,
    peer: std::net::SocketAddr,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| respond(shared.clone(), req));
    let conn = http.serve_connection(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// How the guest's task ended.
enum Ended {
    /// The call returned.
    Finished,
    /// The call failed: the guest trapped, or the host could not run it.
    Failed(anyhow::Error),
    /// The request deadline passed; the trap, if the guest was interrupted computing.
    TimedOut(Option<anyhow::Error>),
    /// The body did not arrive in time.
    BodyTimedOut,
}

async fn respond(
    shared: Arc<Shared>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<HyperOutgoingBody>, std::convert::Infallible> {
    let method = req.method().clone();
    let path = loggable_path(req.uri().path());
    let Ok(permit) = shared.in_flight.clone().try_acquire_owned() else {
        tracing::warn!(%method, %path, "too many requests in flight: refused with 503");
        let mut busy = json_response(
            503,
            r#"{"error":{"kind":"unavailable","message":"the server is busy; try again shortly"}}"#,
        );
        busy.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from_static("1"),
        );
        return Ok(busy);
    };
    let now = Instant::now();
    let deadline = now + shared.options.request_timeout;
    let body_expired = Arc::new(Notify::new());
    let req = req.map(|body| DeadlineBody {
        inner: body,
        deadline: Box::pin(tokio::time::sleep_until(now + shared.options.body_timeout)),
        expired: body_expired.clone(),
    });
    let (sender, receiver) = tokio::sync::oneshot::channel();
    // The guest may keep streaming the body after it set the response: it runs on its own
    // task, which ends (and frees its instance) at the deadline whoever is still waiting.
    let task = tokio::spawn(run_guest(
        shared.clone(),
        req,
        sender,
        deadline,
        body_expired,
        permit,
    ));
    let response = match receiver.await {
        Ok(Ok(response)) => {
            tracing::info!(%method, %path, status = response.status().as_u16(), "request");
            return Ok(response);
        }
        Ok(Err(code)) => {
            tracing::error!(%method, %path, error = ?code, "the component answered with an error");
            internal_error()
        }
        // The store, and with it the response sender, is gone: the task has ended.
        Err(_) => match task.await {
            Ok(Ended::TimedOut(trap)) => {
                match trap {
                    Some(e) => {
                        tracing::error!(%method, %path, error = %format!("{e:#}"), "request timed out")
                    }
                    None => tracing::error!(%method, %path, "request timed out"),
                }
                json_response(
                    504,
                    r#"{"error":{"kind":"timeout","message":"the request took too long"}}"#,
                )
            }
            Ok(Ended::BodyTimedOut) => {
                tracing::warn!(%method, %path, "the body did not arrive in time");
                json_response(
                    408,
                    r#"{"error":{"kind":"timeout","message":"the body did not arrive in time"}}"#,
                )
            }
            Ok(Ended::Finished) => {
                tracing::error!(%method, %path, "the component set no response");
                internal_error()
            }
            Ok(Ended::Failed(e)) => {
                tracing::error!(%method, %path, error = %format!("{e:#}"), "request failed");
                internal_error()
            }
            Err(e) => {
                tracing::error!(%method, %path, error = %e, "the request's task failed");
                internal_error()
            }
        },
    };
    Ok(response)
}

/// Runs one request in a fresh instance until it ends or its time is up. Holds `permit` (a
/// place among the requests in flight) until the store is gone.
async fn run_guest(
    shared: Arc<Shared>,
    req: hyper::Request<DeadlineBody>,
    sender: tokio::sync::oneshot::Sender<Result<hyper::Response<HyperOutgoingBody>, ErrorCode>>,
    deadline: Instant,
    body_expired: Arc<Notify>,
    permit: OwnedSemaphorePermit,
) -> Ended {
    // Declared first, dropped last: the place is given back only after the store is dropped.
    let _permit = permit;
    let runtime = shared.runtime.clone();
    let mut store =
        runtime.new_store_with_deadline(Some(deadline.saturating_duration_since(Instant::now())));
    let work = async {
        let request = store
            .data_mut()
            .http()
            .new_incoming_request(shared.scheme.clone(), req)?;
        let response_out = store.data_mut().http().new_response_outparam(sender)?;
        let plugin = runtime.pre().instantiate_async(&mut store).await?;
        plugin
            .wasi_http_incoming_handler()
            .call_handle(&mut store, request, response_out)
            .await?;
        anyhow::Ok(())
    };
    tokio::select! {
        ended = tokio::time::timeout_at(deadline, work) => match ended {
            Ok(Ok(())) => Ended::Finished,
            // The epoch deadline caught the guest computing.
            Ok(Err(e)) if matches!(e.downcast_ref(), Some(wasmtime::Trap::Interrupt)) => {
                Ended::TimedOut(Some(e))
            }
            Ok(Err(e)) => Ended::Failed(e),
            Err(_) => Ended::TimedOut(None),
        },
        () = body_expired.notified() => Ended::BodyTimedOut,
    }
}

/// A request body that stops once its deadline has passed and says so through `expired`, so
/// that the request is stopped rather than handled with half a body.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    expired: Arc<Notify>,
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = ErrorCode;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ErrorCode>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(ErrorCode::from)));
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            // No error for the guest to read as the end of a short body: the guest waits on,
            // and `run_guest`, told here, drops it.
            this.expired.notify_one();
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn internal_error() -> hyper::Response<HyperOutgoingBody> {
    json_response(
        500,
        r#"{"error":{"kind":"internal","message":"the request failed in the server"}}"#,
    )
}

fn json_response(status: u16, body: &'static str) -> hyper::Response<HyperOutgoingBody> {
    use http_body_util::BodyExt;
    let body = http_body_util::Full::new(Bytes::from_static(body.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = hyper::Response::new(body);
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn the_actionstep_token_never_shows() {
        for (path, shown) in [
            ("/v1/actionstep/s3cret", "/v1/actionstep/<redacted>"),
            ("/v1/actionstep/s3cret/more", "/v1/actionstep/<redacted>"),
            ("/v1/ActionStep/s3cret", "/v1/ActionStep/<redacted>"),
            ("//v1/actionstep/s3cret", "//v1/actionstep/<redacted>"),
            ("/v1/action%73tep/s3cret", "/v1/action%73tep/<redacted>"),
            ("/v1/actionstep", "/v1/actionstep/<redacted>"),
            ("/v1/health", "/v1/health"),
            ("/v1/events", "/v1/events"),
        ] {
            assert_eq!(loggable_path(path), shown, "{path}");
        }
    }
}
