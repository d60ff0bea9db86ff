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
use tracing::Instrument;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView;

use crate::runtime::{Runtime, MAX_INSTANCES};
use crate::tenants::LiveTenants;

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
/// The header that names a request in the logs and the audit trail, taken from the caller
/// when it is usable (see [`request_id`]) and returned on every response.
pub const REQUEST_ID: &str = "x-request-id";
/// The path prefix the component is served below, for the console's links and cookie paths:
/// `/t/{tenant}` for a tenant's requests.
pub const FORWARDED_PREFIX: &str = "x-forwarded-prefix";
/// Longest request id taken from a caller: room for a UUID or a trace id with a prefix.
pub const MAX_REQUEST_ID: usize = 128;
/// How much of an event's body is kept to read its type for the metrics: events are a few
/// kilobytes, and a longer one is counted with the type `unknown` rather than copied whole.
const EVENT_CAPTURE: usize = 256 << 10;
/// Largest answer to `POST /v1/events` read for its outcome: an outcome is a few hundred
/// bytes; anything longer is not one, and the request fails rather than buffering it.
const MAX_EVENT_ANSWER: usize = 1 << 20;

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

/// The request's id: the caller's `X-Request-Id` when it is short (at most
/// [`MAX_REQUEST_ID`]) and printable ASCII without spaces, so that it can go into a log line
/// or a header as it is; otherwise a fresh random one (32 hex digits).
pub fn request_id(headers: &hyper::HeaderMap) -> String {
    let usable = |v: &str| {
        !v.is_empty() && v.len() <= MAX_REQUEST_ID && v.bytes().all(|b| b.is_ascii_graphic())
    };
    if let Some(v) = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
        if usable(v) {
            return v.to_string();
        }
    }
    let mut bytes = [0u8; 16];
    // Without OS randomness an id from the clock is still unique enough to follow a request.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = nanos.to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    /// The tenants served under `/t/{tenant}/…`, loaded on first use.
    tenants: Arc<LiveTenants>,
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
    runtime.metrics().set_in_flight_limit(options.max_in_flight);
    let connections = Arc::new(Semaphore::new(options.max_connections));
    let tls = options.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let tenants = Arc::new(LiveTenants::new(runtime.clone()));
    // Tenants added, changed or removed by other processes reach this one without a restart.
    let watching = tokio::spawn(tenants.clone().watch());
    let shared = Arc::new(Shared {
        tenants,
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
            let _open = shared.runtime.metrics().connection();
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
    watching.abort();
    Ok(())
}

/// Serves `GET /metrics` (the [`crate::metrics`] of `runtime`, in the text format Prometheus
/// reads) on its own listener until `shutdown` resolves. Its own address, so that the
/// metrics are never reachable where the webhooks are unless someone says so; nothing else
/// is answered there.
pub async fn serve_metrics(
    runtime: Arc<Runtime>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_headers(MAX_HEADERS);
    // A scraper holds one connection; a few suffice, and a flood waits in the backlog.
    let connections = Arc::new(Semaphore::new(16));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit?,
            () = &mut shutdown => return Ok(()),
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let runtime = runtime.clone();
        let http = http.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |req| metrics_response(runtime.clone(), req));
            if let Err(e) = http.serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(error = %e, "metrics connection ended with an error");
            }
        });
    }
}

async fn metrics_response(
    runtime: Arc<Runtime>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<http_body_util::Full<Bytes>>, std::convert::Infallible> {
    let reply = |status: u16, content_type: &'static str, body: String| {
        let mut r = hyper::Response::new(http_body_util::Full::new(Bytes::from(body)));
        *r.status_mut() = hyper::StatusCode::from_u16(status).expect("a valid status");
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(content_type),
        );
        r
    };
    if req.uri().path() != "/metrics" {
        return Ok(reply(
            404,
            "text/plain",
            "only /metrics is served here\n".into(),
        ));
    }
    if req.method() != hyper::Method::GET {
        return Ok(reply(405, "text/plain", "GET /metrics\n".into()));
    }
    Ok(match runtime.metrics().scrape(&runtime).await {
        Ok(text) => reply(200, crate::metrics::CONTENT_TYPE, text),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "reading the metrics failed");
            reply(500, "text/plain", "reading the metrics failed\n".into())
        }
    })
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

