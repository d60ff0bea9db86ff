//! check-connection: each thing the integration needs, checked for real, with ✓/✗ and what
//! to do about a ✗.

use crate::auth::record::TokenRecord;
use crate::auth::session;
use crate::fields::{FieldKind, MappableField};
use crate::imanage::{json, Imanage};
use crate::model::{Error, Result};
use crate::platform::Platform;
use crate::settings::{Auth, Settings};

/// One line of the report: what was checked, how it went, and for a ✗ what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `✓` passed, `⚠` works through a fallback, `✗` failed.
    pub mark: char,
    /// What was checked (`configuration`, `token`, `library`, `template Litigation`, …).
    pub what: String,
    /// What was found (for a ✗, the error's message without its own advice).
    pub detail: String,
    /// For a ✗, what to do about it.
    pub fix: Option<String>,
}

impl Line {
    /// Whether the check passed (a ⚠ fallback counts: it works).
    pub fn ok(&self) -> bool {
        self.mark != '✗'
    }

    /// A line as `feed::source::check` writes it: `✓ what: detail`.
    fn parse(text: &str) -> Line {
        let mark = text.chars().next().unwrap_or('✓');
        let rest = text[mark.len_utf8()..].trim_start();
        let (what, detail) = rest.split_once(": ").unwrap_or((rest, ""));
        Line {
            mark,
            what: what.to_string(),
            detail: detail.to_string(),
            fix: None,
        }
    }
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.mark, self.what, self.detail)?;
        match &self.fix {
            Some(fix) => write!(f, " — {fix}"),
            None => Ok(()),
        }
    }
}

/// The checks made, in order, and the first failure's error.
pub struct Report {
    /// Every line, in the order the checks ran.
    pub lines: Vec<Line>,
    /// The first ✗'s error, which decides the kind of `check_connection`'s error.
    pub first_failure: Option<Error>,
}

impl Report {
    fn pass(&mut self, what: &str, detail: String) {
        self.lines.push(Line {
            mark: '✓',
            what: what.into(),
            detail,
            fix: None,
        });
    }

    fn fail(&mut self, what: &str, error: Error, fix: &str) {
        self.lines.push(Line {
            mark: '✗',
            what: what.into(),
            detail: without_advice(error.message()).to_string(),
            fix: Some(fix.to_string()),
        });
        self.first_failure.get_or_insert(error);
    }
}

/// An error's message without the advice it ends with (`…; check imanage_username, …`,
/// `…; an administrator must run \`matterlink connect\` …`): elsewhere that advice is all a
/// reader gets, but a check line gives its own fix after the dash, and saying it twice in other
/// words reads as two things to do.
fn without_advice(message: &str) -> &str {
    const ADVICE: [&str; 5] = ["check ", "run ", "set ", "an administrator must ", "use "];
    match message.rfind("; ") {
        Some(at) if ADVICE.iter().any(|a| message[at + 2..].starts_with(a)) => &message[..at],
        _ => message,
    }
}

/// The kinds of custom field each matter field can be written to.
fn fits(field: MappableField, kind: FieldKind) -> bool {
    field.can_be(kind)
}

