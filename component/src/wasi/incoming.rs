//! The `wasi:http` incoming handler (Spin, `matterlink serve`): each request handed to `front`
//! (the JSON API and the console), and its answer written back.

use super::bindings::exports::wasi::http::incoming_handler::Guest as IncomingHandler;
use super::bindings::wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use super::convert::method_name;
use super::exports::Component;
use super::WasiPlatform;
use crate::http_parts::{self, header_text, read_request_body, LimitedBody, READ_CHUNK};
use crate::{front, webhooks};

impl IncomingHandler for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let mut headers = header_text(request.headers().entries());
        // Hosts strip `Host` from the headers (a forbidden header in wasi:http) and give it as
        // the request's authority: the console needs it back, for its cookies' `Secure` and
        // the redirect URI of its OAuth callback.
        if let Some(authority) = request.authority() {
            if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
                headers.push(("host".into(), authority));
            }
        }
        let head = webhooks::Head {
            method: method_name(request.method()),
            target: request.path_with_query().unwrap_or_else(|| "/".into()),
            headers,
        };
        // The body is read only if the route, the caller and the signature's timestamp pass:
        // `webhooks` decides, and calls back here for the bytes.
        let answer = front::handle(&WasiPlatform::new(), &head, |limit| {
            read_body(&request, limit)
        });
        let body_bytes = if head.method == "HEAD" {
            Vec::new()
        } else {
            answer.body
        };
        let fields: Vec<(String, Vec<u8>)> = answer
            .headers
            .into_iter()
            .map(|(k, v)| (k, v.into_bytes()))
            .collect();
        let headers = Fields::from_list(&fields).unwrap_or_else(|_| Fields::new());
        let response = OutgoingResponse::new(headers);
        let _ = response.set_status_code(answer.status);
        let Ok(body) = response.body() else { return };
        ResponseOutparam::set(response_out, Ok(response));
        if let Ok(stream) = body.write() {
            for chunk in http_parts::write_chunks(&body_bytes) {
                if stream.blocking_write_and_flush(chunk).is_err() {
                    break;
                }
            }
        }
        let _ = OutgoingBody::finish(body, None);
    }
}

/// The request body under `limit` (see `http_parts::read_request_body`); a read failure ends
/// the body with what arrived.
fn read_body(request: &IncomingRequest, limit: usize) -> LimitedBody {
    let content_length = request.headers().get("content-length").into_iter().next();
    // Outlives the stream read from it: a WASI stream must be dropped before its body.
    let mut incoming = None;
    read_request_body(content_length.as_deref(), limit, || {
        let stream = incoming.insert(request.consume().ok()?).stream().ok()?;
        Some(std::iter::from_fn(move || {
            stream.blocking_read(READ_CHUNK).ok()
        }))
    })
}
