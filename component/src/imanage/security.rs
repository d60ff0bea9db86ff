//! A workspace's security: read it, and change it with `include`/`remove` lists (the post body
//! seen working in public clients; see imanage-api.md, "Security").

use serde_json::{json, Value};

use super::api::seg;
use super::client::{status_error, Answer, Retry};
use super::{json, Imanage};
use crate::model::Result;
use crate::platform::Method;
use crate::security::{Member, Security};

impl Imanage<'_> {
    /// The workspace's security and how many member entries could not be read; `None` when the
    /// workspace does not exist.
    pub fn workspace_security(&self, workspace_id: &str) -> Result<Option<(Security, usize)>> {
        let path = format!("/workspaces/{}/security", seg(workspace_id));
        match self.call(Method::Get, &path, None, Retry::Safe)? {
            Answer::Ok(v) => Ok(Some(Security::from_imanage(json::data(&v)))),
            Answer::Status(404, _) => Ok(None),
            Answer::Status(s, why) => Err(status_error(Method::Get, &path, s, &why)),
        }
    }

    /// Adds or re-levels `include` and takes `remove` off the list; iManage applies removals
    /// first. Safe to repeat: it sets levels rather than toggling them.
    pub fn change_security(
        &self,
        workspace_id: &str,
        include: &[Member],
        remove: &[Member],
    ) -> Result<()> {
        let remove: Vec<Value> = remove
            .iter()
            .map(|m| json!({"id": m.id, "type": m.trustee_type.as_str()}))
            .collect();
        let include: Vec<Value> = include.iter().map(Member::to_imanage).collect();
        let body = json!({"include": include, "remove": remove});
        let path = format!("/workspaces/{}/security", seg(workspace_id));
        self.call_ok(Method::Post, &path, Some(&body), Retry::Safe)?;
        Ok(())
    }
}
