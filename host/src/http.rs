//! Outgoing `wasi:http` for the component, allowed to one authority only: the configured
//! iManage base URL. Everything else is refused with `HttpRequestDenied` (which the component
//! sees as an error) and logged. An allowed request may still be answered by an `Interceptor`
//! instead of being sent (a dry run does that for the requests that would change iManage).
//! What passes goes out on the runtime's keep-alive connections ([`crate::http_pool`]).

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use wasmtime_wasi_http::{WasiBody, WasiHttpHooks};

use crate::http_pool::HttpPool;

/// A response, and the future that finishes its I/O, as `WasiHttpHooks::send_request` returns them.
pub type SendResult = wasmtime_wasi_http::Result<(
    hyper::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
)>;

/// What an `Interceptor` makes of a request.
// Returned once per request and taken apart at once: boxing the request to shrink it would add
// an allocation per request and save nothing.
#[allow(clippy::large_enum_variant)]
pub enum Intercepted {
    /// Not its business: the request goes to iManage as usual.
    Pass(hyper::Request<WasiBody>),
    /// Answered here; nothing is sent.
    Answered(Box<dyn Future<Output = SendResult> + Send>),
}

/// Consulted by `Hooks::send_request` for every request the allow list lets through, before it
/// is sent. `Any` so that whoever installed one can get it back from a store's hooks
/// (`Hooks::interceptor`), to read what it recorded.
pub trait Interceptor: Any + Send + Sync {
    /// Passes the request on, or answers it instead of sending it.
    fn intercept(&self, request: hyper::Request<WasiBody>) -> Intercepted;
}

/// The destinations the component may call, as `scheme://host:port`: iManage's base URL and,
/// when Actionstep's API is configured, its token endpoint and API base.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    allowed: Vec<(String, String)>,
    /// Actionstep's API is configured without `actionstep_api_base`: the organisation's API
    /// base comes from the token answer, on one of Actionstep's own hosts
    /// (`https://*.actionstep.com`).
    actionstep_cloud: bool,
}

/// Why the host will not let the component call a base URL. The component checks its
/// configuration too; the host refuses on its own so that a component that did not (another
/// build, a bug) still cannot send tokens in clear text or put credentials on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BaseUrlRefusal {
    /// Not a URL, or not `http`/`https` with a host.
    #[error("imanage_base_url is not an http(s) URL with a host")]
    NotAUrl,
    /// Plain `http` to anything but this machine: tokens would cross the network in clear text.
    #[error("imanage_base_url uses plain http to a host that is not loopback; use https")]
    PlainHttp,
    /// A user name or password inside the URL.
    #[error(
        "imanage_base_url carries a user name or password; put credentials in their own settings"
    )]
    Credentials,
}

/// The scheme and `host:port` of a base URL the component may call, or why not. The URL itself
/// is never part of the refusal: it may hold a password.
pub fn check_base_url(base: &str) -> Result<(String, String), BaseUrlRefusal> {
    let url = url::Url::parse(base).map_err(|_| BaseUrlRefusal::NotAUrl)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(BaseUrlRefusal::Credentials);
    }
    let host = url.host().ok_or(BaseUrlRefusal::NotAUrl)?;
    let port = url.port_or_known_default().ok_or(BaseUrlRefusal::NotAUrl)?;
    let loopback = match &host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(BaseUrlRefusal::PlainHttp),
        _ => return Err(BaseUrlRefusal::NotAUrl),
    }
    let host = match host {
        url::Host::Ipv6(ip) => format!("[{ip}]"),
        other => other.to_string(),
    };
    Ok((url.scheme().to_string(), format!("{host}:{port}")))
}

impl AllowList {
    /// From the `imanage_base_url` setting; an unset or refused URL allows nothing (and a
    /// refused one is logged with its reason, never with the URL).
    pub fn for_base_url(base: Option<&str>) -> AllowList {
        let allowed = base.and_then(|b| match check_base_url(b) {
            Ok(allowed) => Some(allowed),
            Err(why) => {
                tracing::warn!(reason = %why, "no outgoing requests will be allowed");
                None
            }
        });
        AllowList {
            allowed: allowed.into_iter().collect(),
            actionstep_cloud: false,
        }
    }

