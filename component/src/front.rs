//! The one HTTP face of `wasi:http/incoming-handler`: `/admin` and below is the console's
//! (HTML, sessions), everything else the JSON API's (`webhooks`, signed requests). Both are
//! plain Rust; the `wasi` adapter only moves the bytes.

use crate::http_parts::{LimitedBody, Reply};
use crate::platform::Platform;
use crate::webhooks::{self, Head};

/// Answers one incoming request. `read_body` is called at most once, with the route's limit,
/// and only once the route and the caller passed the checks made on the head alone.
pub fn handle(
    p: &dyn Platform,
    head: &Head,
    read_body: impl FnOnce(usize) -> LimitedBody,
) -> Reply {
    if crate::console::owns(head.path()) {
        // The console's answers carry the request id too, to find their log lines.
        let _request = crate::audit::RequestScope::enter(head.header("x-request-id"));
        crate::console::handle(p, head, read_body)
    } else {
        webhooks::handle_streaming(p, head, read_body).into()
    }
}
