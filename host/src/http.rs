//! Outgoing `wasi:http` for the component, allowed to one authority only: the configured
//! iManage base URL. Everything else is refused with `HttpRequestDenied` (which the component
//! sees as an error) and logged. An allowed request may still be answered by an `Interceptor`
//! instead of being sent (a dry run does that for the requests that would change iManage).

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use wasmtime_wasi_http::{WasiBody, WasiHttpHooks};

/// A response, and the future that finishes its I/O, as `WasiHttpHooks::send_request` returns them.
pub type SendResult = wasmtime_wasi_http::Result<(
    hyper::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
)>;

/// What an `Interceptor` makes of a request.
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
    fn intercept(&self, request: hyper::Request<WasiBody>) -> Intercepted;
}

/// The one destination the component may call, as `scheme://host:port`.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    allowed: Option<(String, String)>,
}

impl AllowList {
    /// From the `imanage_base_url` setting; an unset or unparsable URL allows nothing.
    pub fn for_base_url(base: Option<&str>) -> AllowList {
        let allowed = base
            .and_then(|b| b.parse::<hyper::Uri>().ok())
            .and_then(|u| Some((u.scheme_str()?.to_string(), authority_with_port(&u)?)));
        AllowList { allowed }
    }

    pub fn permits(&self, uri: &hyper::Uri) -> bool {
        match (&self.allowed, uri.scheme_str(), authority_with_port(uri)) {
            (Some((scheme, authority)), Some(s), Some(a)) => {
                scheme.eq_ignore_ascii_case(s) && authority.eq_ignore_ascii_case(&a)
            }
            _ => false,
        }
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
    pub allow: AllowList,
    /// Consulted after the allow list: in a dry run, the session that plans changing requests
    /// instead of sending them.
    pub interceptor: Option<Arc<dyn Interceptor>>,
}

impl Hooks {
    /// The interceptor, if there is one and it is a `T`.
    pub fn interceptor<T: Interceptor>(&self) -> Option<&T> {
        let any: &dyn Any = self.interceptor.as_deref()?;
        any.downcast_ref::<T>()
    }
}

/// Largest single write into an outgoing body. Hosts may buffer one chunk only (wasm-notes.md),
/// so the component must stream in pieces this size; holding it to that here keeps it honest.
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
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
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
}
