//! Outgoing requests over `wasi:http`.

use super::bindings::wasi::http::outgoing_handler;
use super::bindings::wasi::http::types::{Fields, OutgoingBody, OutgoingRequest, RequestOptions};
use super::bindings::wasi::io::streams::StreamError;
use crate::http_parts::{
    self, header_bytes, header_text, read_limited, split_url, with_content_length, READ_CHUNK,
};
use crate::platform::{HttpRequest, HttpResponse, TransportError};

/// Largest response body read from iManage; anything bigger is refused, not buffered.
const MAX_RESPONSE_BYTES: usize = 32 << 20;
const SECOND_NS: u64 = 1_000_000_000;
const MILLISECOND_NS: u64 = 1_000_000;

/// Sends `req` and reads the whole answer.
pub fn send(req: &HttpRequest) -> Result<HttpResponse, TransportError> {
    let bad = |why: String| TransportError::Failed(why);
    let target = split_url(&req.url).map_err(bad)?;
    // A sized body: wasmtime-wasi-http then sends `Content-Length` instead of chunking (see
    // `http_parts::with_content_length`), and holds the guest to writing exactly that many bytes.
    let headers = with_content_length(&req.headers, req.body.len());
    let headers =
        Fields::from_list(&header_bytes(&headers)).map_err(|e| bad(format!("header: {e:?}")))?;
    let out = OutgoingRequest::new(headers);
    out.set_method(&req.method.into())
        .map_err(|_| bad("method".into()))?;
    out.set_scheme(Some(&target.scheme.into()))
        .map_err(|_| bad("scheme".into()))?;
    out.set_authority(Some(&target.authority))
        .map_err(|_| bad("authority".into()))?;
    out.set_path_with_query(Some(&target.path_with_query))
        .map_err(|_| bad("path".into()))?;
    let body = out
        .body()
        .map_err(|_| bad("request body taken twice".into()))?;

    let options = RequestOptions::new();
    // Setting a timeout can be refused by hosts that do not support it; that is harmless.
    let _ = options.set_connect_timeout(Some(10 * SECOND_NS));
    let _ = options.set_first_byte_timeout(Some(req.timeout_ms * MILLISECOND_NS));
    let _ = options.set_between_bytes_timeout(Some(req.timeout_ms * MILLISECOND_NS));

    // Hand the request over before writing the body: hosts may buffer one chunk only.
    let future = outgoing_handler::handle(out, Some(options)).map_err(TransportError::from)?;
    // If the host fails the request (refused destination, connection error) the body
    // stream closes under us; the response future then says why, so wait for it first.
    let mut write_error = None;
    {
        let stream = body
            .write()
            .map_err(|_| bad("request body stream".into()))?;
        for chunk in http_parts::write_chunks(&req.body) {
            if let Err(e) = stream.blocking_write_and_flush(chunk) {
                write_error = Some(format!("writing request body: {e:?}"));
                break;
            }
        }
    }
    if write_error.is_none() {
        if let Err(code) = OutgoingBody::finish(body, None) {
            write_error = Some(format!("finishing request body: {code:?}"));
        }
    }

    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(r))) => r,
        Some(Ok(Err(code))) => return Err(code.into()),
        Some(Err(())) | None => return Err(bad("response already taken".into())),
    };
    if let Some(why) = write_error {
        return Err(bad(why));
    }
    let status = response.status();
    let headers = header_text(response.headers().entries());
    let incoming = response
        .consume()
        .map_err(|_| bad("response body".into()))?;
    let read = {
        // The stream is a child of `incoming` and must be dropped before it.
        let stream = incoming
            .stream()
            .map_err(|_| bad("response stream".into()))?;
        let chunks = std::iter::from_fn(|| match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => Some(Ok(chunk)),
            Err(StreamError::Closed) => None,
            Err(StreamError::LastOperationFailed(e)) => {
                Some(Err(format!("reading response: {}", e.to_debug_string())))
            }
        });
        read_limited(MAX_RESPONSE_BYTES, chunks).map_err(bad)?
    };
    drop(incoming);
    if read.too_large {
        return Err(bad("response body too large".into()));
    }
    Ok(HttpResponse {
        status,
        headers,
        body: read.bytes,
    })
}
