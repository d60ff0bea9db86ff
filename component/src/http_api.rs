//! The routes of `wasi:http/incoming-handler`, as plain Rust: the binding layer only moves
//! bytes in and out.

use serde_json::{json, Value};

use crate::platform::Platform;
use crate::settings::Settings;

pub struct Response {
    pub status: u16,
    pub body: Value,
}

fn error(status: u16, kind: &str, message: &str) -> Response {
    Response {
        status,
        body: json!({"error": {"kind": kind, "message": message}}),
    }
}

pub fn handle(p: &dyn Platform, method: &str, path_and_query: &str) -> Response {
    let path = path_and_query.split('?').next().unwrap_or_default();
    match path {
        "/v1/health" => match method {
            "GET" => health(p),
            _ => error(405, "method-not-allowed", "use GET"),
        },
        _ => error(404, "not-found", &format!("no route {path}")),
    }
}

/// Liveness plus whether the configuration loads; never contacts iManage, so it stays cheap
/// enough for a load balancer to call every few seconds.
fn health(p: &dyn Platform) -> Response {
    let (configured, problem) = match Settings::load(p) {
        Ok(_) => (true, None),
        Err(e) => (false, Some(e.message().to_string())),
    };
    Response {
        status: 200,
        body: json!({
            "status": "ok",
            "component": "matterlink",
            "version": env!("CARGO_PKG_VERSION"),
            "configured": configured,
            "configuration_problem": problem,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    #[test]
    fn routes() {
        let p = FakePlatform::configured();
        let r = handle(&p, "GET", "/v1/health?x=1");
        assert_eq!(r.status, 200);
        assert_eq!(r.body["configured"], true);
        assert_eq!(handle(&p, "POST", "/v1/health").status, 405);
        let r = handle(&p, "GET", "/nope");
        assert_eq!(r.status, 404);
        assert_eq!(r.body["error"]["kind"], "not-found");
        p.unset_config("imanage_base_url");
        let r = handle(&p, "GET", "/v1/health");
        assert_eq!(r.body["configured"], false);
    }
}
