//! A workspace's security: read it, and change it with `include`/`remove` lists (the post body
//! seen working in public clients; see docs/imanage-api.md, "Security").

use serde_json::{json, Value};

use super::api::seg;
use super::client::Answer;
use super::{json, Imanage};
use crate::model::Result;
use crate::platform::Method;
use crate::security::{AccessLevel, Member, Security, TrusteeType};
use crate::transport::{status_error, Retry};

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

// iManage's wire shapes of the security vocabulary live here, with the other readers of its
// answers, so that `security` stays plain domain vocabulary beneath `imanage`.
impl Member {
    /// A member entry of `GET …/security`: `{"id", "type", "access_level"}`. `None` when the
    /// entry is not one (no id, or a type or level outside iManage's documented vocabulary).
    pub fn from_imanage(v: &Value) -> Option<Member> {
        Some(Member {
            id: json::str_field(v, "id")?.to_string(),
            trustee_type: match json::str_field(v, "type") {
                None => TrusteeType::User,
                Some(t) => TrusteeType::parse(t)?,
            },
            access_level: AccessLevel::parse(json::str_field(v, "access_level")?)?,
        })
    }

    /// The entry of a security post's `include` list.
    pub fn to_imanage(&self) -> Value {
        json!({"id": self.id, "type": self.trustee_type.as_str(), "access_level": self.access_level.as_str()})
    }
}

impl Security {
    /// `{"default_security", "members": [...]}` as `GET …/security` answers.
    pub fn from_imanage(v: &Value) -> (Security, usize) {
        let members: Vec<&Value> = v
            .get("members")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let parsed: Vec<Member> = members
            .iter()
            .filter_map(|m| Member::from_imanage(m))
            .collect();
        let unreadable = members.len() - parsed.len();
        let security = Security::new(
            json::str_field(v, "default_security").map(String::from),
            parsed,
        );
        (security, unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_imanage_security_and_counts_what_it_cannot() {
        let v = json!({"default_security": "private", "members": [
            {"id": "JSMITH", "type": "user", "access_level": "full_access"},
            {"id": "LITIGATION", "type": "group", "access_level": "read"},
            {"id": "ODD", "type": "user", "access_level": "owner"},
        ]});
        let (s, unreadable) = Security::from_imanage(&v);
        assert_eq!(s.default_security.as_deref(), Some("private"));
        assert_eq!(s.members.len(), 2);
        assert_eq!(unreadable, 1);
        assert_eq!(
            s.members[0].to_imanage(),
            json!({"id": "JSMITH", "type": "user", "access_level": "full_access"})
        );
    }
}
