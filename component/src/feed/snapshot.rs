//! The last known security of each linked workspace, kept in key-value. The polling and Sync API
//! sources report the difference between a new observation and it; the event queue keeps it
//! current, so that a later fallback compares with the truth rather than with an old picture.

use crate::feed::change::Delta;
use crate::keys;
use crate::model::{Error, Result};
use crate::platform::Platform;
use crate::security::{Member, Security};

/// The last known security of a workspace, `None` before it was first observed.
pub fn load(p: &dyn Platform, workspace_id: &str) -> Result<Option<Security>> {
    let key = keys::feed_security(workspace_id);
    p.kv_get(&key)?
        .map(|raw| {
            serde_json::from_slice(&raw).map_err(|e| {
                Error::Unavailable(format!("key-value record {key} is unreadable: {e}"))
            })
        })
        .transpose()
}

/// Keeps `security` as the workspace's last known security.
pub fn store(p: &dyn Platform, workspace_id: &str, security: &Security) -> Result<()> {
    let raw = serde_json::to_vec(security).map_err(|e| Error::Unavailable(e.to_string()))?;
    p.kv_set(&keys::feed_security(workspace_id), &raw)
}

/// What changed from `old` to `new`, in the order iManage applies a security post: default
/// security, removals, then additions and changed levels.
pub fn diff(old: &Security, new: &Security) -> Vec<Delta> {
    let mut out = Vec::new();
    if let Some(now) = &new.default_security {
        if old.default_security.as_ref() != Some(now) {
            out.push(Delta::DefaultSecurity {
                previous: old.default_security.clone(),
                now: now.clone(),
            });
        }
    }
    for gone in old.members.iter().filter(|m| new.member(m).is_none()) {
        out.push(Delta::Removed(gone.clone()));
    }
    for m in &new.members {
        match old.member(m) {
            None => out.push(Delta::Added(m.clone())),
            Some(before) if before.access_level != m.access_level => {
                out.push(Delta::AccessChanged {
                    member: m.clone(),
                    previous: before.access_level,
                })
            }
            Some(_) => {}
        }
    }
    out
}

/// Applies a change the event queue reported to the snapshot, and returns it as the snapshot
/// explains it: an addition of a member already there at another level is a changed level, a
/// removal carries the level the member had.
///
/// Every change is still reported, even one the snapshot already shows: the snapshot may have
/// been read after the event happened, and then replaying events onto it is harmless (each sets
/// or removes one member, so the last one wins) whereas skipping them could hide a change.
pub fn apply(security: &mut Security, delta: Delta) -> Delta {
    match delta {
        Delta::Added(m) => {
            let explained = match security.member(&m) {
                Some(before) if before.access_level != m.access_level => Delta::AccessChanged {
                    member: m.clone(),
                    previous: before.access_level,
                },
                _ => Delta::Added(m.clone()),
            };
            security.set(m);
            explained
        }
        Delta::AccessChanged { member, previous } => {
            security.set(member.clone());
            Delta::AccessChanged { member, previous }
        }
        Delta::Removed(m) => {
            let had: Member = security.member(&m).cloned().unwrap_or(m);
            security.remove(&had);
            Delta::Removed(had)
        }
        Delta::DefaultSecurity { previous, now } => {
            let previous = security.default_security.clone().or(previous);
            security.default_security = Some(now.clone());
            Delta::DefaultSecurity { previous, now }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::{AccessLevel, TrusteeType};

    fn m(id: &str, level: AccessLevel) -> Member {
        Member {
            id: id.into(),
            trustee_type: TrusteeType::User,
            access_level: level,
        }
    }

    #[test]
    fn diff_orders_default_security_removals_then_additions() {
        let old = Security::new(
            Some("public".into()),
            vec![m("A", AccessLevel::Read), m("B", AccessLevel::Read)],
        );
        let new = Security::new(
            Some("private".into()),
            vec![
                m("B", AccessLevel::NoAccess),
                m("C", AccessLevel::FullAccess),
            ],
        );
        assert_eq!(
            diff(&old, &new),
            vec![
                Delta::DefaultSecurity {
                    previous: Some("public".into()),
                    now: "private".into()
                },
                Delta::Removed(m("A", AccessLevel::Read)),
                Delta::AccessChanged {
                    member: m("B", AccessLevel::NoAccess),
                    previous: AccessLevel::Read
                },
                Delta::Added(m("C", AccessLevel::FullAccess)),
            ]
        );
        assert!(diff(&new, &new).is_empty());
    }

    #[test]
    fn apply_explains_with_the_snapshot_and_replays_harmlessly() {
        let mut s = Security::new(Some("public".into()), vec![m("A", AccessLevel::Read)]);
        assert_eq!(
            apply(&mut s, Delta::Added(m("A", AccessLevel::NoAccess))),
            Delta::AccessChanged {
                member: m("A", AccessLevel::NoAccess),
                previous: AccessLevel::Read
            }
        );
        // The queue names the removed member at whatever level; the snapshot knows better.
        assert_eq!(
            apply(&mut s, Delta::Removed(m("a", AccessLevel::Read))),
            Delta::Removed(m("A", AccessLevel::NoAccess))
        );
        assert!(s.members.is_empty());
        let replayed = apply(&mut s, Delta::Removed(m("A", AccessLevel::Read)));
        assert_eq!(replayed, Delta::Removed(m("A", AccessLevel::Read)));
        assert_eq!(
            apply(
                &mut s,
                Delta::DefaultSecurity {
                    previous: None,
                    now: "private".into()
                }
            ),
            Delta::DefaultSecurity {
                previous: Some("public".into()),
                now: "private".into()
            }
        );
    }
}