/// Names the request (its id on every log line, in the component's headers and on the
/// response), answers it, and counts it.
async fn respond(
    shared: Arc<Shared>,
    mut req: hyper::Request<Incoming>,
) -> Result<hyper::Response<HyperOutgoingBody>, std::convert::Infallible> {
    let id = request_id(req.headers());
    let id_value = hyper::header::HeaderValue::from_str(&id).expect("checked or made printable");
    // Replaces an unusable one: the component copies what it finds into the audit trail.
    req.headers_mut().insert(REQUEST_ID, id_value.clone());
    let (runtime, tenant) = match tenant_of(&shared, &mut req).await {
        Ok(chosen) => chosen,
        Err(unavailable) => {
            let mut response = unavailable;
            response.headers_mut().insert(REQUEST_ID, id_value);
            return Ok(response);
        }
    };
    let method = req.method().clone();
    let route = crate::metrics::route(req.uri().path());
    let span =
        tracing::info_span!("request", request_id = %id, tenant = tenant.as_deref().unwrap_or("-"));
    // The Actionstep hook's answer names each event's type; `/v1/events` needs the request's.
    let events_route = method == hyper::Method::POST && matches!(route, "events" | "actionstep");
    let capture = (events_route && route == "events").then(Arc::default);
    let metrics = shared.runtime.metrics().clone();
    let answered = async {
        let response = answer(shared.clone(), runtime, req, capture.clone()).await;
        if !events_route {
            return response;
        }
        count_events(
            response,
            capture.as_deref(),
            &metrics,
            tenant.as_deref(),
            shared.options.request_timeout,
        )
        .await
    }
    .instrument(span)
    .await;
    let mut response = answered;
    let status = response.status();
    metrics.http_request(tenant.as_deref(), route, method.as_str(), status.as_u16());
    if route == "changes" && method == hyper::Method::GET && status.is_success() {
        metrics.feed_polled(tenant.as_deref());
    }
    response.headers_mut().insert(REQUEST_ID, id_value);
    Ok(response)
}

/// The runtime a request goes to, and its tenant's name. `/t/{tenant}/rest` goes to the
/// tenant's runtime as `/rest` (the component is the same for every tenant and knows nothing of
/// the prefix; the signature covers `/rest`, under the tenant's own secret). Everything else,
/// an unknown tenant included, goes to the host's own runtime as it came, so an unknown tenant
/// gets exactly the component's answer for a path it has no route for: a 404 that says nothing
/// of which tenants exist.
async fn tenant_of(
    shared: &Shared,
    req: &mut hyper::Request<Incoming>,
) -> Result<(Arc<Runtime>, Option<String>), hyper::Response<HyperOutgoingBody>> {
    let Some((name, rest)) = tenant_route(req.uri()) else {
        return Ok((shared.runtime.clone(), None));
    };
    match shared.tenants.get(&name).await {
        Ok(Some(runtime)) => {
            let mut parts = req.uri().clone().into_parts();
            parts.path_and_query = Some(rest);
            if let Ok(uri) = hyper::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
                // The console's links and cookies must keep the tenant's prefix, which the
                // component no longer sees in the path (after any prefix a proxy in front set).
                let outer = req
                    .headers()
                    .get(FORWARDED_PREFIX)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_string();
                if let Ok(v) = hyper::header::HeaderValue::from_str(&format!("{outer}/t/{name}")) {
                    req.headers_mut().insert(FORWARDED_PREFIX, v);
                }
                return Ok((runtime, Some(name)));
            }
            Ok((shared.runtime.clone(), None))
        }
        Ok(None) => Ok((shared.runtime.clone(), None)),
        Err(e) => {
            tracing::error!(error = %e, "reading the tenant registry failed");
            let mut busy = json_response(
                503,
                r#"{"error":{"kind":"unavailable","message":"the server cannot read its tenants now; try again shortly"}}"#,
            );
            busy.headers_mut().insert(
                hyper::header::RETRY_AFTER,
                hyper::header::HeaderValue::from_static("1"),
            );
            Err(busy)
        }
    }
}

/// `/t/{tenant}/rest?query` → the tenant's name and `/rest?query`; `None` for any other path
/// (including `/t/{tenant}` with nothing after it).
fn tenant_route(uri: &hyper::Uri) -> Option<(String, hyper::http::uri::PathAndQuery)> {
    let path = uri.path();
    let after = path.strip_prefix("/t/")?;
    let (name, rest) = after.split_at(after.find('/')?);
    if name.is_empty() || rest.len() < 2 {
        return None;
    }
    let rest = match uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_string(),
    };
    Some((name.to_string(), rest.parse().ok()?))
}