    /// Also Actionstep, when `actionstep_client_id` is set (`config` reads a setting): its token
    /// endpoint (`actionstep_token_url`, default `https://go.actionstep.com`) and its API base
    /// (`actionstep_api_base`, or else any `https://*.actionstep.com`). A refused URL is logged
    /// with its reason, never with the URL.
    pub fn with_actionstep<'a>(mut self, config: impl Fn(&str) -> Option<&'a str>) -> AllowList {
        let set = |key: &str| config(key).filter(|v| !v.trim().is_empty());
        if set("actionstep_client_id").is_none() {
            return self;
        }
        let token = set("actionstep_token_url")
            .unwrap_or(matterlink_component::settings::ACTIONSTEP_TOKEN_URL);
        let api = set("actionstep_api_base");
        self.actionstep_cloud = api.is_none();
        for url in [Some(token), api].into_iter().flatten() {
            match check_base_url(url) {
                Ok(allowed) => self.allowed.push(allowed),
                Err(why) => tracing::warn!(reason = %why, "an Actionstep URL is not allowed"),
            }
        }
        self
    }

    /// Whether a request to `uri` may go out: same scheme, host and port as an allowed base.
    pub fn permits(&self, uri: &hyper::Uri) -> bool {
        let (Some(s), Some(a)) = (uri.scheme_str(), authority_with_port(uri)) else {
            return false;
        };
        let cloud = self.actionstep_cloud
            && s.eq_ignore_ascii_case("https")
            && a.to_ascii_lowercase().ends_with(".actionstep.com:443");
        cloud
            || self.allowed.iter().any(|(scheme, authority)| {
                scheme.eq_ignore_ascii_case(s) && authority.eq_ignore_ascii_case(&a)
            })
    }
}

