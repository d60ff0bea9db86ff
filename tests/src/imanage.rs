//! Acting in iManage as a person would, beside matterlink: a records manager sets a wall, someone
//! makes a workspace by hand. Straight to the sandbox's API with a token of its own.

use serde_json::{json, Value};

use crate::Env;

pub struct Admin {
    client: reqwest::Client,
    library: String,
    token: String,
}

impl Admin {
    pub async fn sign_in(env: &Env) -> Admin {
        let base = env.sandbox.base_url();
        let client = reqwest::Client::new();
        let grant: Value = client
            .post(format!("{base}/auth/oauth2/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", imanage_sandbox::SERVICE_USER),
                ("password", imanage_sandbox::SERVICE_PASSWORD),
                ("client_id", imanage_sandbox::CLIENT_ID),
                ("client_secret", imanage_sandbox::CLIENT_SECRET),
            ])
            .send()
            .await
            .expect("token request")
            .json()
            .await
            .expect("token JSON");
        Admin {
            library: format!(
                "{base}/work/api/v2/customers/{}/libraries/{}",
                imanage_sandbox::CUSTOMER_ID,
                imanage_sandbox::LIBRARY
            ),
            token: grant["access_token"].as_str().expect("a token").to_string(),
            client,
        }
    }

    /// Any library call, with its status and JSON answer (`null` for none), for tests of what
    /// the sandbox accepts and refuses.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.library))
            .header("x-auth-token", &self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.expect("answer");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .client
            .post(format!("{}{path}", self.library))
            .header("x-auth-token", &self.token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = r.status();
        let v: Value = r.json().await.expect("JSON answer");
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    /// `POST …/workspaces/{id}/security` with `include`/`remove`/`default_security`.
    pub async fn security(&self, workspace_id: &str, body: Value) -> Value {
        self.post(&format!("/workspaces/{workspace_id}/security"), body)
            .await
    }

    /// Walls `user` off (`no_access`).
    pub async fn wall_off(&self, workspace_id: &str, user: &str) {
        self.security(
            workspace_id,
            json!({"include": [{"id": user, "type": "user", "access_level": "no_access"}]}),
        )
        .await;
    }

    pub async fn take_off(&self, workspace_id: &str, user: &str) {
        self.security(
            workspace_id,
            json!({"remove": [{"id": user, "type": "user"}]}),
        )
        .await;
    }

    /// A workspace made by hand in iManage; returns its id.
    pub async fn create_workspace(&self, body: Value) -> String {
        let v = self.post("/workspaces", body).await;
        v["data"]["id"].as_str().expect("an id").to_string()
    }

    /// `PATCH` of a library-relative path, e.g. a lookup value disabled.
    pub async fn patch(&self, path: &str, body: Value) -> Value {
        let r = self
            .client
            .patch(format!("{}{path}", self.library))
            .header("x-auth-token", &self.token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = r.status();
        let v: Value = r.json().await.expect("JSON answer");
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    /// A lookup value, as iManage needs one before a profile names it.
    pub async fn custom(&self, field: &str, body: Value) {
        self.post(&format!("/customs/{field}"), body).await;
    }
}
