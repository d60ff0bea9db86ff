//! A sandbox on an ephemeral port, driven over real HTTP.

use imanage_sandbox::{
    Sandbox, SandboxConfig, CLIENT_ID, CLIENT_SECRET, SERVICE_PASSWORD, SERVICE_USER,
};
use reqwest::{Response, StatusCode};
use serde_json::Value;

pub struct Harness {
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
    pub token: String,
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::start_with(SandboxConfig::default()).await
    }

    pub async fn start_with(config: SandboxConfig) -> Harness {
        let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), config)
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let mut harness = Harness {
            sandbox,
            http,
            token: String::new(),
        };
        let grant = harness.password_grant(SERVICE_USER, SERVICE_PASSWORD).await;
        assert_eq!(grant.status(), StatusCode::OK);
        let body: Value = grant.json().await.unwrap();
        harness.token = body["access_token"].as_str().unwrap().to_owned();
        harness
    }

    pub fn base(&self) -> String {
        self.sandbox.base_url()
    }

    /// A URL under the library: `lib("/workspaces")`.
    pub fn lib(&self, path: &str) -> String {
        format!(
            "{}/work/api/v2/customers/1/libraries/ACTIVE{path}",
            self.base()
        )
    }

    /// A URL of the sandbox's own admin endpoints: `admin("/faults")`.
    pub fn admin(&self, path: &str) -> String {
        format!("{}/sandbox/admin{path}", self.base())
    }

    /// `PUT /sandbox/admin/faults`, expecting success; returns the settings as answered.
    pub async fn put_faults(&self, faults: Value) -> Value {
        let response = self
            .http
            .put(self.admin("/faults"))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn stats(&self) -> Value {
        let response = self.http.get(self.admin("/stats")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn token_request(&self, form: &[(&str, &str)]) -> Response {
        self.http
            .post(format!("{}/auth/oauth2/token", self.base()))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn password_grant(&self, user: &str, password: &str) -> Response {
        self.token_request(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("scope", "user"),
        ])
        .await
    }

    pub async fn get(&self, url: &str) -> Response {
        self.http
            .get(url)
            .header("X-Auth-Token", &self.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, url: &str, body: &Value) -> Response {
        self.http
            .post(url)
            .header("X-Auth-Token", &self.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, url: &str, body: &Value) -> Response {
        self.http
            .patch(url)
            .header("X-Auth-Token", &self.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, url: &str) -> Response {
        self.http
            .delete(url)
            .header("X-Auth-Token", &self.token)
            .send()
            .await
            .unwrap()
    }

    /// POST expecting `status`; returns the body's `data`.
    pub async fn post_ok(&self, url: &str, body: &Value, status: StatusCode) -> Value {
        let response = self.post(url, body).await;
        expect_data(response, status).await
    }

    pub async fn get_ok(&self, url: &str) -> Value {
        expect_data(self.get(url).await, StatusCode::OK).await
    }

    pub async fn add_lookup(&self, field: &str, id: &str, description: &str, parent: Option<&str>) {
        let mut body = serde_json::json!({"id": id, "description": description, "enabled": true});
        if let Some(parent) = parent {
            body["parent"] = serde_json::json!({"id": parent});
        }
        self.post_ok(
            &self.lib(&format!("/customs/{field}")),
            &body,
            StatusCode::CREATED,
        )
        .await;
    }
}

pub async fn expect_data(response: Response, status: StatusCode) -> Value {
    let got = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(got, status, "body: {body}");
    body["data"].clone()
}

/// Checks the iManage error envelope and returns its `error` object.
pub async fn expect_envelope(response: Response, status: StatusCode) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "body: {text}");
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    let error = &body["error"];
    assert_eq!(error["code"], Value::from(status.as_u16()), "{body}");
    assert!(
        error["code_message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(error["dms_version"], "10.4.0");
    let transaction = error["transaction"].as_str().expect("transaction");
    assert!(uuid_like(transaction), "{transaction}");
    assert!(error["messages"].is_array(), "{body}");
    error.clone()
}

fn uuid_like(text: &str) -> bool {
    text.len() == 36 && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// The `field` of the first envelope message.
pub fn field_of(error: &Value) -> &str {
    error["messages"][0]["field"].as_str().unwrap_or("")
}
