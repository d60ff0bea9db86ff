//! The connections behind the component's outgoing `wasi:http`: hyper-util's pooled client, so
//! that the ten-odd requests of one event (up to eight of them at once) — and the events after
//! it — reuse keep-alive connections instead of paying a TCP (and TLS) handshake each, as
//! wasmtime-wasi-http's default sender does. One `HttpPool` per [`Runtime`](crate::Runtime),
//! shared by every store it makes.
//!
//! What the guest asks for per request is kept:
//! - **connect timeout**: the connector's; connectors are per client, so there is one client per
//!   connect timeout asked for (the component always asks for the same one), at most
//!   [`MAX_CLIENTS`] of them;
//! - **first-byte timeout**: the wait for the response's head, which on a new connection includes
//!   connecting, so the bound is connect + first byte (a pooled connection cannot tell the two
//!   apart, and it only ever waits less);
//! - **between-bytes timeout**: on the response body, reset by every frame.
//!
//! TLS is rustls with ring and the webpki roots, as the default sender has it.

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// An idle connection is closed after this long: below the keep-alive timeouts of the usual load
/// balancers and servers in front of iManage (60 s and more), so the pool closes a connection
/// before the far end does and a request is rarely sent into a connection being closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle connections kept per authority: as many as may be in flight to it
/// ([`MAX_IN_FLIGHT_PER_AUTHORITY`]), so a burst's connections are all reused by the next one.
/// Connections beyond it are closed when they fall idle, which costs a handshake later and never
/// waits.
pub const MAX_IDLE_PER_AUTHORITY: usize = MAX_IN_FLIGHT_PER_AUTHORITY;
/// Requests of one runtime waiting for their answer's head from one authority, at most; a further
/// one waits its turn (within its own first-byte timeout). Each event keeps up to the
/// component's `imanage_max_in_flight` (default 8) requests in flight, and a host runs up to
/// `runtime::MAX_INSTANCES` events at once: without a bound across events, a burst of a hundred
/// events opens eight hundred connections to iManage at once, with their buffers (the host's
/// memory went from 45 to 78 MiB) and well past any rate limit the far end keeps. 64 lets eight
/// events provision at full width together.
///
/// The turn ends when the head arrives, not when the body is read: the guest reads a body as
/// soon as its head is ready, but only after writing the bodies of the requests it sent with it,
/// and one of those may be waiting for a turn; a turn held until the body was read could then
/// wait on itself across events.
pub const MAX_IN_FLIGHT_PER_AUTHORITY: usize = 64;
/// Distinct connect timeouts served by a pooled client; a further one replaces the oldest.
pub const MAX_CLIENTS: usize = 4;
/// wasmtime-wasi-http's default for a timeout the guest leaves unset.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

type Pooled = Client<HttpsConnector<HttpConnector>, WasiBody>;

/// The pooled clients of one runtime, by connect timeout. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct HttpPool {
    clients: Arc<Mutex<Vec<(Duration, Pooled)>>>,
    /// The turns of [`MAX_IN_FLIGHT_PER_AUTHORITY`], by authority. The allow list keeps the
    /// authorities to the few the deployment names (iManage, Actionstep), so the map stays small.
    turns: Arc<Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>>,
}

/// A response as `WasiHttpHooks::send_request` hands it to the guest.
pub type Response = hyper::Response<WasiBody>;

