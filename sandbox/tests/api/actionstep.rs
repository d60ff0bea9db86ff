//! The Actionstep emulator over real HTTP: OAuth with PKCE, the REST reads with `linked`
//! records, and REST hooks delivered and switched off as Actionstep does.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use imanage_sandbox::actionstep::{seed, CLIENT_ID, CLIENT_SECRET, ORG_KEY};
use imanage_sandbox::Sandbox;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-and-some-more";

/// What a target answers, and the bodies it got.
type Shared = (Arc<AtomicU16>, Arc<Mutex<Vec<Value>>>);

/// A hook target answering the status in `status`, keeping every body it gets.
struct Target {
    url: String,
    status: Arc<AtomicU16>,
    bodies: Arc<Mutex<Vec<Value>>>,
}

async fn target() -> Target {
    let status = Arc::new(AtomicU16::new(200));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let app =
        axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(
                    |State((status, bodies)): State<Shared>,
                     axum::Json(body): axum::Json<Value>| async move {
                        bodies.lock().unwrap().push(body);
                        AxumStatus::from_u16(status.load(Ordering::SeqCst)).unwrap()
                    },
                ),
            )
            .with_state((status.clone(), bodies.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Target {
        url,
        status,
        bodies,
    }
}

/// Signs in through the code flow; the access token and the token answer.
async fn sign_in(http: &reqwest::Client, base: &str) -> Value {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let redirect = "http://127.0.0.1:9/callback";
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authorize = |method: Option<&str>| {
        let mut url = url::Url::parse(&format!("{base}/api/oauth/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", redirect)
            .append_pair("state", "xyz")
            .append_pair("code_challenge", &challenge);
        if let Some(m) = method {
            url.query_pairs_mut()
                .append_pair("code_challenge_method", m);
        }
        url
    };
    // PKCE with S256 is required.
    let plain = no_redirects.get(authorize(None)).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::BAD_REQUEST);
    let r = no_redirects
        .get(authorize(Some("S256")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "xyz");
    let token = |verifier: &str, code: &str| {
        http.post(format!("{base}/api/oauth/token")).form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("code_verifier", verifier),
        ])
    };
    let wrong = token("x".repeat(43).as_str(), &q["code"])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    // The code was spent by the wrong verifier: sign in again.
    let r = no_redirects
        .get(authorize(Some("S256")))
        .send()
        .await
        .unwrap();
    let to = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let code = to
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let answer: Value = token(VERIFIER, &code)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["api_endpoint"], format!("{base}/api/"));
    assert_eq!(answer["orgkey"], ORG_KEY);
    answer
}

#[tokio::test]
async fn oauth_reads_and_hooks_as_actionstep() {
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), Default::default())
        .await
        .unwrap();
    let base = sandbox.actionstep_url();
    let http = reqwest::Client::new();
    let grant = sign_in(&http, &base).await;
    let api = grant["api_endpoint"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {}", grant["access_token"].as_str().unwrap());
    let get = |path: &str| {
        http.get(format!("{api}rest/{path}"))
            .header("authorization", &bearer)
            .header("accept", "application/vnd.api+json")
    };
    assert_eq!(
        http.get(format!("{api}rest/actions/1042"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );

    let action: Value = get("actions/1042?include=actionType,assignedTo")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(action["actions"]["name"], "Ngāta v Tūhoe Holdings");
    assert_eq!(action["linked"]["actiontypes"][0]["name"], "Litigation");
    assert_eq!(
        action["linked"]["participants"][0]["email"],
        "jsmith@sandbox.example"
    );
    let clients: Value = get(&format!(
        "actionparticipants?action=1043&participantType={}&include=participant",
        seed::CLIENT_TYPE
    ))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        clients["actionparticipants"][0]["links"]["participant"],
        "5121"
    );
    assert_eq!(
        clients["linked"]["participants"][0]["companyName"],
        "Müller & Söhne GmbH"
    );
    assert_eq!(clients["linked"]["participants"][0]["isCompany"], "T");

    // Hooks: registered, delivered, and switched off as Actionstep does.
    let t = target().await;
    let mut ids = Vec::new();
    for event in ["ActionCreated", "ActionUpdated"] {
        let r = http
            .post(format!("{api}rest/resthooks"))
            .header("authorization", &bearer)
            .json(&json!({"resthooks": {"eventName": event, "targetUrl": t.url}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let hook: Value = r.json().await.unwrap();
        ids.push(hook["resthooks"]["id"].as_u64().unwrap());
    }
    let admin = |path: &str| format!("{base}/admin{path}");
    let created: Value = http
        .post(admin("/actions"))
        .json(
            &json!({"name": "Brontë v Café", "actionType": seed::LITIGATION,
            "assignedTo": seed::JANE_SMITH, "clients": [seed::ZOE]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["deliveries"][0]["status"], 200, "{created}");
    let id = created["action"]["id"].as_u64().unwrap();
    assert_eq!(t.bodies.lock().unwrap()[0]["actions"][0]["id"], id);

    t.status.store(500, Ordering::SeqCst);
    let changed: Value = http
        .patch(admin(&format!("/actions/{id}")))
        .json(&json!({"status": "Closed"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        changed["deliveries"][0]["consequence"], "disabled",
        "{changed}"
    );
    let hooks = sandbox.actionstep().hooks();
    let updated = hooks.iter().find(|h| h.id == ids[1]).unwrap();
    assert_eq!(updated.status, "Disabled");
    // A disabled hook gets nothing more.
    let again: Value = http
        .patch(admin(&format!("/actions/{id}")))
        .json(&json!({"status": "Active"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["deliveries"], json!([]));

    t.status.store(401, Ordering::SeqCst);
    let second: Value = http
        .post(admin("/actions"))
        .json(&json!({"name": "Second", "actionType": seed::CONVEYANCING, "clients": [seed::CAFE]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        second["deliveries"][0]["consequence"], "deleted",
        "{second}"
    );
    assert!(sandbox.actionstep().hooks().iter().all(|h| h.id != ids[0]));
    assert_eq!(sandbox.actionstep().switched_off_hooks().len(), 2);
}