/// Reads an answer to `POST /v1/events` or the Actionstep hook (a small JSON body) to count
/// its events by type and outcome, and passes it on unchanged. `capture` holds the start of
/// the request's body for `/v1/events`, whose answer does not name the type.
async fn count_events(
    response: hyper::Response<HyperOutgoingBody>,
    capture: Option<&std::sync::Mutex<Vec<u8>>>,
    metrics: &crate::metrics::Metrics,
    tenant: Option<&str>,
    timeout: Duration,
) -> hyper::Response<HyperOutgoingBody> {
    use http_body_util::BodyExt;
    let (parts, body) = response.into_parts();
    let read = tokio::time::timeout(
        timeout,
        http_body_util::Limited::new(body, MAX_EVENT_ANSWER).collect(),
    )
    .await;
    let bytes = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the answer to an event could not be read");
            return internal_error();
        }
        Err(_) => {
            tracing::error!("the answer to an event did not arrive in time");
            return internal_error();
        }
    };
    let Some(capture) = capture else {
        for (r#type, outcome) in crate::metrics::actionstep_events(parts.status.as_u16(), &bytes) {
            metrics.event(tenant, r#type, outcome);
            tracing::info!(r#type, outcome, "event");
        }
        let body = http_body_util::Full::new(bytes)
            .map_err(|never| match never {})
            .boxed_unsync();
        return hyper::Response::from_parts(parts, body);
    };
    let request = capture.lock().map(|c| c.clone()).unwrap_or_default();
    let crate::metrics::EventHead { r#type, id } = crate::metrics::event_head(&request);
    let outcome = crate::metrics::event_outcome(parts.status.as_u16(), &bytes);
    metrics.event(tenant, r#type, outcome);
    // The sender's id, to find the event in the audit trail and the dead letters; shown only
    // when it is a plain short token (the component refuses any other).
    let event_id =
        id.filter(|id| id.len() <= MAX_REQUEST_ID && id.bytes().all(|b| b.is_ascii_graphic()));
    tracing::info!(
        event_id = event_id.as_deref().unwrap_or("-"),
        r#type,
        outcome,
        "event"
    );
    let body = http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync();
    hyper::Response::from_parts(parts, body)
}

/// Runs the request in an instance and turns every way that can end into a response.
async fn answer(
    shared: Arc<Shared>,
    runtime: Arc<Runtime>,
    req: hyper::Request<Incoming>,
    capture: Option<Arc<std::sync::Mutex<Vec<u8>>>>,
) -> hyper::Response<HyperOutgoingBody> {
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
        return busy;
    };
    let in_flight = (permit, shared.runtime.metrics().in_flight());
    let now = Instant::now();
    let deadline = now + shared.options.request_timeout;
    let body_expired = Arc::new(Notify::new());
    let req = req.map(|body| DeadlineBody {
        inner: body,
        deadline: Box::pin(tokio::time::sleep_until(now + shared.options.body_timeout)),
        expired: body_expired.clone(),
        capture,
    });
    let (sender, receiver) = tokio::sync::oneshot::channel();
    // The guest may keep streaming the body after it set the response: it runs on its own
    // task, which ends (and frees its instance) at the deadline whoever is still waiting.
    // The guest's task carries the request's span: the HTTP hook's lines are inside it.
    let task = tokio::spawn(
        run_guest(
            shared.clone(),
            runtime,
            req,
            sender,
            deadline,
            body_expired,
            in_flight,
        )
        .in_current_span(),
    );
    let response = match receiver.await {
        Ok(Ok(response)) => {
            tracing::info!(%method, %path, status = response.status().as_u16(), "request");
            return response;
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
    tracing::info!(%method, %path, status = response.status().as_u16(), "request");
    response
}

/// Runs one request in a fresh instance until it ends or its time is up. Holds `permit` (a
/// place among the requests in flight, and its count in the metrics) until the store is gone.
async fn run_guest(
    shared: Arc<Shared>,
    runtime: Arc<Runtime>,
    req: hyper::Request<DeadlineBody>,
    sender: tokio::sync::oneshot::Sender<Result<hyper::Response<HyperOutgoingBody>, ErrorCode>>,
    deadline: Instant,
    body_expired: Arc<Notify>,
    permit: (OwnedSemaphorePermit, crate::metrics::GaugeGuard),
) -> Ended {
    // Declared first, dropped last: the place is given back only after the store is dropped.
    let _permit = permit;
    let mut store =
        runtime.new_store_with_deadline(Some(deadline.saturating_duration_since(Instant::now())));
    let work = async {
        let request = store
            .data_mut()
            .http()
            .new_incoming_request(shared.scheme.clone(), req)?;
        let response_out = store.data_mut().http().new_response_outparam(sender)?;
        let instance = runtime.instantiate_in(&mut store).await?;
        runtime
            .incoming_handler(&mut store, &instance)?
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
    /// The first [`EVENT_CAPTURE`] bytes, kept for the metrics (events only).
    capture: Option<Arc<std::sync::Mutex<Vec<u8>>>>,
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
            if let (Some(capture), Some(Ok(frame))) = (&this.capture, &frame) {
                if let (Some(data), Ok(mut kept)) = (frame.data_ref(), capture.lock()) {
                    let room = EVENT_CAPTURE.saturating_sub(kept.len());
                    kept.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
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
    use super::{loggable_path, tenant_route};

    #[test]
    fn tenant_routes_keep_the_rest_of_the_path_and_the_query() {
        let route =
            |u: &str| tenant_route(&u.parse().unwrap()).map(|(n, rest)| (n, rest.to_string()));
        assert_eq!(
            route("/t/acme/v1/events"),
            Some(("acme".into(), "/v1/events".into()))
        );
        assert_eq!(
            route("/t/acme/v1/audit?limit=5"),
            Some(("acme".into(), "/v1/audit?limit=5".into()))
        );
        for not in [
            "/t/acme",
            "/t/acme/",
            "/t//v1/events",
            "/v1/events",
            "/tx/acme/v1",
        ] {
            assert_eq!(route(not), None, "{not}");
        }
    }

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
