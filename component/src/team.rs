//! apply-matter-team (opt-in, `push_team`): the matter system's team or wall becomes the linked
//! workspace's member list. Listed trustees get their level (`no_access` walls one out),
//! trustees not listed are removed, and the connected service account is never removed, so
//! that matterlink keeps the access it needs. Only the differences are sent: applying the same
//! team twice sends nothing the second time.

use serde::{Deserialize, Serialize};

use crate::model::{Error, Result, Workspace};
use crate::platform::Platform;
use crate::security::{Member, Security, TrusteeType};
use crate::settings::Settings;
use crate::{audit, links, validate};

/// What apply-matter-team did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamOutcome {
    /// The matter's workspace.
    pub workspace: Workspace,
    /// Trustees added or given another level.
    pub included: Vec<Member>,
    /// Trustees taken off, at the level they had.
    pub removed: Vec<Member>,
    /// The workspace already had this team: nothing was sent.
    pub unchanged: bool,
}

/// Longest trustee id accepted (iManage limits user ids to 63 characters).
const TRUSTEE_ID_LIMIT: usize = 64;

fn enabled(p: &dyn Platform) -> Result<bool> {
    let value = p
        .config("push_team")?
        .map(|v| v.trim().to_ascii_lowercase());
    match value.as_deref() {
        None | Some("") | Some("false") | Some("no") | Some("0") | Some("off") => Ok(false),
        Some("true") | Some("yes") | Some("1") | Some("on") => Ok(true),
        Some(other) => Err(Error::NotConfigured(format!(
            "`push_team` must be true or false, not {other:?}"
        ))),
    }
}

fn check_members(matter_id: &str, members: &[Member]) -> Result<()> {
    for (i, m) in members.iter().enumerate() {
        let id = m.id.trim();
        if id.is_empty() || id.len() > TRUSTEE_ID_LIMIT || id.chars().any(char::is_control) {
            return Err(Error::InvalidMatter(format!(
                "member {} of matter {matter_id}'s team has no usable id",
                i + 1
            )));
        }
        if members[..i].iter().any(|other| other.same_trustee(m)) {
            return Err(Error::InvalidMatter(format!(
                "matter {matter_id}'s team names {} {} twice",
                m.trustee_type.as_str(),
                m.id
            )));
        }
    }
    Ok(())
}

/// apply-matter-team: makes the linked workspace's members exactly `members` (others
/// removed, except the service account), sending only the differences; audited.
pub fn apply_matter_team(
    p: &dyn Platform,
    matter_id: &str,
    members: &[Member],
) -> Result<TeamOutcome> {
    validate::id("matter id", matter_id)?;
    check_members(matter_id, members)?;
    let s = Settings::load(p)?;
    if !enabled(p)? {
        return Err(Error::Skipped(
            "`push_team` is off, so the matter system's team is not written to iManage".into(),
        ));
    }
    let link = links::get(p, matter_id)?
        .ok_or_else(|| Error::NotLinked(format!("matter {matter_id} has no linked workspace")))?;
    let api = links::api(p, &s, Some(&link));
    // The integration's own account keeps its access whatever the team says: without it,
    // matterlink could not manage this workspace any more.
    let account = api.account()?;
    let ws = &link.workspace.id;
    let (current, _) = api.workspace_security(ws)?.ok_or_else(|| {
        Error::NotLinked(format!(
            "workspace {ws} linked to matter {matter_id} no longer exists in iManage"
        ))
    })?;
    let wanted = Security::new(None, members.to_vec());
    let included: Vec<Member> = wanted
        .members
        .iter()
        .filter(|m| current.member(m).map(|c| c.access_level) != Some(m.access_level))
        .cloned()
        .collect();
    let removed: Vec<Member> = current
        .members
        .iter()
        .filter(|m| wanted.member(m).is_none())
        .filter(|m| !(m.trustee_type == TrusteeType::User && m.id.eq_ignore_ascii_case(&account)))
        .cloned()
        .collect();
    let unchanged = included.is_empty() && removed.is_empty();
    if !unchanged {
        api.change_security(ws, &included, &removed)?;
    }
    let names = |list: &[Member]| {
        list.iter()
            .map(|m| {
                format!(
                    "{} {} {}",
                    m.trustee_type.as_str(),
                    m.id,
                    m.access_level.as_str()
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    audit::record(
        p,
        "apply-team",
        matter_id,
        if unchanged { "unchanged" } else { "ok" },
        format!(
            "workspace {ws}: included [{}], removed [{}]",
            names(&included),
            names(&removed)
        ),
    )?;
    Ok(TeamOutcome {
        workspace: link.workspace,
        included,
        removed,
        unchanged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::AccessLevel;
    use crate::testing::FakePlatform;

    fn m(id: &str) -> Member {
        Member {
            id: id.into(),
            trustee_type: TrusteeType::User,
            access_level: AccessLevel::Read,
        }
    }

    #[test]
    fn off_unless_opted_in_and_input_is_checked_first() {
        let p = FakePlatform::configured();
        let err = apply_matter_team(&p, "1042", &[m("JSMITH")]).unwrap_err();
        assert_eq!(err.kind(), "skipped");
        let err = apply_matter_team(&p, "1042", &[m("JSMITH"), m("jsmith")]).unwrap_err();
        assert_eq!(err.kind(), "invalid-matter");
        assert_eq!(
            apply_matter_team(&p, "1042", &[m(" ")]).unwrap_err().kind(),
            "invalid-matter"
        );
        p.set_config("push_team", "sometimes");
        assert_eq!(
            apply_matter_team(&p, "1042", &[]).unwrap_err().kind(),
            "not-configured"
        );
        p.set_config("push_team", "true");
        assert_eq!(
            apply_matter_team(&p, "1042", &[]).unwrap_err().kind(),
            "not-linked"
        );
        assert!(p.sent.borrow().is_empty());
        assert!(p.kv.borrow().is_empty());
    }
}
