//! `matterlink connect`: an administrator's browser sign-in to iManage (OAuth authorization code
//! with PKCE), with the redirect received on a loopback listener (RFC 8252 §7.3).
//!
//! The component does the OAuth work (`connect-begin` makes the state and PKCE verifier and keeps
//! them in key-value; `connect-complete` checks the state and exchanges the code). The host only
//! listens on `http://127.0.0.1:PORT/callback`, hands the browser's answer over and shows the
//! outcome. The callback's query carries the authorization code: it is never logged or printed.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Result;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use matterlink_component::model::{ConnectRequest, Error};

use crate::api::Answer;
use crate::runtime::Runtime;

/// The path iManage redirects to; register `http://127.0.0.1:PORT/callback` with the application.
pub const CALLBACK_PATH: &str = "/callback";
/// How long the listener lets the browser fetch the result page once the sign-in is done.
const PAGE_GRACE: Duration = Duration::from_secs(5);

fn not_connected(message: String) -> Error {
    Error::NotConnected(message)
}

/// The redirect URI for a listener bound on the loopback interface.
pub fn redirect_uri(listener: &TcpListener) -> Result<String> {
    Ok(format!("http://{}{CALLBACK_PATH}", listener.local_addr()?))
}

type Callback = (Option<String>, oneshot::Sender<(StatusCode, String)>);

/// Which service an administrator signs in to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// iManage Work (`connect-begin`, `connect-complete`).
    Imanage,
    /// Actionstep (`actionstep-connect-begin`, `actionstep-connect-complete`).
    Actionstep,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Imanage => "iManage",
            Service::Actionstep => "Actionstep",
        }
    }

    fn command(self) -> &'static str {
        match self {
            Service::Imanage => "matterlink connect",
            Service::Actionstep => "matterlink connect --actionstep",
        }
    }
}

/// Runs one sign-in to iManage: [`run_for`] with [`Service::Imanage`].
pub async fn run(
    runtime: &Runtime,
    listener: TcpListener,
    timeout: Duration,
    show: impl FnOnce(&ConnectRequest),
) -> Result<Answer<String>> {
    run_for(Service::Imanage, runtime, listener, timeout, show).await
}

