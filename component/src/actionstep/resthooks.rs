//! matterlink's own REST hooks in Actionstep: installed (`POST rest/resthooks`), listed and
//! removed, and checked. A hook's target is `{public URL}/v1/actionstep/{actionstep_token}`;
//! the token is a secret, so every target shown has it replaced by `<redacted>`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::client::Actionstep;
use crate::model::{Error, Result};
use crate::platform::Platform;
use crate::settings::{self, ActionstepApi, Settings};

/// The events matterlink follows.
pub const EVENTS: &[&str] = &[
    "ActionCreated",
    "ActionUpdated",
    "ActionParticipantAdded",
    "ActionParticipantDeleted",
];

/// A REST hook subscription as matterlink shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hook {
    /// Actionstep's id of the hook.
    pub id: String,
    /// The event it delivers, e.g. `ActionCreated`.
    pub event_name: String,
    /// Where it delivers, with matterlink's token shown as `<redacted>` (another integration's
    /// target by its origin only).
    pub target_url: String,
    /// `Active`, or whatever Actionstep says once it switched the hook off (`Disabled`).
    pub status: String,
    /// It delivers to this matterlink (its target ends in this `actionstep_token`).
    pub ours: bool,
}

impl Hook {
    /// Actionstep still delivers it.
    pub fn active(&self) -> bool {
        self.status.eq_ignore_ascii_case("active")
    }
}

const ROUTE: &str = "/v1/actionstep/";

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The hooks as Actionstep lists them, `token` marking (and hiding) matterlink's own.
fn read(v: &Value, token: &str) -> Vec<Hook> {
    let items: Vec<&Value> = match v.get("resthooks") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        _ => Vec::new(),
    };
    items
        .into_iter()
        .map(|h| {
            let target = text(h, "targetUrl");
            let ours = target.ends_with(&format!("{ROUTE}{token}"));
            // Another integration's target may hold its own secret in its path or query: only
            // its origin is shown.
            let target_url = match target.find(ROUTE) {
                Some(at) => format!("{}{ROUTE}<redacted>", &target[..at]),
                None => match url::Url::parse(&target) {
                    Ok(u) => format!("{}/…", u.origin().ascii_serialization()),
                    Err(_) => "<not a URL>".into(),
                },
            };
            let status = text(h, "status");
            Hook {
                id: text(h, "id"),
                event_name: text(h, "eventName"),
                target_url,
                // A hook listed without a status is taken as delivering (assumed).
                status: if status.is_empty() {
                    "Active".into()
                } else {
                    status
                },
                ours,
            }
        })
        .collect()
}

struct Hooks<'a> {
    client: Actionstep<'a>,
    token: String,
}

fn open<'a>(p: &'a dyn Platform, s: &'a Settings, api: &'a ActionstepApi) -> Result<Hooks<'a>> {
    Ok(Hooks {
        client: Actionstep::new(p, s, api),
        token: settings::shared_secret(p, "actionstep_token")?,
    })
}

impl Hooks<'_> {
    fn all(&self) -> Result<Vec<Hook>> {
        Ok(read(&self.client.get("resthooks")?, &self.token))
    }
}

/// The public URL matterlink is reached at: https (or http on this machine, for tests), no
/// query, fragment or credentials.
fn check_public_url(raw: &str) -> Result<String> {
    let bad = |why: &str| Error::InvalidUrl(format!("the public URL {why}"));
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad("must be https (Actionstep delivers over the internet)")),
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("must not carry a query, fragment or credentials"));
    }
    Ok(raw.trim_end_matches('/').to_string())
}

/// actionstep-hooks-install: every event matterlink follows delivered to `public_url`; a hook
/// Actionstep switched off is replaced. Returns matterlink's hooks afterwards.
pub fn install(p: &dyn Platform, public_url: &str) -> Result<Vec<Hook>> {
    let base = check_public_url(public_url)?;
    let (s, api) = (Settings::load(p)?, ActionstepApi::require(p)?);
    let hooks = open(p, &s, &api)?;
    let target = format!("{base}{ROUTE}{}", hooks.token);
    let shown = format!("{base}{ROUTE}<redacted>");
    let existing = hooks.all()?;
    for event in EVENTS {
        let mine: Vec<&Hook> = existing
            .iter()
            .filter(|h| h.ours && h.event_name == *event && h.target_url == shown)
            .collect();
        if mine.iter().any(|h| h.active()) {
            continue;
        }
        // Switched off: Actionstep does not turn a hook back on, so it is made anew.
        for h in mine {
            hooks
                .client
                .delete(&format!("resthooks/{}", id_path(&h.id)?))?;
        }
        hooks
            .client
            .post(
                "resthooks",
                &json!({"resthooks": {"eventName": event, "targetUrl": target}}),
            )
            .map_err(|e| without_token(e, &hooks.token))?;
    }
    Ok(hooks.all()?.into_iter().filter(|h| h.ours).collect())
}

