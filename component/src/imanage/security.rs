//! A workspace's security: read it, and change it with `include`/`remove` lists (the post body
//! seen working in public clients; see docs/imanage-api.md, "Security").

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::api::{query, seg};
use super::client::Answer;
use super::{json, Imanage};
use crate::model::Result;
use crate::platform::Method;
use crate::security::{AccessLevel, Member, Security, TrusteeType};
use crate::transport::{status_error, Retry};

/// The shape a library writes security members in. Public clients of iManage disagree (see
/// docs/imanage-api.md, "Security"), so matterlink reads both and writes back in the one the
/// library answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberShape {
    /// `{"id", "type": "user" | "group", "access_level"}`.
    #[default]
    Typed,
    /// `{"user_id" | "id", "is_group", "access"}`.
    Flagged,
}

/// What one `GET …/security` answer holds.
#[derive(Debug, Clone)]
pub struct SecurityRead {
    /// The default security and the members that could be read.
    pub security: Security,
    /// Entries that are not members at all (no id, a level outside the vocabulary).
    pub unreadable: usize,
    /// Entries whose kind (user or group) cannot be told, by id: never guessed, since a group
    /// read as a user (or the reverse) would grant or wall the wrong trustee.
    pub unknown_kind: Vec<String>,
    /// The shape the members came in.
    pub shape: MemberShape,
}

impl Imanage<'_> {
    /// The workspace's security and how many member entries could not be read (entries of
    /// unknown kind included); `None` when the workspace does not exist.
    pub fn workspace_security(&self, workspace_id: &str) -> Result<Option<(Security, usize)>> {
        Ok(self
            .read_security(workspace_id)?
            .map(|r| (r.security, r.unreadable + r.unknown_kind.len())))
    }

    /// `GET /workspaces/{id}/security` read in whichever member shape it came; the shape is
    /// remembered for this call's later posts. `None` when the workspace does not exist.
    pub fn read_security(&self, workspace_id: &str) -> Result<Option<SecurityRead>> {
        let read = self.security_at(&format!("/workspaces/{}/security", seg(workspace_id)))?;
        if let Some(read) = &read {
            self.member_shape.set(Some(read.shape));
        }
        Ok(read)
    }

    /// A workspace's or folder's security at `path` (`…/security`), every page of its members:
    /// the member list pages like any other list (`limit`/`offset`, `total_count`), and a large
    /// group of trustees on one matter must not be cut at the first page. `None` on 404.
    pub fn security_at(&self, path: &str) -> Result<Option<SecurityRead>> {
        /// iManage's default page.
        const PAGE: usize = 500;
        /// A bound on requests, so a server that ignores `offset` cannot loop us.
        const MAX_PAGES: usize = 1000;
        let mut all: Option<SecurityRead> = None;
        let mut entries = 0usize;
        for _ in 0..MAX_PAGES {
            let (limit, offset) = (PAGE.to_string(), entries.to_string());
            let url = format!(
                "{path}?{}",
                query(&[("limit", &limit), ("offset", &offset), ("total", "true")])
            );
            let v = match self.call(Method::Get, &url, None, Retry::Safe)? {
                Answer::Ok(v) => v,
                Answer::Status(404, _) if all.is_none() => return Ok(None),
                Answer::Status(s, why) => return Err(status_error(Method::Get, &url, s, &why)),
            };
            let page = Security::read_imanage(&v);
            let on_page = page.security.members.len() + page.unreadable + page.unknown_kind.len();
            entries += on_page;
            let total = json::total_count(&v);
            let Some(read) = all.as_mut() else {
                all = Some(page);
                if on_page == 0 || total.map_or(on_page < PAGE, |t| entries as u64 >= t) {
                    break;
                }
                continue;
            };
            let before = read.security.members.len();
            for m in page.security.members {
                read.security.set(m);
            }
            read.unreadable += page.unreadable;
            read.unknown_kind.extend(page.unknown_kind);
            let added = read.security.members.len() - before;
            match total {
                _ if on_page == 0 => break,
                Some(t) if entries as u64 >= t => break,
                Some(_) => {}
                // No `total_count`: a short page is the end, and so is a page with nothing new
                // (a server that ignores `offset` answers the first page again).
                None if on_page < PAGE || added == 0 => break,
                None => {}
            }
        }
        Ok(all)
    }

    /// Adds or re-levels `include` and takes `remove` off the list; iManage applies removals
    /// first. Safe to repeat: it sets levels rather than toggling them. Written in the member
    /// shape the library answers with (read first when this call has not seen it yet).
    pub fn change_security(
        &self,
        workspace_id: &str,
        include: &[Member],
        remove: &[Member],
    ) -> Result<()> {
        let shape = match self.member_shape.get() {
            Some(shape) => shape,
            None => self
                .read_security(workspace_id)?
                .map(|r| r.shape)
                .unwrap_or_default(),
        };
        let remove: Vec<Value> = remove.iter().map(|m| m.to_imanage_ref(shape)).collect();
        let include: Vec<Value> = include.iter().map(|m| m.to_imanage_in(shape)).collect();
        let body = json!({"include": include, "remove": remove});
        let path = format!("/workspaces/{}/security", seg(workspace_id));
        self.call_ok(Method::Post, &path, Some(&body), Retry::Safe)?;
        Ok(())
    }
}