impl HttpPool {
    /// Sends `request` on a pooled connection to its authority and waits for the response's head.
    pub async fn send(
        &self,
        request: hyper::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<Response, Error> {
        let timeout = |t: Option<Duration>| t.unwrap_or(DEFAULT_TIMEOUT);
        let options = options.unwrap_or_default();
        let connect = timeout(options.connect_timeout);
        let head = connect.saturating_add(timeout(options.first_byte_timeout));
        let between = timeout(options.between_bytes_timeout);
        let client = self.client(connect)?;
        let turns = self.turns(&request)?;
        let response = tokio::time::timeout(head, async move {
            // Never closed, so acquiring only ever waits.
            let _turn = turns.acquire_owned().await;
            client.request(request).await
        })
        .await
        .map_err(|_| Error::ConnectionReadTimeout)?
        .map_err(sending_error)?;
        Ok(response.map(|body| {
            tower_http::timeout::TimeoutBody::new(between, body)
                .map_err(body_error)
                .boxed_unsync()
        }))
    }

    /// The turns of `request`'s authority.
    fn turns(
        &self,
        request: &hyper::Request<WasiBody>,
    ) -> Result<Arc<tokio::sync::Semaphore>, Error> {
        let authority = request
            .uri()
            .authority()
            .map(|a| a.as_str().to_ascii_lowercase())
            .unwrap_or_default();
        let mut turns = self
            .turns
            .lock()
            .map_err(|_| Error::InternalError(Some("HTTP pool lock poisoned".into())))?;
        Ok(turns
            .entry(authority)
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT_PER_AUTHORITY)))
            .clone())
    }

    fn client(&self, connect_timeout: Duration) -> Result<Pooled, Error> {
        let mut clients = self
            .clients
            .lock()
            .map_err(|_| Error::InternalError(Some("HTTP pool lock poisoned".into())))?;
        if let Some((_, client)) = clients.iter().find(|(t, _)| *t == connect_timeout) {
            return Ok(client.clone());
        }
        let client = new_client(connect_timeout)?;
        if clients.len() >= MAX_CLIENTS {
            clients.remove(0);
        }
        clients.push((connect_timeout, client.clone()));
        Ok(client)
    }
}

fn new_client(connect_timeout: Duration) -> Result<Pooled, Error> {
    let mut tcp = HttpConnector::new();
    // The TLS layer above hands https URIs down to this connector.
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(connect_timeout));
    // Requests are small writes (head, then the body); Nagle's algorithm would hold the body
    // back until the head is acknowledged.
    tcp.set_nodelay(true);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(provider)
        .map_err(|e| Error::InternalError(Some(format!("TLS configuration: {e}"))))?
        // The allow list decides the scheme (plain http only to loopback), not the connector.
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(IDLE_TIMEOUT)
        .pool_max_idle_per_host(MAX_IDLE_PER_AUTHORITY)
        .pool_timer(TokioTimer::new())
        .build(connector))
}

/// The guest's error code for a request that got no response head.
fn sending_error(e: hyper_util::client::legacy::Error) -> Error {
    let mut cause = e.source();
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if e.is_connect() {
                let tls = io
                    .get_ref()
                    .is_some_and(|inner| inner.is::<rustls::Error>());
                let copy = std::io::Error::new(io.kind(), io.to_string());
                return match io.kind() {
                    _ if tls => Error::Tls(copy),
                    std::io::ErrorKind::TimedOut => Error::ConnectionTimeout,
                    std::io::ErrorKind::ConnectionRefused => Error::ConnectionRefused,
                    _ => Error::Connect(copy),
                };
            }
        }
        if let Some(h) = c.downcast_ref::<hyper::Error>() {
            return hyper_error(h);
        }
        cause = c.source();
    }
    if e.is_connect() {
        return Error::Connect(std::io::Error::other(e.to_string()));
    }
    Error::InternalError(Some(e.to_string()))
}

/// A hyper error by what the guest can do about it; hyper's errors cannot be moved out of the
/// client's error that holds them.
fn hyper_error(h: &hyper::Error) -> Error {
    if h.is_timeout() {
        Error::ConnectionReadTimeout
    } else if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
        Error::ConnectionTerminated
    } else if h.is_parse() || h.is_parse_status() {
        Error::HttpProtocolError
    } else {
        Error::InternalError(Some(h.to_string()))
    }
}

