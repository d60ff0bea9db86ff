//! iManage's security vocabulary as the change feed and the team push use it: trustees (users
//! and groups), access levels, and one workspace's security (default security plus members).

use serde::{Deserialize, Serialize};

/// Who a security entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrusteeType {
    /// One person.
    User,
    /// A group of people.
    Group,
}

impl TrusteeType {
    /// Reads `user` / `group` in any case; anything else is `None`.
    pub fn parse(text: &str) -> Option<TrusteeType> {
        match text.to_ascii_lowercase().as_str() {
            "user" => Some(TrusteeType::User),
            "group" => Some(TrusteeType::Group),
            _ => None,
        }
    }

    /// The name iManage and the CLI use: `user` or `group`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrusteeType::User => "user",
            TrusteeType::Group => "group",
        }
    }
}

/// `no_access` is how an ethical wall shuts a trustee out explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    /// Shut out explicitly: how an ethical wall keeps someone out.
    NoAccess,
    /// May read.
    Read,
    /// May read and write.
    ReadWrite,
    /// May do anything, security included.
    FullAccess,
}

impl AccessLevel {
    /// Reads iManage's spelling (`no_access`, `read`, `read_write`, `full_access`) in any case.
    pub fn parse(text: &str) -> Option<AccessLevel> {
        match text.to_ascii_lowercase().as_str() {
            "no_access" => Some(AccessLevel::NoAccess),
            "read" => Some(AccessLevel::Read),
            "read_write" => Some(AccessLevel::ReadWrite),
            "full_access" => Some(AccessLevel::FullAccess),
            _ => None,
        }
    }

    /// iManage's spelling of the level.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::NoAccess => "no_access",
            AccessLevel::Read => "read",
            AccessLevel::ReadWrite => "read_write",
            AccessLevel::FullAccess => "full_access",
        }
    }
}

/// A user or group on a workspace's security list, at an access level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The user or group id.
    pub id: String,
    // `type` is how iManage spells it; accepted in input files too.
    /// Whether `id` names a user or a group.
    #[serde(alias = "type")]
    pub trustee_type: TrusteeType,
    /// The access the trustee has.
    pub access_level: AccessLevel,
}

impl Member {
    /// iManage ids are case-insensitive (`jsmith` is `JSMITH`): compare through this.
    pub fn same_trustee(&self, other: &Member) -> bool {
        self.trustee_type == other.trustee_type && self.id.eq_ignore_ascii_case(&other.id)
    }

    fn sort_key(&self) -> (TrusteeType, String) {
        (self.trustee_type, self.id.to_ascii_uppercase())
    }
}

/// A workspace's security at one moment: what the polling and Sync API sources observe and the
/// change feed keeps as a snapshot to compare the next observation with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Security {
    /// `private`, `view` or `public`, when known.
    pub default_security: Option<String>,
    /// Sorted by type and id, one entry per trustee.
    pub members: Vec<Member>,
}

impl Security {
    /// A security list with `members` deduplicated (the last of a trustee wins) and sorted.
    pub fn new(default_security: Option<String>, members: Vec<Member>) -> Security {
        let mut s = Security {
            default_security,
            members: Vec::new(),
        };
        for m in members {
            s.set(m);
        }
        s
    }

    /// The member standing for the same trustee as `like`, at whatever level.
    pub fn member(&self, like: &Member) -> Option<&Member> {
        self.members.iter().find(|m| m.same_trustee(like))
    }

    /// Adds the member or changes its level; the list stays sorted.
    pub fn set(&mut self, member: Member) {
        match self.members.iter_mut().find(|m| m.same_trustee(&member)) {
            Some(existing) => existing.access_level = member.access_level,
            None => {
                let at = self
                    .members
                    .partition_point(|m| m.sort_key() < member.sort_key());
                self.members.insert(at, member);
            }
        }
    }

    /// Takes the trustee off the list, at whatever level.
    pub fn remove(&mut self, member: &Member) {
        self.members.retain(|m| !m.same_trustee(member));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, t: TrusteeType, l: AccessLevel) -> Member {
        Member {
            id: id.into(),
            trustee_type: t,
            access_level: l,
        }
    }

    #[test]
    fn members_are_unique_sorted_and_case_insensitive() {
        let mut s = Security::default();
        s.set(m("LWONG", TrusteeType::User, AccessLevel::Read));
        s.set(m("LITIGATION", TrusteeType::Group, AccessLevel::ReadWrite));
        s.set(m("jsmith", TrusteeType::User, AccessLevel::Read));
        s.set(m("JSMITH", TrusteeType::User, AccessLevel::NoAccess));
        let ids: Vec<_> = s.members.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["jsmith", "LWONG", "LITIGATION"]);
        assert_eq!(s.members[0].access_level, AccessLevel::NoAccess);
        s.remove(&m("Jsmith", TrusteeType::User, AccessLevel::Read));
        assert_eq!(s.members.len(), 2);
    }

    #[test]
    fn member_json_accepts_imanage_spelling() {
        let member: Member =
            serde_json::from_str(r#"{"id": "JSMITH", "type": "user", "access_level": "read"}"#)
                .unwrap();
        assert_eq!(member.trustee_type, TrusteeType::User);
        assert!(serde_json::from_str::<Member>(
            r#"{"id": "JSMITH", "trustee_type": "user", "access_level": "owner"}"#
        )
        .is_err());
    }
}