/// `host:port`, with the scheme's default port made explicit so `https://h` and `https://h:443`
/// compare equal.
fn authority_with_port(uri: &hyper::Uri) -> Option<String> {
    let host = uri.host()?;
    let port = uri.port_u16().or(match uri.scheme_str()? {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some(format!("{host}:{port}"))
}

/// The `WasiHttpHooks` of one store.
pub struct Hooks {
    /// The one destination allowed.
    pub allow: AllowList,
    /// Consulted after the allow list: in a dry run, the session that plans changing requests
    /// instead of sending them.
    pub interceptor: Option<Arc<dyn Interceptor>>,
    /// Counts what is sent (see [`crate::metrics`]); `None` counts nothing.
    pub meter: Option<Meter>,
    /// The keep-alive connections requests go out on, shared by every store of a runtime.
    pub pool: HttpPool,
}

/// What one store's hooks count with: the runtime's metrics, and the requests of this
/// instance whose last attempt failed in a way the component retries, to tell a retry from a
/// first attempt.
pub struct Meter {
    metrics: Arc<crate::metrics::Metrics>,
    /// The tenant the requests are counted for (`None`: the host's own configuration).
    tenant: Option<Arc<str>>,
    failed: Arc<std::sync::Mutex<std::collections::HashSet<(hyper::Method, String)>>>,
}

impl Meter {
    /// Counts into `metrics`, for `tenant`.
    pub fn new(metrics: Arc<crate::metrics::Metrics>, tenant: Option<&str>) -> Meter {
        Meter {
            metrics,
            tenant: tenant.map(Arc::from),
            failed: Default::default(),
        }
    }
}

/// What the component's transport retries: no answer, 401 (after refreshing the token), 408,
/// 429 and 5xx. Anything else is an answer, not a reason to send again.
fn retryable(status: Option<u16>) -> bool {
    match status {
        None => true,
        Some(s) => matches!(s, 401 | 408 | 429) || s >= 500,
    }
}

impl Hooks {
    /// The interceptor, if there is one and it is a `T`.
    pub fn interceptor<T: Interceptor>(&self) -> Option<&T> {
        let any: &dyn Any = self.interceptor.as_deref()?;
        any.downcast_ref::<T>()
    }
}

/// Largest single write into an outgoing body. Some hosts buffer only one chunk of a body at a
/// time, so the component must stream in pieces this size; holding it to that here keeps it honest.
pub const MAX_BODY_WRITE: usize = 4096;

impl WasiHttpHooks for Hooks {
    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        MAX_BODY_WRITE
    }

    fn send_request(
        &mut self,
        request: hyper::Request<WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        _ = fut;
        if !self.allow.permits(request.uri()) {
            // Log where, never what: query strings and bodies may carry identifiers or secrets.
            tracing::warn!(
                method = %request.method(),
                authority = request.uri().authority().map(|a| a.as_str()).unwrap_or("<none>"),
                "refused outgoing request: not the configured iManage base URL"
            );
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let request = match &self.interceptor {
            None => request,
            Some(interceptor) => match interceptor.intercept(request) {
                Intercepted::Pass(request) => request,
                Intercepted::Answered(answer) => return answer,
            },
        };
        tracing::debug!(method = %request.method(), path = request.uri().path(), "outgoing request");
        let method = request.method().clone();
        let operation = crate::metrics::operation(method.as_str(), request.uri().path());
        // A retry is the same method and URL again after its last attempt failed in a way the
        // component retries. Bodies are streams and cannot be compared, so the failure is what
        // tells a retry from another request to the same URL (eight folders made in one
        // workspace are eight POSTs to one URL, none of them a retry).
        let key = (
            method.clone(),
            request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
        );
        let meter = self.meter.as_ref().map(|m| {
            let repeat = m.failed.lock().is_ok_and(|f| f.contains(&key));
            (
                m.metrics.clone(),
                m.failed.clone(),
                repeat,
                m.tenant.clone(),
            )
        });
        let repeat = meter.as_ref().is_some_and(|(_, _, r, _)| *r);
        // The future runs on a task of its own: it takes the request's span along, so that
        // its log line carries the request id.
        let span = tracing::Span::current();
        let pool = self.pool.clone();
        Box::new(tracing::Instrument::instrument(
            async move {
                let started = std::time::Instant::now();
                let sent = pool.send(request, options).await;
                let elapsed = started.elapsed();
                let status = sent.as_ref().ok().map(|r| r.status().as_u16());
                if let Some((metrics, failed, repeat, tenant)) = &meter {
                    metrics.imanage_request(tenant.as_deref(), operation, *repeat, status, elapsed);
                    if let Ok(mut failed) = failed.lock() {
                        if retryable(status) {
                            failed.insert(key);
                        } else {
                            failed.remove(&key);
                        }
                    }
                }
                // At info, the operation and not the path: paths carry matter and workspace ids
                // (the debug line above has the path, for whoever debugs).
                match status {
                    Some(status) => tracing::info!(
                        %method, operation, status, retry = repeat,
                        elapsed_ms = elapsed.as_millis() as u64, "imanage request"
                    ),
                    None => tracing::warn!(
                        %method, operation, retry = repeat,
                        elapsed_ms = elapsed.as_millis() as u64, "imanage request got no answer"
                    ),
                }
                // The pool's own tasks drive the connection: nothing is left for the caller to
                // await once the head is here.
                let io: Box<dyn Future<Output = _> + Send> = Box::new(async { Ok(()) });
                Ok((sent?, io))
            },
            span,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_base_authority() {
        let a = AllowList::for_base_url(Some("https://firm.cloudimanage.com"));
        let ok = |u: &str| a.permits(&u.parse().unwrap());
        assert!(ok("https://firm.cloudimanage.com/work/api/v2"));
        assert!(ok("https://firm.cloudimanage.com:443/auth/oauth2/token"));
        assert!(!ok("http://firm.cloudimanage.com/work"));
        assert!(!ok("https://evil.example/work"));
        assert!(!ok("https://firm.cloudimanage.com.evil.example/"));
        assert!(!ok("https://firm.cloudimanage.com:8443/"));
        let none = AllowList::for_base_url(None);
        assert!(!none.permits(&"https://firm.cloudimanage.com/".parse().unwrap()));
    }

    #[test]
    fn actionstep_only_when_configured() {
        let base = || AllowList::for_base_url(Some("https://firm.cloudimanage.com"));
        let config = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v)
        };
        let ok = |a: &AllowList, u: &str| a.permits(&u.parse().unwrap());
        let off = base().with_actionstep(config(&[(
            "actionstep_token_url",
            "https://go.actionstep.com",
        )]));
        assert!(!ok(&off, "https://go.actionstep.com/api/oauth/token"));
        let cloud = base().with_actionstep(config(&[("actionstep_client_id", "app")]));
        assert!(ok(&cloud, "https://go.actionstep.com/api/oauth/token"));
        assert!(ok(
            &cloud,
            "https://ap-southeast-2.actionstep.com/api/rest/actions/1"
        ));
        assert!(!ok(
            &cloud,
            "http://ap-southeast-2.actionstep.com/api/rest/actions/1"
        ));
        assert!(!ok(&cloud, "https://actionstep.com.evil.example/api/"));
        assert!(ok(&cloud, "https://firm.cloudimanage.com/work"));
        let pinned = base().with_actionstep(config(&[
            ("actionstep_client_id", "app"),
            (
                "actionstep_token_url",
                "http://127.0.0.1:8099/actionstep/api/oauth/token",
            ),
            (
                "actionstep_api_base",
                "http://127.0.0.1:8099/actionstep/api/",
            ),
        ]));
        assert!(ok(
            &pinned,
            "http://127.0.0.1:8099/actionstep/api/rest/actions/1"
        ));
        assert!(!ok(
            &pinned,
            "https://ap-southeast-2.actionstep.com/api/rest/actions/1"
        ));
    }

    #[test]
    fn plain_http_only_to_loopback_and_never_with_credentials() {
        let permits = |base: &str, uri: &str| {
            AllowList::for_base_url(Some(base)).permits(&uri.parse().unwrap())
        };
        assert!(permits(
            "http://127.0.0.1:8099",
            "http://127.0.0.1:8099/auth"
        ));
        assert!(permits(
            "http://localhost:8099",
            "http://localhost:8099/auth"
        ));
        assert!(permits("http://[::1]:8099", "http://[::1]:8099/auth"));
        assert!(!permits(
            "http://firm.example.com",
            "http://firm.example.com/auth"
        ));
        assert!(!permits(
            "http://10.0.0.5:8080",
            "http://10.0.0.5:8080/auth"
        ));
        assert!(!permits(
            "https://svc:hunter2@firm.example.com",
            "https://firm.example.com/auth"
        ));
        assert_eq!(
            check_base_url("http://firm.example.com"),
            Err(BaseUrlRefusal::PlainHttp)
        );
        assert_eq!(
            check_base_url("https://svc:hunter2@firm.example.com"),
            Err(BaseUrlRefusal::Credentials)
        );
        assert_eq!(
            check_base_url("ftp://firm.example.com"),
            Err(BaseUrlRefusal::NotAUrl)
        );
        let refusal = check_base_url("https://svc:hunter2@firm.example.com").unwrap_err();
        assert!(!refusal.to_string().contains("hunter2"));
    }

    /// Answers `POST`s itself with 418, lets the rest through, and notes what it saw.
    #[derive(Default)]
    struct Teapot {
        seen: std::sync::Mutex<Vec<String>>,
    }

    impl Interceptor for Teapot {
        fn intercept(&self, request: hyper::Request<WasiBody>) -> Intercepted {
            self.seen.lock().unwrap().push(request.uri().to_string());
            if request.method() != hyper::Method::POST {
                return Intercepted::Pass(request);
            }
            Intercepted::Answered(Box::new(async {
                let response = hyper::Response::builder()
                    .status(418)
                    .body(empty())
                    .unwrap();
                let io: Box<dyn Future<Output = _> + Send> = Box::new(async { Ok(()) });
                Ok((response, io))
            }))
        }
    }

    fn empty() -> WasiBody {
        use http_body_util::BodyExt;
        http_body_util::Empty::new()
            .map_err(|never| match never {})
            .boxed_unsync()
    }

    async fn send(hooks: &mut Hooks, method: hyper::Method, uri: &str) -> SendResult {
        let request = hyper::Request::builder()
            .method(method)
            .uri(uri)
            .body(empty())
            .unwrap();
        let io: Box<dyn Future<Output = _> + Send> = Box::new(async { Ok(()) });
        Box::into_pin(hooks.send_request(request, None, io)).await
    }

    #[tokio::test]
    async fn the_allow_list_comes_first_then_the_interceptor_answers_or_passes() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // iManage stands in as a listener that answers one request with 204.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = vec![0; 4096];
            let n = conn.read(&mut buf).await.unwrap();
            conn.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        let teapot = Arc::new(Teapot::default());
        let mut hooks = Hooks {
            allow: AllowList::for_base_url(Some(&base)),
            interceptor: Some(teapot.clone()),
            meter: None,
            pool: HttpPool::default(),
        };

        let denied = send(
            &mut hooks,
            hyper::Method::POST,
            "http://elsewhere.example/x",
        )
        .await;
        assert!(matches!(
            denied,
            Err(wasmtime_wasi_http::Error::HttpRequestDenied)
        ));
        assert!(
            teapot.seen.lock().unwrap().is_empty(),
            "refused before the interceptor"
        );

        let (answered, _) = send(&mut hooks, hyper::Method::POST, &format!("{base}/planned"))
            .await
            .unwrap();
        assert_eq!(answered.status(), 418);

        let (passed, _) = send(&mut hooks, hyper::Method::GET, &format!("{base}/read"))
            .await
            .unwrap();
        assert_eq!(passed.status(), 204);
        let arrived = server.await.unwrap();
        assert!(arrived.starts_with("GET /read "), "{arrived}");
        assert_eq!(teapot.seen.lock().unwrap().len(), 2);

        assert!(hooks.interceptor::<Teapot>().is_some());
        assert!(hooks.interceptor::<crate::dry_run::Session>().is_none());
    }
}