/// `42 seconds`, `90 minutes`, `365 days`: lifetimes as people configure them.
fn human(seconds: u64) -> String {
    let (n, unit) = match seconds {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The token line: the lifetimes iManage reported at the last grant. An OAuth connection
/// without a refresh token ends with its access token, which is worth a ✗.
fn token_lifetimes(r: &mut Report, s: &Settings, t: &TokenRecord) {
    let access = format!("access {}", human(t.access_lifetime_s));
    match (&t.refresh_token, t.refresh_lifetime_s) {
        (Some(_), Some(life)) => r.pass(
            "token",
            format!("{access}, refresh {}, as iManage reports them", human(life)),
        ),
        (Some(_), None) => r.pass(
            "token",
            format!("{access} as iManage reports it; refresh allowed, its lifetime not reported"),
        ),
        (None, _) if matches!(s.auth, Auth::ServiceAccount { .. }) => r.pass(
            "token",
            format!("{access}, no refresh token: the service account signs in again with its password"),
        ),
        (None, _) => r.fail(
            "token",
            Error::NotConnected(format!(
                "{access}, but iManage issued no refresh token, so the connection ends when the access token expires"
            )),
            "allow refresh for the application in iManage Control Center (Actionstep recommends access 90 minutes, refresh 365 days), then run `matterlink connect`",
        ),
    }
}

/// `Ok(report)` when every check passes; otherwise the error of the first failure, whose
/// message is the whole report.
pub fn check_connection(p: &dyn Platform) -> Result<String> {
    finish(report(p))
}

/// Every check, as structured lines (the console's Verify table); `check_connection` is this
/// report as text.
pub fn report(p: &dyn Platform) -> Report {
    let mut r = Report {
        lines: Vec::new(),
        first_failure: None,
    };
    let s = match Settings::load(p) {
        Ok(s) => {
            r.pass(
                "configuration",
                format!(
                    "loaded ({} at {}, {})",
                    s.library,
                    s.base_url,
                    s.auth.label()
                ),
            );
            s
        }
        Err(e) => {
            r.fail("configuration", e, "set the key named, then check again");
            return r;
        }
    };
    // A service account proves its password now; an OAuth connection uses (and if due,
    // refreshes) the tokens it has, which is what every call does.
    let signed_in = match &s.auth {
        Auth::ServiceAccount { .. } => session::sign_in_with_password(p, &s).map(|_| ()),
        Auth::OAuth => session::access_token(p, &s).map(|_| ()),
    };
    if let Err(e) = signed_in {
        match s.auth {
            Auth::OAuth => r.fail("connected", e, "run `matterlink connect` and sign in to iManage"),
            Auth::ServiceAccount { .. } => r.fail(
                "token",
                e,
                "check imanage_username, imanage_password, imanage_client_id and imanage_client_secret",
            ),
        }
        return r;
    }
    let api = Imanage::new(p, &s);
    // Asked afresh: it proves the token works, and shows what iManage says today.
    let discovery = match api.discover() {
        Ok(d) => d,
        Err(e) => {
            let fix = match e {
                Error::NotConnected(_) => "run `matterlink connect` and sign in to iManage",
                _ => "check imanage_base_url and that the service is up",
            };
            r.fail("discovery", e, fix);
            return r;
        }
    };
    if let Ok(Some(t)) = session::current(p) {
        token_lifetimes(&mut r, &s, &t);
    }
    r.pass(
        "connected",
        format!("{} ({})", discovery.account, s.auth.label()),
    );
    r.pass(
        "discovery",
        format!(
            "customer {}, libraries {}",
            discovery.customer_id,
            discovery.libraries.join(", ")
        ),
    );
    let mut usable = Vec::new();
    for library in s.libraries() {
        let what = if library.eq_ignore_ascii_case(&s.library) {
            "library".to_string()
        } else {
            format!("library {library} (library_routes)")
        };
        if discovery.has_library(library) {
            r.pass(
                &what,
                format!("{library} is available to {}", discovery.account),
            );
            usable.push(library);
        } else {
            let setting = if what == "library" {
                "set imanage_library"
            } else {
                "fix library_routes"
            };
            r.fail(
                &what,
                Error::NotConfigured(format!("{library} is not among the account's libraries")),
                &format!("{setting} to one of the libraries listed under discovery"),
            );
        }
    }
    let mut by_library: Vec<(&str, &std::collections::BTreeMap<String, String>)> =
        vec![(&s.library, &s.templates)];
    by_library.extend(
        s.library_routes
            .iter()
            .map(|route| (route.library.as_str(), &route.templates)),
    );
    if by_library.iter().all(|(_, t)| t.is_empty()) {
        r.pass(
            "templates",
            "none configured: every matter type gets a plain workspace".into(),
        );
    }
    for (library, templates) in by_library {
        if templates.is_empty() || !usable.contains(&library) {
            continue;
        }
        let suffix = if library.eq_ignore_ascii_case(&s.library) {
            String::new()
        } else {
            format!(" in {library}")
        };
        let lib_api = Imanage::in_library(p, &s, library);
        match lib_api.list_all("/templates", &[]) {
            Ok(list) => {
                let known: Vec<String> = list
                    .iter()
                    .filter_map(|t| json::str_field(t, "id").map(String::from))
                    .collect();
                for (matter_type, id) in templates {
                    let what = format!("template {matter_type}{suffix}");
                    if known.iter().any(|k| k.eq_ignore_ascii_case(id)) {
                        r.pass(&what, format!("{id} exists"));
                    } else {
                        r.fail(
                            &what,
                            Error::NotConfigured(format!(
                                "{id} is not a template of library {library}"
                            )),
                            "use an id from the library's templates",
                        );
                    }
                }
            }
            Err(e) => r.fail(
                &format!("templates{suffix}"),
                e,
                "the account needs to read the library's templates",
            ),
        }
    }
    for (field, custom) in &s.field_map {
        let what = format!("field {}", field.label());
        if fits(*field, custom.kind()) {
            r.pass(&what, format!("{} ({:?})", custom.name(), custom.kind()));
        } else {
            r.fail(
                &what,
                Error::NotConfigured(format!("{} is a {:?} field", custom.name(), custom.kind())),
                "map it to a text (custom13..16, custom31) or lookup field in `field_map`",
            );
        }
    }
    match crate::feed::source::check(p, &api) {
        Ok(line) => r.lines.push(Line::parse(&line)),
        Err((e, fix)) => r.fail("change feed", e, &fix),
    }
    actionstep(p, &s, &mut r);
    r
}

/// The Actionstep connection, when the API is configured: a cheap read proves the token (and
/// refreshes it when due, as every lookup would).
fn actionstep(p: &dyn Platform, s: &Settings, r: &mut Report) {
    use crate::actionstep::{auth, client::Actionstep};
    let api = match crate::settings::ActionstepApi::load(p) {
        Ok(Some(api)) => api,
        Ok(None) => return,
        Err(e) => return r.fail("actionstep", e, "fix the actionstep_* setting named"),
    };
    let fix = "run `matterlink connect --actionstep` and sign in to Actionstep";
    match Actionstep::new(p, s, &api).get("participanttypes") {
        Ok(_) => match auth::current(p) {
            Ok(Some(t)) => {
                r.pass(
                    "actionstep",
                    format!(
                        "connected to {} at {}",
                        t.orgkey.as_deref().unwrap_or("Actionstep"),
                        api.api_base.as_deref().unwrap_or(&t.api_endpoint)
                    ),
                );
                actionstep_hooks(p, s, &api, r);
            }
            Ok(None) => r.fail(
                "actionstep",
                auth::reconnect("no connection is stored"),
                fix,
            ),
            Err(e) => r.fail("actionstep", e, fix),
        },
        Err(e @ Error::NotConnected(_)) => r.fail("actionstep", e, fix),
        Err(e) => r.fail(
            "actionstep",
            e,
            "check actionstep_api_base and that Actionstep is up",
        ),
    }
}

/// matterlink's REST hooks in Actionstep: one active per event it follows.
fn actionstep_hooks(
    p: &dyn Platform,
    s: &Settings,
    api: &crate::settings::ActionstepApi,
    r: &mut Report,
) {
    use crate::actionstep::resthooks;
    let install = "run `matterlink actionstep hooks install https://<matterlink's public URL>`";
    match resthooks::missing(p, s, api) {
        Ok((missing, disabled)) if missing.is_empty() && disabled.is_empty() => r.pass(
            "actionstep hooks",
            format!("{} active", resthooks::EVENTS.join(", ")),
        ),
        Ok((missing, disabled)) => {
            let mut why = Vec::new();
            if !missing.is_empty() {
                why.push(format!("missing: {}", missing.join(", ")));
            }
            if !disabled.is_empty() {
                why.push(format!(
                    "switched off by Actionstep (it answered a delivery with something other than 200): {}",
                    disabled.join(", ")
                ));
            }
            r.fail(
                "actionstep hooks",
                Error::NotConfigured(why.join("; ")),
                &format!("{install} to install or restore them"),
            )
        }
        Err(e) => r.fail("actionstep hooks", e, install),
    }
}

fn finish(r: Report) -> Result<String> {
    let text = r
        .lines
        .iter()
        .map(Line::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    match r.first_failure {
        None => Ok(text),
        Some(Error::NotConnected(_)) => Err(Error::NotConnected(text)),
        Some(Error::Unavailable(_)) => Err(Error::Unavailable(text)),
        Some(_) => Err(Error::NotConfigured(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    #[test]
    fn a_broken_configuration_is_reported_with_its_fix() {
        let p = FakePlatform::configured();
        p.unset_config("imanage_username");
        let err = check_connection(&p).unwrap_err();
        assert!(
            matches!(&err, Error::NotConfigured(m) if m.starts_with("✗ configuration") && m.contains("imanage_username")),
            "{err}"
        );
    }

    #[test]
    fn an_unreachable_server_fails_the_token_check() {
        let p = FakePlatform::configured();
        let err = check_connection(&p).unwrap_err();
        let text = err.message();
        assert!(text.contains("✓ configuration"), "{text}");
        assert!(text.contains("✗ token"), "{text}");
    }

    #[test]
    fn an_unconnected_oauth_integration_is_told_to_connect() {
        let p = FakePlatform::configured();
        p.set_config("imanage_auth", "oauth");
        let err = check_connection(&p).unwrap_err();
        let text = err.message();
        assert!(matches!(err, Error::NotConnected(_)), "{err}");
        assert!(text.contains("✗ connected"), "{text}");
        // Told once: the error's own advice gives way to the check's fix.
        assert_eq!(text.matches("matterlink connect").count(), 1, "{text}");
        assert!(p.sent.borrow().is_empty(), "nothing to ask iManage");
    }

    #[test]
    fn a_refused_password_is_told_its_fix_once() {
        let p = FakePlatform::configured();
        p.respond_with(|_| crate::platform::HttpResponse {
            status: 400,
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"error": "invalid_grant", "error_description": "bad password"}"#.to_vec(),
        });
        let text = check_connection(&p).unwrap_err().message().to_string();
        let line = text
            .lines()
            .find(|l| l.starts_with("✗ token"))
            .expect(&text);
        assert!(line.contains("bad password"), "{line}");
        assert_eq!(line.matches("imanage_password").count(), 1, "{line}");
    }

    #[test]
    fn the_report_is_the_text_line_by_line() {
        let p = FakePlatform::configured();
        let r = report(&p);
        assert_eq!(r.lines[0].mark, '✓');
        assert_eq!(r.lines[0].what, "configuration");
        let bad = &r.lines[1];
        assert!(!bad.ok());
        assert_eq!(bad.what, "token");
        assert!(bad.fix.as_deref().unwrap().contains("imanage_password"));
        let text = check_connection(&p).unwrap_err().message().to_string();
        let joined: Vec<String> = r.lines.iter().map(Line::to_string).collect();
        assert_eq!(text, joined.join("\n"));
        let parsed = Line::parse("✓ change feed: Sync API crawl");
        assert_eq!(
            (parsed.mark, parsed.what.as_str(), parsed.detail.as_str()),
            ('✓', "change feed", "Sync API crawl")
        );
    }

    #[test]
    fn advice_is_cut_only_at_its_own_start() {
        assert_eq!(without_advice("refused (x); check a and b"), "refused (x)");
        assert_eq!(
            without_advice("expired; an administrator must run `matterlink connect`"),
            "expired"
        );
        // A list in a message is not advice.
        assert_eq!(without_advice("libraries A; B"), "libraries A; B");
    }

    #[test]
    fn lifetimes_read_as_configured() {
        assert_eq!(human(5400), "90 minutes");
        assert_eq!(human(365 * 86_400), "365 days");
        assert_eq!(human(7200), "2 hours");
        assert_eq!(human(61), "61 seconds");
        assert_eq!(human(60), "1 minute");
    }

    #[test]
    fn field_kinds_that_fit() {
        assert!(fits(MappableField::Priority, FieldKind::Integer));
        assert!(!fits(MappableField::Title, FieldKind::Integer));
        assert!(fits(MappableField::Status, FieldKind::Boolean));
        assert!(!fits(MappableField::Title, FieldKind::Boolean));
    }
}