/// actionstep-hooks-list: every hook of the organisation, matterlink's marked.
pub fn list(p: &dyn Platform) -> Result<Vec<Hook>> {
    let (s, api) = (Settings::load(p)?, ActionstepApi::require(p)?);
    open(p, &s, &api)?.all()
}

/// actionstep-hooks-remove: matterlink's hooks deleted; returns them.
pub fn remove(p: &dyn Platform) -> Result<Vec<Hook>> {
    let (s, api) = (Settings::load(p)?, ActionstepApi::require(p)?);
    let hooks = open(p, &s, &api)?;
    let mine: Vec<Hook> = hooks.all()?.into_iter().filter(|h| h.ours).collect();
    for h in &mine {
        hooks
            .client
            .delete(&format!("resthooks/{}", id_path(&h.id)?))?;
    }
    Ok(mine)
}

/// `e` with the token taken out of its message: Actionstep's refusal of a hook may quote the
/// target URL back, and the message reaches people.
fn without_token(e: Error, token: &str) -> Error {
    let clean = |m: String| m.replace(token, "<redacted>");
    match e {
        Error::InvalidMatter(m) => Error::InvalidMatter(clean(m)),
        Error::NotConfigured(m) => Error::NotConfigured(clean(m)),
        Error::NotConnected(m) => Error::NotConnected(clean(m)),
        Error::NotLinked(m) => Error::NotLinked(clean(m)),
        Error::InvalidUrl(m) => Error::InvalidUrl(clean(m)),
        Error::Rejected(m) => Error::Rejected(clean(m)),
        Error::Unavailable(m) => Error::Unavailable(clean(m)),
        Error::Skipped(m) => Error::Skipped(clean(m)),
    }
}

fn id_path(id: &str) -> Result<&str> {
    super::names::id_path(id)
}

/// What `check` says of matterlink's hooks: the events without an active hook of ours, and
/// those whose hook Actionstep switched off.
pub fn missing(
    p: &dyn Platform,
    s: &Settings,
    api: &ActionstepApi,
) -> Result<(Vec<String>, Vec<String>)> {
    let all = open(p, s, api)?.all()?;
    let mut missing = Vec::new();
    let mut disabled = Vec::new();
    for event in EVENTS {
        let mine: Vec<&Hook> = all
            .iter()
            .filter(|h| h.ours && h.event_name == *event)
            .collect();
        if mine.iter().any(|h| h.active()) {
            continue;
        }
        if mine.is_empty() {
            missing.push(event.to_string());
        } else {
            disabled.push(event.to_string());
        }
    }
    Ok((missing, disabled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_and_marks_ours() {
        let v = json!({"resthooks": [
            {"id": 1, "eventName": "ActionCreated", "targetUrl": "https://m.example/v1/actionstep/s3cret", "status": "Active"},
            {"id": "2", "eventName": "ActionUpdated", "targetUrl": "https://m.example/v1/actionstep/other", "status": "Disabled"},
            {"id": 3, "eventName": "ActionCreated", "targetUrl": "https://else.example/hook"}
        ]});
        let hooks = read(&v, "s3cret");
        assert!(hooks.iter().all(|h| !h.target_url.contains("s3cret")));
        assert_eq!(
            hooks[0].target_url,
            "https://m.example/v1/actionstep/<redacted>"
        );
        assert_eq!(
            hooks.iter().map(|h| h.ours).collect::<Vec<_>>(),
            vec![true, false, false]
        );
        assert!(!hooks[1].active() && hooks[2].active());
        assert_eq!(hooks[2].target_url, "https://else.example/…");
        assert_eq!(
            read(
                &json!({"resthooks": {"id": 9, "eventName": "ActionCreated"}}),
                "t"
            )
            .len(),
            1
        );
    }

    #[test]
    fn a_refusal_quoting_the_target_does_not_show_the_token() {
        let e = without_token(
            Error::Rejected("400 targetUrl https://m.example/v1/actionstep/s3cret is bad".into()),
            "s3cret",
        );
        assert_eq!(e.kind(), "rejected");
        assert!(!e.message().contains("s3cret") && e.message().contains("<redacted>"));
    }

    #[test]
    fn public_urls_are_https_without_extras() {
        assert_eq!(
            check_public_url("https://m.example/").unwrap(),
            "https://m.example"
        );
        assert!(check_public_url("http://127.0.0.1:8080").is_ok());
        for bad in [
            "http://m.example",
            "https://m.example/?x=1",
            "https://u:p@m.example",
            "nope",
        ] {
            assert_eq!(
                check_public_url(bad).unwrap_err().kind(),
                "invalid-url",
                "{bad}"
            );
        }
    }
}
