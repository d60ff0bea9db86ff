//! My Matters: the list of workspace shortcuts iManage users open their matters from. The REST
//! path is not public (docs/imanage-api.md, "My Matters": **assumed**), so everything matterlink
//! knows of it is here, to be replaced in one place once iManage's own path is known:
//! `POST /users/{user}/my-matters` `{"id": workspaceId}` adds (201, or 200 when there already),
//! `DELETE /users/{user}/my-matters/{workspaceId}` removes (404 when it is not there).

use serde_json::{json, Value};

use super::api::seg;
use super::client::Answer;
use super::Imanage;
use crate::model::{Matter, Result};
use crate::platform::Method;
use crate::transport::{status_error, Retry};

/// Whose My Matters list a workspace goes on: its owner's and the matter's assigned lawyer's,
/// once each (iManage user ids are not case-sensitive).
pub fn users(workspace: &Value, m: &Matter) -> Vec<String> {
    let mut users: Vec<String> = Vec::new();
    let owner = workspace.get("owner").and_then(Value::as_str);
    for user in [owner, m.assigned_to.as_deref()].into_iter().flatten() {
        let user = user.trim();
        if !user.is_empty() && !users.iter().any(|u| u.eq_ignore_ascii_case(user)) {
            users.push(user.to_string());
        }
    }
    users
}

impl Imanage<'_> {
    /// Puts the workspace on the user's My Matters list. Safe to repeat: adding what is there
    /// changes nothing.
    pub fn add_to_my_matters(&self, user: &str, workspace_id: &str) -> Result<()> {
        let path = format!("/users/{}/my-matters", seg(user));
        let body = json!({ "id": workspace_id });
        self.call_ok(Method::Post, &path, Some(&body), Retry::Safe)?;
        Ok(())
    }

    /// Takes the workspace off the user's My Matters list; one that is not there is done.
    pub fn remove_from_my_matters(&self, user: &str, workspace_id: &str) -> Result<()> {
        let path = format!("/users/{}/my-matters/{}", seg(user), seg(workspace_id));
        match self.call(Method::Delete, &path, None, Retry::Safe)? {
            Answer::Ok(_) | Answer::Status(404, _) => Ok(()),
            Answer::Status(s, why) => Err(status_error(Method::Delete, &path, s, &why)),
        }
    }
}
