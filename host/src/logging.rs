//! What the host's logs may show. wasmtime's generated WASI bindings trace every call the guest
//! makes, with its string arguments and results: the incoming request's path (which for the
//! Actionstep hook is its secret token), header values, URLs. Those targets are silenced
//! whatever the filter asks; the host's own events say what happened without the secrets.

use tracing_subscriber::EnvFilter;

/// Targets never logged: the WASI bindings' call-by-call traces.
pub const SILENCED: &[&str] = &[
    "wasmtime_wasi_http::p2::bindings",
    "wasmtime_wasi::p2::bindings",
    "wasmtime_wasi_io::bindings",
];

/// The filter `directives` (tracing syntax, e.g. `debug`) asks for, with [`SILENCED`] off.
/// An embedder installing its own subscriber should use it, or silence those targets itself.
pub fn filter(directives: &str) -> EnvFilter {
    let mut filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("warn"));
    for target in SILENCED {
        // Added last, it replaces any directive the caller gave for the same target.
        filter = filter.add_directive(format!("{target}=off").parse().expect("a valid directive"));
    }
    filter
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_wasi_bindings_stay_silent_even_when_asked_for() {
        for asked in [
            "trace",
            "wasmtime_wasi_http::p2::bindings=trace",
            "nonsense==",
        ] {
            let shown = super::filter(asked).to_string();
            for target in super::SILENCED {
                assert!(shown.contains(&format!("{target}=off")), "{asked}: {shown}");
                assert!(
                    !shown.contains(&format!("{target}=trace")),
                    "{asked}: {shown}"
                );
            }
        }
    }
}
