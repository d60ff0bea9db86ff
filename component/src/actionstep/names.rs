//! Real names for a matter from Actionstep: its clients (the action participants of the
//! configured client participant type, else its primary participants) by display or company
//! name, its action type's name (unless `actionstep_matter_types` overrides the id), and the
//! assigned participant's name (and, with `owner_policy = current_user`, the iManage user with
//! their email as the workspace's owner). Names are cached in key-value for `actionstep_names_ttl_seconds`.
//! A lookup that fails is an error: the caller keeps the delivery for replay, so a placeholder
//! is never written to iManage.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::Actionstep;
use super::hook::{id_text, Action};
use crate::keys;
use crate::model::{Client, Error, Matter, Result};
use crate::platform::Platform;
use crate::settings::{ActionstepApi, ActionstepHook};

/// A name looked up, with when.
#[derive(Serialize, Deserialize)]
struct Cached {
    name: String,
    email: Option<String>,
    at: u64,
}

/// Actionstep ids in a path: digits only, so nothing else reaches a URL.
pub fn id_path(raw: &str) -> Result<&str> {
    if !raw.is_empty() && raw.chars().all(|c| c.is_ascii_digit()) {
        Ok(raw)
    } else {
        Err(Error::InvalidMatter(format!(
            "{raw:?} is not an Actionstep id"
        )))
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// A participant's name as firms know it: a company's name, else the display name.
fn participant_name(p: &Value) -> Option<(String, Option<String>)> {
    let company = matches!(p.get("isCompany").and_then(Value::as_str), Some("T" | "t"))
        || p.get("isCompany").and_then(Value::as_bool) == Some(true);
    let name = if company {
        text(p, "companyName").or_else(|| text(p, "displayName"))
    } else {
        text(p, "displayName")
    }?;
    Some((name, text(p, "email")))
}

/// The list under `key` of an answer, whether Actionstep sent an array or one object.
fn records<'v>(v: &'v Value, key: &str) -> Vec<&'v Value> {
    match v.get(key) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        _ => Vec::new(),
    }
}

struct Names<'a> {
    p: &'a dyn Platform,
    s: &'a crate::settings::Settings,
    api: &'a ActionstepApi,
    client: Actionstep<'a>,
}

