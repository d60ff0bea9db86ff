//! Outgoing requests over `wasi:http`.

use super::bindings::wasi::http::outgoing_handler;
use super::bindings::wasi::http::types::{
    Fields, FutureIncomingResponse, OutgoingBody, OutgoingRequest, RequestOptions,
};
use super::bindings::wasi::io::poll;
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
    finish(start(req)?)
}

/// Sends every request before waiting for any answer, then reads each answer as it comes
/// (`wasi:io/poll` over all the response futures); answers in the order of `requests`. Each
/// request keeps its own timeouts and body limit, as `send` sets them.
pub fn send_all(requests: &[HttpRequest]) -> Vec<Result<HttpResponse, TransportError>> {
    if let [one] = requests {
        return vec![send(one)];
    }
    let mut answers: Vec<Option<Result<HttpResponse, TransportError>>> =
        requests.iter().map(|_| None).collect();
    let mut waiting = Vec::new();
    for (i, req) in requests.iter().enumerate() {
        match start(req) {
            Ok(started) => waiting.push((i, started)),
            Err(e) => answers[i] = Some(Err(e)),
        }
    }
    while !waiting.is_empty() {
        let ready = {
            // Pollables are children of their futures and are dropped before them.
            let pollables: Vec<_> = waiting.iter().map(|(_, s)| s.future.subscribe()).collect();
            let refs: Vec<_> = pollables.iter().collect();
            poll::poll(&refs)
        };
        // Highest index first, so that removing one leaves the others' indices as they were.
        let mut ready: Vec<usize> = ready.into_iter().map(|r| r as usize).collect();
        ready.sort_unstable_by(|a, b| b.cmp(a));
        ready.dedup();
        for r in ready {
            let (i, started) = waiting.remove(r);
            answers[i] = Some(finish(started));
        }
    }
    answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(TransportError::Failed("no answer".into()))))
        .collect()
}

/// A request handed to the host, its body written, its answer not yet read.
struct Started {
    future: FutureIncomingResponse,
    /// Why writing the body failed, if it did: reported once the answer says whether the
    /// host failed the request first.
    write_error: Option<String>,
}

/// Hands `req` to the host and writes its body; the answer is `finish`'s.
fn start(req: &HttpRequest) -> Result<Started, TransportError> {
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

    Ok(Started {
        future,
        write_error,
    })
}

/// Waits for a started request's answer and reads its whole body.
fn finish(started: Started) -> Result<HttpResponse, TransportError> {
    let bad = |why: String| TransportError::Failed(why);
    let Started {
        future,
        write_error,
    } = started;
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