/// Runs one sign-in: begins it, shows the URL (`show`), waits up to `timeout` for the service's
/// redirect on `listener`, completes it, and answers the browser with the outcome. Returns who
/// or what connected, or why not.
pub async fn run_for(
    service: Service,
    runtime: &Runtime,
    listener: TcpListener,
    timeout: Duration,
    show: impl FnOnce(&ConnectRequest),
) -> Result<Answer<String>> {
    let redirect_uri = redirect_uri(&listener)?;
    let begun = match service {
        Service::Imanage => runtime.connect_begin(&redirect_uri).await?,
        Service::Actionstep => runtime.actionstep_connect_begin(&redirect_uri).await?,
    };
    let request = match begun {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let (name, command) = (service.name(), service.command());
    show(&request);

    let (calls, mut callbacks) = mpsc::channel::<Callback>(4);
    let app = Router::new().route(
        CALLBACK_PATH,
        get(move |RawQuery(query): RawQuery| {
            let calls = calls.clone();
            async move {
                let (reply, answer) = oneshot::channel();
                if calls.send((query, reply)).await.is_err() {
                    return (StatusCode::GONE, Html(page("This sign-in is over.", "")));
                }
                match answer.await {
                    Ok((status, body)) => (status, Html(body)),
                    Err(_) => (StatusCode::GONE, Html(page("This sign-in is over.", ""))),
                }
            }
        }),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let outcome = loop {
        tokio::select! {
            () = &mut deadline => {
                break Err(not_connected(format!(
                    "no answer from {name}'s sign-in page within {} seconds; run `{command}` again",
                    timeout.as_secs()
                )));
            }
            received = callbacks.recv() => {
                let Some((query, reply)) = received else {
                    break Err(not_connected("the sign-in listener stopped".into()));
                };
                let (code, state) = match classify(query.as_deref().unwrap_or_default(), &request.state) {
                    Arrival::Answer { code, state } => (code, state),
                    Arrival::Refused { error, description } => {
                        // iManage's own words about a refused or cancelled sign-in.
                        let e = not_connected(format!(
                            "{name} did not complete the sign-in ({error}: {description}); run `{command}` again"
                        ));
                        let _ = reply.send((StatusCode::OK, page("matterlink is not connected", e.message())));
                        break Err(e);
                    }
                    Arrival::Foreign => {
                        // Another sign-in's answer, or a forged one (an `error=` included): it
                        // must not end this one. (The component checks the state of a code too.)
                        let _ = reply.send((
                            StatusCode::BAD_REQUEST,
                            page("Not this sign-in's answer", &format!("Start again with `{command}`.")),
                        ));
                        continue;
                    }
                    Arrival::Stray => {
                        // Not iManage's answer (a stray request): keep waiting for it.
                        let _ = reply.send((
                            StatusCode::BAD_REQUEST,
                            page("Not a sign-in answer", &format!("This address receives {name}'s sign-in redirect.")),
                        ));
                        continue;
                    }
                };
                let result = match service {
                    Service::Imanage => runtime.connect_complete(&code, &state, &redirect_uri).await?,
                    Service::Actionstep => {
                        runtime.actionstep_connect_complete(&code, &state, &redirect_uri).await?
                    }
                };
                let shown = match &result {
                    Ok(account) => page(
                        &format!("matterlink is connected to {name}"),
                        &match service {
                            Service::Imanage => format!("Signed in as {account}. You can close this window."),
                            Service::Actionstep => format!("Connected to {account}. You can close this window."),
                        },
                    ),
                    Err(e) => page("matterlink is not connected", e.message()),
                };
                let _ = reply.send((StatusCode::OK, shown));
                break result;
            }
        }
    };
    let _ = stop.send(());
    // Let the browser receive its page; a connection it keeps open must not hold us up.
    let _ = tokio::time::timeout(PAGE_GRACE, server).await;
    Ok(outcome)
}

/// What arrived at the callback address.
#[derive(Debug, PartialEq, Eq)]
enum Arrival {
    /// This sign-in's answer: a code to exchange.
    Answer {
        /// The authorization code.
        code: String,
        /// The `state` it came back with (equal to this sign-in's).
        state: String,
    },
    /// iManage says this sign-in was refused or cancelled.
    Refused {
        /// The OAuth error code.
        error: String,
        /// iManage's description, if any.
        description: String,
    },
    /// A code or an error without this sign-in's `state`: another sign-in's, or forged.
    Foreign,
    /// Neither a code nor an error.
    Stray,
}

/// Reads the callback's query. Both a code and an error count only with this sign-in's `state`
/// (compared in constant time): otherwise anyone able to reach the loopback port could end the
/// sign-in with `?error=…`.
fn classify(query: &str, expected_state: &str) -> Arrival {
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let ours = params
        .get("state")
        .is_some_and(|s| matterlink_component::random::same_secret(s, expected_state));
    match (params.get("error"), params.get("code")) {
        (None, None) => Arrival::Stray,
        _ if !ours => Arrival::Foreign,
        (Some(error), _) => Arrival::Refused {
            error: error.clone(),
            description: params.get("error_description").cloned().unwrap_or_default(),
        },
        (None, Some(code)) => Arrival::Answer {
            code: code.clone(),
            state: expected_state.to_string(),
        },
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, text: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family: sans-serif; margin: 3em\"><h1>{t}</h1><p>{x}</p></body></html>",
        t = escape(title),
        x = escape(text)
    )
}

/// Opens `url` in the default browser; failure is fine (the URL is printed as well).
pub fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_sign_ins_state_can_end_it() {
        let state = "s3cr3t-state";
        for query in [
            "error=access_denied",
            "error=access_denied&state=other",
            "error=access_denied&state=",
            "code=abc",
            "code=abc&state=s3cr3t-stat",
            "code=abc&error=x&state=nope",
        ] {
            assert_eq!(classify(query, state), Arrival::Foreign, "{query}");
        }
        assert_eq!(classify("", state), Arrival::Stray);
        assert_eq!(
            classify("favicon=1&state=s3cr3t-state", state),
            Arrival::Stray
        );
        assert_eq!(
            classify(
                "error=access_denied&error_description=no&state=s3cr3t-state",
                state
            ),
            Arrival::Refused {
                error: "access_denied".into(),
                description: "no".into()
            }
        );
        assert_eq!(
            classify("code=abc&state=s3cr3t-state", state),
            Arrival::Answer {
                code: "abc".into(),
                state: state.into()
            }
        );
    }

    #[test]
    fn pages_escape_what_they_show() {
        let shown = page("a <b>", "x & \"y\"");
        assert!(shown.contains("a &lt;b&gt;"));
        assert!(shown.contains("x &amp; &quot;y&quot;"));
    }
}