impl Names<'_> {
    fn cached(&self, kind: &str, id: &str) -> Result<Option<Cached>> {
        let Some(raw) = self.p.kv_get(&keys::actionstep_name(kind, id))? else {
            return Ok(None);
        };
        Ok(serde_json::from_slice::<Cached>(&raw)
            .ok()
            .filter(|c| self.p.now() < c.at + self.api.names_ttl_s))
    }

    fn remember(&self, kind: &str, id: &str, name: &str, email: Option<&str>) -> Result<()> {
        let c = Cached {
            name: name.to_string(),
            email: email.map(String::from),
            at: self.p.now(),
        };
        let raw = serde_json::to_vec(&c).map_err(|e| Error::Unavailable(e.to_string()))?;
        self.p.kv_set(&keys::actionstep_name(kind, id), &raw)
    }

    fn participant(&self, raw: &str) -> Result<(String, Option<String>)> {
        let pid = id_path(raw)?;
        if let Some(c) = self.cached("participant", pid)? {
            return Ok((c.name, c.email));
        }
        let answer = self.client.get(&format!("participants/{pid}"))?;
        let found = records(&answer, "participants")
            .first()
            .and_then(|p| participant_name(p))
            .ok_or_else(|| {
                Error::Unavailable(format!("Actionstep participant {pid} has no name"))
            })?;
        self.remember("participant", pid, &found.0, found.1.as_deref())?;
        Ok(found)
    }

    fn action_type(&self, raw: &str) -> Result<String> {
        let tid = id_path(raw)?;
        if let Some(c) = self.cached("actiontype", tid)? {
            return Ok(c.name);
        }
        let answer = self.client.get(&format!("actiontypes/{tid}"))?;
        let name = records(&answer, "actiontypes")
            .first()
            .and_then(|t| text(t, "name"))
            .ok_or_else(|| {
                Error::Unavailable(format!("Actionstep action type {tid} has no name"))
            })?;
        self.remember("actiontype", tid, &name, None)?;
        Ok(name)
    }

    /// The iManage user whose email is `email` (case aside), remembered like a name.
    fn imanage_user(&self, email: &str) -> Result<String> {
        let key = email.trim().to_ascii_lowercase();
        if let Some(c) = self.cached("imanage-user", &key)? {
            return Ok(c.name);
        }
        let users = crate::imanage::Imanage::new(self.p, self.s).list_all("/users", &[])?;
        let id = users
            .iter()
            .find(|u| text(u, "email").is_some_and(|e| e.eq_ignore_ascii_case(&key)))
            .and_then(|u| text(u, "id"))
            .ok_or_else(|| {
                Error::Rejected(format!(
                    "no iManage user has the email {email}, the assigned lawyer's in Actionstep"
                ))
            })?;
        self.remember("imanage-user", &key, &id, None)?;
        Ok(id)
    }

    /// The action participants of the client type, with their names (remembered too).
    fn clients_of_type(&self, action: &str, kind: &str) -> Result<Vec<Client>> {
        let answer = self.client.get(&format!(
            "actionparticipants?action={}&participantType={}&include=participant",
            id_path(action)?,
            id_path(kind)?
        ))?;
        let linked: Vec<&Value> = answer
            .get("linked")
            .map(|l| records(l, "participants"))
            .unwrap_or_default();
        let mut clients = Vec::new();
        for ap in records(&answer, "actionparticipants") {
            let Some(pid) = ap.pointer("/links/participant").and_then(id_text) else {
                continue;
            };
            let included = linked
                .iter()
                .find(|p| p.get("id").and_then(id_text).as_deref() == Some(pid.as_str()))
                .and_then(|p| participant_name(p));
            let name = match included {
                Some((name, email)) => {
                    self.remember("participant", id_path(&pid)?, &name, email.as_deref())?;
                    name
                }
                None => self.participant(&pid)?.0,
            };
            clients.push(Client { id: pid, name });
        }
        Ok(clients)
    }
}

/// Gives `matter` (mapped from `action`'s hook body) its real names from Actionstep.
pub fn enrich(
    p: &dyn Platform,
    s: &crate::settings::Settings,
    api: &ActionstepApi,
    hook: &ActionstepHook,
    action: &Action,
    matter: &mut Matter,
) -> Result<()> {
    let names = Names {
        p,
        s,
        api,
        client: Actionstep::new(p, s, api),
    };
    let type_id = action.links.action_type.as_ref().and_then(id_text);
    if let Some(t) = type_id.filter(|t| !hook.matter_types.contains_key(t)) {
        matter.matter_type = names.action_type(&t)?;
    }
    let mut clients = match &api.client_participant_type {
        Some(kind) => names.clients_of_type(&matter.id, kind)?,
        None => Vec::new(),
    };
    if clients.is_empty() {
        for c in &matter.clients {
            clients.push(Client {
                id: c.id.clone(),
                name: names.participant(&c.id)?.0,
            });
        }
    }
    matter.clients = clients;
    if let Some(assigned) = matter.assigned_to.clone() {
        let (name, email) = names.participant(&assigned)?;
        if s.owner_policy == crate::settings::OwnerPolicy::CurrentUser {
            let email = email.ok_or_else(|| {
                Error::Rejected(format!(
                    "owner_policy is current_user, but Actionstep participant {assigned} (the assigned lawyer) has no email to find the iManage user by"
                ))
            })?;
            matter.acting_user = Some(names.imanage_user(&email)?);
        }
        matter.assigned_to = Some(name);
    }
    Ok(())
}