/// What a member entry says of its kind: `type` (`user`/`group`) or `is_group`. `Err` for an
/// entry that says neither, or says something else.
fn kind_of(v: &Value) -> std::result::Result<TrusteeType, ()> {
    if let Some(t) = v.get("type") {
        return t.as_str().and_then(TrusteeType::parse).ok_or(());
    }
    match v.get("is_group") {
        Some(Value::Bool(true)) => Ok(TrusteeType::Group),
        Some(Value::Bool(false)) => Ok(TrusteeType::User),
        _ => Err(()),
    }
}

// iManage's wire shapes of the security vocabulary live here, with the other readers of its
// answers, so that `security` stays plain domain vocabulary beneath `imanage`.
impl Member {
    /// A member entry in either shape: `{"id", "type", "access_level"}` or `{"user_id" | "id",
    /// "is_group", "access"}`. `None` when it is not one: no id, no kind (never guessed), or a
    /// type or level outside iManage's documented vocabulary.
    pub fn from_imanage(v: &Value) -> Option<Member> {
        Some(Member {
            id: json::str_field(v, "id")
                .or_else(|| json::str_field(v, "user_id"))?
                .to_string(),
            trustee_type: kind_of(v).ok()?,
            access_level: AccessLevel::parse(
                json::str_field(v, "access_level").or_else(|| json::str_field(v, "access"))?,
            )?,
        })
    }

    /// The entry of a security post's `include` list, in the typed shape.
    pub fn to_imanage(&self) -> Value {
        self.to_imanage_in(MemberShape::Typed)
    }

    /// The entry of a security post's `include` list, in `shape`.
    pub fn to_imanage_in(&self, shape: MemberShape) -> Value {
        match shape {
            MemberShape::Typed => {
                json!({"id": self.id, "type": self.trustee_type.as_str(), "access_level": self.access_level.as_str()})
            }
            MemberShape::Flagged => {
                json!({"id": self.id, "is_group": self.trustee_type == TrusteeType::Group, "access": self.access_level.as_str()})
            }
        }
    }

    /// The entry of a security post's `remove` list, in `shape`.
    pub fn to_imanage_ref(&self, shape: MemberShape) -> Value {
        match shape {
            MemberShape::Typed => json!({"id": self.id, "type": self.trustee_type.as_str()}),
            MemberShape::Flagged => {
                json!({"id": self.id, "is_group": self.trustee_type == TrusteeType::Group})
            }
        }
    }
}

impl Security {
    /// `{"default_security", "members": [...]}` as `GET …/security` answers, or the member array
    /// itself; entries of unknown kind are counted with the unreadable ones.
    pub fn from_imanage(v: &Value) -> (Security, usize) {
        let read = Security::read_imanage(v);
        (read.security, read.unreadable + read.unknown_kind.len())
    }

    /// A security answer (with or without its `data` envelope) in either member shape.
    pub fn read_imanage(v: &Value) -> SecurityRead {
        let d = json::data(v);
        let (default_security, members): (Option<String>, Vec<&Value>) = match d {
            Value::Array(a) => (None, a.iter().collect()),
            _ => (
                json::str_field(d, "default_security").map(String::from),
                d.get("members")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().collect())
                    .unwrap_or_default(),
            ),
        };
        let flagged = members
            .iter()
            .any(|m| m.get("is_group").is_some() || m.get("access").is_some());
        let typed = members
            .iter()
            .any(|m| m.get("type").is_some() || m.get("access_level").is_some());
        let shape = if flagged && !typed {
            MemberShape::Flagged
        } else {
            MemberShape::Typed
        };
        let mut parsed = Vec::new();
        let mut unreadable = 0;
        let mut unknown_kind = Vec::new();
        for m in members {
            match (Member::from_imanage(m), kind_of(m)) {
                (Some(member), _) => parsed.push(member),
                (None, Err(())) => unknown_kind.push(
                    json::str_field(m, "id")
                        .or_else(|| json::str_field(m, "user_id"))
                        .unwrap_or("?")
                        .to_string(),
                ),
                (None, Ok(_)) => unreadable += 1,
            }
        }
        SecurityRead {
            security: Security::new(default_security, parsed),
            unreadable,
            unknown_kind,
            shape,
        }
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
            {"id": "WHO", "access_level": "read"},
        ]});
        let (s, unreadable) = Security::from_imanage(&v);
        assert_eq!(s.default_security.as_deref(), Some("private"));
        assert_eq!(s.members.len(), 2);
        // ODD's level is unknown; WHO's kind cannot be told, and is never taken for a user.
        assert_eq!(unreadable, 2);
        assert_eq!(
            s.members[0].to_imanage(),
            json!({"id": "JSMITH", "type": "user", "access_level": "full_access"})
        );
    }

    #[test]
    fn reads_the_flagged_shape_and_the_bare_array_and_writes_back_alike() {
        let v = json!({"data": [
            {"user_id": "JSMITH", "is_group": false, "access": "full_access"},
            {"id": "LITIGATION", "is_group": true, "access": "read"},
            {"id": "NOKIND", "access": "read"},
        ]});
        let read = Security::read_imanage(&v);
        assert_eq!(read.shape, MemberShape::Flagged);
        assert_eq!(read.security.default_security, None);
        assert_eq!(read.unknown_kind, vec!["NOKIND".to_string()]);
        let group = read
            .security
            .members
            .iter()
            .find(|m| m.id == "LITIGATION")
            .unwrap();
        assert_eq!(group.trustee_type, TrusteeType::Group);
        assert_eq!(
            group.to_imanage_in(read.shape),
            json!({"id": "LITIGATION", "is_group": true, "access": "read"})
        );
    }
}
