//! The console's stylesheet and script, compiled into the component: nothing is fetched from
//! the network, and the Content-Security-Policy allows only these.

use crate::http_parts::Reply;

const FILES: &[(&str, &str, &str)] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console.js"),
    ),
];

/// The asset named `file`, or 404.
pub fn serve(file: &str) -> Reply {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, text)) => Reply::new(200, content_type, text.as_bytes().to_vec()),
        None => Reply::new(404, "text/plain; charset=utf-8", b"no such asset".to_vec()),
    }
}