/// The guest's error code for a response body that failed or stalled.
fn body_error(e: Box<dyn std::error::Error + Send + Sync>) -> Error {
    if e.is::<tower_http::timeout::TimeoutError>() {
        return Error::ConnectionReadTimeout;
    }
    match e.downcast::<hyper::Error>() {
        Ok(h) => Error::Hyper(*h),
        Err(other) => Error::InternalError(Some(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn empty() -> WasiBody {
        http_body_util::Empty::new()
            .map_err(|never| match never {})
            .boxed_unsync()
    }

    fn get(uri: &str) -> hyper::Request<WasiBody> {
        hyper::Request::builder().uri(uri).body(empty()).unwrap()
    }

    /// Reads one request head (these requests have no body) from `conn`.
    async fn read_head(conn: &mut tokio::net::TcpStream) -> Option<String> {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if conn.read(&mut byte).await.ok()? == 0 {
                return None;
            }
            head.push(byte[0]);
        }
        Some(String::from_utf8_lossy(&head).into_owned())
    }

    #[tokio::test]
    async fn requests_in_turn_share_one_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // Accepts connections and answers every request on each; counts the connections.
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    while read_head(&mut conn).await.is_some() {
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if conn.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let pool = HttpPool::default();
        for i in 0..5 {
            let response = pool.send(get(&format!("{base}/r{i}")), None).await.unwrap();
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"ok");
            // The client hands a connection back to the pool from a task of its own once the
            // answer is read: let it run before the next request looks for one.
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn requests_to_one_authority_wait_their_turn_past_the_bound() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // Holds every request's answer until released; counts the requests it holds.
        let held = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let release = Arc::new(tokio::sync::Notify::new());
        let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (h, r, rd) = (held.clone(), release.clone(), released.clone());
        tokio::spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                let (h, r, rd) = (h.clone(), r.clone(), rd.clone());
                tokio::spawn(async move {
                    while read_head(&mut conn).await.is_some() {
                        h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        loop {
                            // Made before the check, so a release between the two still wakes it.
                            let woken = r.notified();
                            if rd.load(std::sync::atomic::Ordering::SeqCst) {
                                break;
                            }
                            woken.await;
                        }
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if conn.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let pool = HttpPool::default();
        let extra = 10;
        let mut sent = tokio::task::JoinSet::new();
        for i in 0..MAX_IN_FLIGHT_PER_AUTHORITY + extra {
            let (pool, uri) = (pool.clone(), format!("{base}/r{i}"));
            sent.spawn(async move {
                let response = pool.send(get(&uri), None).await.unwrap();
                response.into_body().collect().await.unwrap().to_bytes()
            });
        }
        // The bound's worth arrives; the rest waits for as long as the far end keeps them.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while held.load(std::sync::atomic::Ordering::SeqCst) < MAX_IN_FLIGHT_PER_AUTHORITY {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the bound's worth never arrived"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            held.load(std::sync::atomic::Ordering::SeqCst),
            MAX_IN_FLIGHT_PER_AUTHORITY
        );
        released.store(true, std::sync::atomic::Ordering::SeqCst);
        release.notify_waiters();
        let mut answered = 0;
        while let Some(body) = sent.join_next().await {
            assert_eq!(&body.unwrap()[..], b"ok");
            answered += 1;
        }
        assert_eq!(answered, MAX_IN_FLIGHT_PER_AUTHORITY + extra);
        assert_eq!(
            held.load(std::sync::atomic::Ordering::SeqCst),
            MAX_IN_FLIGHT_PER_AUTHORITY + extra
        );
    }

    #[tokio::test]
    async fn the_guests_timeouts_hold() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // `/silent` gets no answer; `/stall` gets a head and half a body, then nothing.
        tokio::spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let Some(head) = read_head(&mut conn).await else {
                        return;
                    };
                    if head.starts_with("GET /stall ") {
                        let _ = conn
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nok")
                            .await;
                    }
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    drop(conn);
                });
            }
        });
        let pool = HttpPool::default();
        let short = Some(Duration::from_millis(200));
        let options = RequestOptions {
            connect_timeout: short,
            first_byte_timeout: short,
            between_bytes_timeout: short,
        };
        let silent = pool
            .send(get(&format!("{base}/silent")), Some(options))
            .await;
        assert!(
            matches!(silent, Err(Error::ConnectionReadTimeout)),
            "{silent:?}"
        );
        let stalled = pool
            .send(get(&format!("{base}/stall")), Some(options))
            .await
            .unwrap();
        let read = stalled.into_body().collect().await;
        assert!(
            matches!(read, Err(Error::ConnectionReadTimeout)),
            "{:?}",
            read.map(|_| ())
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_the_guests_connection_refused() {
        // A port that was just free: nothing listens there.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let sent = HttpPool::default()
            .send(get(&format!("http://127.0.0.1:{port}/")), None)
            .await;
        assert!(matches!(sent, Err(Error::ConnectionRefused)), "{sent:?}");
    }
}
