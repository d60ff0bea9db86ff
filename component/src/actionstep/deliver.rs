//! One Actionstep hook delivery, handled so that the hook never switches itself off:
//! Actionstep disables a hook at any answer but 200 (and deletes it at 401), so whatever happens
//! after the token matched, the answer is 200. Each action becomes a matter event handled once
//! (`events`; a failure is a dead letter there); what cannot become an event now — a body of no
//! known shape, a wrong setting, a body over the limit — is kept whole (`held`) for replay.

use serde_json::{json, Value};

use super::hook::{self, Delivery, Treatment};
use super::names;
use crate::events::{self, ReplayReport};
use crate::held::{self, Body};
use crate::model::Error;
use crate::platform::Platform;
use crate::settings::{ActionstepApi, ActionstepHook, Settings};

/// The `source` of held Actionstep deliveries.
pub const SOURCE: &str = "actionstep";

/// What could not be handled now, and so is held: an error kind and why.
struct Unhandled {
    kind: String,
    reason: String,
}

impl Unhandled {
    fn from_error(e: &Error) -> Unhandled {
        Unhandled {
            kind: e.kind().to_string(),
            reason: e.message().to_string(),
        }
    }
}

/// Handles a delivery and says what became of it, as the body of the 200 answer:
/// `{"results": [{"event_id", "type", "outcome"} | {"action_id", "outcome": {"skipped"}} |
/// {"error"}], "held"?: {"id", "kind", "reason"}}`. Only a failure to keep a delivery
/// (key-value itself down) is an error: then nothing could be kept, and the sender must retry.
pub fn receive(p: &dyn Platform, body: Body<'_>) -> crate::model::Result<Value> {
    let (results, unhandled) = match body {
        Body::Read(bytes) => handle(p, bytes),
        Body::TooLarge { limit } => (
            Vec::new(),
            Some(Unhandled {
                kind: "too-large".into(),
                reason: format!(
                    "the body is over the limit of {limit} bytes, so it was not kept: change the action in Actionstep to send it again"
                ),
            }),
        ),
    };
    let mut answer = json!({ "results": results });
    if let Some(u) = unhandled {
        let id = held::keep(p, SOURCE, body, &u.kind, &u.reason)?;
        answer["held"] = json!({"id": id, "kind": u.kind, "reason": u.reason});
    }
    Ok(answer)
}

/// Runs every held Actionstep delivery again, in the order they came, into `report`: one that
/// can now be read becomes its events (and is forgotten: a failing event is a dead letter from
/// then on); one that still cannot stays held.
pub fn replay_held(p: &dyn Platform, report: &mut ReplayReport) -> crate::model::Result<()> {
    for h in held::list(p, SOURCE)? {
        report.replayed += 1;
        let unhandled = if h.truncated {
            Some(Unhandled {
                kind: h.kind.clone(),
                reason: h.reason.clone(),
            })
        } else {
            handle(p, h.body.as_bytes()).1
        };
        match unhandled {
            None => {
                held::forget(p, &h.id)?;
                report.succeeded += 1;
            }
            Some(u) => report
                .still_held
                .push(held::failed_again(p, &h, &u.kind, &u.reason)?),
        }
    }
    Ok(())
}

/// Handles what can be handled of a body read in full: the results per action, and what could
/// not be handled, if anything (the body is then held whole; replaying it repeats the actions
/// that did go through, which their event ids make harmless).
fn handle(p: &dyn Platform, body: &[u8]) -> (Vec<Value>, Option<Unhandled>) {
    let delivery = match hook::parse(body) {
        Ok(d) => d,
        Err(why) => {
            return (
                Vec::new(),
                Some(Unhandled {
                    kind: "malformed".into(),
                    reason: format!("the body is not an Actionstep hook this version reads: {why}"),
                }),
            )
        }
    };
    let settings = match ActionstepHook::load(p) {
        Ok(s) => s,
        Err(e) => return (Vec::new(), Some(Unhandled::from_error(&e))),
    };
    // With the API configured, names come from Actionstep (or the delivery waits for them).
    let api = match ActionstepApi::load(p).and_then(|api| match api {
        Some(api) => Settings::load(p).map(|s| Some((api, s))),
        None => Ok(None),
    }) {
        Ok(api) => api,
        Err(e) => return (Vec::new(), Some(Unhandled::from_error(&e))),
    };
    let mut run = Run {
        p,
        settings: &settings,
        api: api.as_ref(),
        results: Vec::new(),
        unhandled: None,
    };
    match delivery {
        Delivery::Actions(actions) => {
            for action in &actions {
                run.action(action, None);
            }
        }
        Delivery::Participants(changes) => {
            let mut seen = std::collections::BTreeSet::new();
            for change in changes {
                if seen.insert(change.action.clone()) {
                    run.participants_changed(&change);
                }
            }
        }
    }
    (run.results, run.unhandled)
}

/// One delivery's actions being handled, and what became of each.
struct Run<'a> {
    p: &'a dyn Platform,
    settings: &'a ActionstepHook,
    api: Option<&'a (ActionstepApi, Settings)>,
    results: Vec<Value>,
    unhandled: Option<Unhandled>,
}

impl Run<'_> {
    fn skipped(&mut self, action_id: &str, why: &str) {
        self.results
            .push(json!({"action_id": action_id, "outcome": {"skipped": why}}));
    }

    /// An error that keeps the delivery for replay.
    fn failed(&mut self, action_id: &str, e: &Error) {
        self.results.push(
            json!({"action_id": action_id, "error": {"kind": e.kind(), "message": e.message()}}),
        );
        self.unhandled.get_or_insert(Unhandled::from_error(e));
    }

    fn action(&mut self, action: &hook::Action, occurrence: Option<i64>) {
        let p = self.p;
        let action_id = action.id().unwrap_or_default();
        let close = match action.treatment(self.settings.inactive) {
            Treatment::Ignore(why) => return self.skipped(&action_id, why),
            Treatment::Follow => false,
            Treatment::Close => true,
        };
        // `parse` made sure every action has an id.
        let Some(mut matter) = action.matter(&self.settings.matter_types) else {
            return;
        };
        if let Some((api, s)) = self.api {
            if let Err(e) = names::enrich(p, s, api, self.settings, action, &mut matter) {
                return self.failed(&action_id, &e);
            }
        }
        let event = match hook::event_for(p, action, matter, close, occurrence) {
            Ok(e) => e,
            Err(e) => return self.failed(&action_id, &e),
        };
        match events::handle(p, &event) {
            Ok(o) => self
                .results
                .push(json!({"event_id": event.id, "type": event.kind, "outcome": o})),
            Err(e) => {
                self.results.push(json!({"event_id": event.id, "type": event.kind, "error": {"kind": e.kind(), "message": e.message()}}));
                // Refused input leaves no dead letter (`events::handle`): the body is kept instead.
                if matches!(e, Error::InvalidMatter(_)) {
                    self.unhandled.get_or_insert(Unhandled::from_error(&e));
                }
            }
        }
    }

    /// A client added to or removed from an action: with `sync_fields_on_update`, the action is
    /// read again and its workspace's fields (the all-clients field among them) rewritten.
    fn participants_changed(&mut self, change: &hook::Participation) {
        let Some((api, s)) = self.api else {
            return self.skipped(
                &change.action,
                "an action participant changed; following it needs the Actionstep API (`actionstep_client_id`)",
            );
        };
        if let (Some(wanted), Some(kind)) = (&api.client_participant_type, &change.participant_type)
        {
            if wanted != kind {
                return self.skipped(&change.action, "not a change of the matter's clients");
            }
        }
        if !s.sync_fields_on_update {
            return self.skipped(
                &change.action,
                "a client changed, and `sync_fields_on_update` is off",
            );
        }
        match crate::links::get(self.p, &change.action) {
            Ok(Some(_)) => {}
            Ok(None) => return self.skipped(&change.action, "the action has no workspace"),
            Err(e) => return self.failed(&change.action, &e),
        }
        let read = names::id_path(&change.action).and_then(|id| {
            super::client::Actionstep::new(self.p, s, api).get(&format!("actions/{id}"))
        });
        let body = match read
            .and_then(|v| serde_json::to_vec(&v).map_err(|e| Error::Unavailable(e.to_string())))
        {
            Ok(b) => b,
            Err(e) => return self.failed(&change.action, &e),
        };
        // Each participant change is its own event: rewriting a workspace's fields to the
        // action's current state is harmless when a redelivery repeats it.
        let occurrence = match self
            .p
            .kv_increment(crate::keys::ACTIONSTEP_PARTICIPANT_SEQ, 1)
        {
            Ok(n) => n,
            Err(e) => return self.failed(&change.action, &e),
        };
        match hook::parse(&body) {
            Ok(Delivery::Actions(actions)) => {
                for action in &actions {
                    self.action(action, Some(occurrence));
                }
            }
            _ => self.failed(
                &change.action,
                &Error::Unavailable(format!(
                    "Actionstep's answer for action {} is not an action",
                    change.action
                )),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    const CREATED: &[u8] = include_bytes!("../../../tests/fixtures/actionstep-action-created.json");

    #[test]
    fn what_cannot_be_read_is_held_and_replayed_once_it_can() {
        let p = FakePlatform::configured(); // its network always fails
        p.set_config("actionstep_matter_types", "{not json");
        let answer = receive(&p, Body::Read(CREATED)).unwrap();
        assert_eq!(answer["held"]["kind"], "not-configured");
        assert!(answer["results"].as_array().unwrap().is_empty());
        assert!(
            p.sent.borrow().is_empty(),
            "nothing was tried with a wrong setting"
        );
        // The same body again is the same held delivery.
        let again = receive(&p, Body::Read(CREATED)).unwrap();
        assert_eq!(again["held"]["id"], answer["held"]["id"]);

        let mut report = ReplayReport::default();
        replay_held(&p, &mut report).unwrap();
        assert_eq!((report.replayed, report.succeeded), (1, 0));
        assert_eq!(report.still_held[0].attempts, 3);
        assert_eq!(report.still_held[0].body.as_bytes(), CREATED);

        // Fixed: the replay reads it; iManage being down makes its event a dead letter, and
        // the held body is forgotten, so it is kept exactly once.
        p.set_config("actionstep_matter_types", r#"{"12": "Litigation"}"#);
        let report = crate::replay_events(&p).unwrap();
        assert_eq!(report.succeeded, 1, "the held delivery was read");
        assert!(report.still_held.is_empty());
        assert_eq!(report.still_failing.len(), 1);
        let e = &report.still_failing[0].event;
        assert_eq!(
            (e.matter.id.as_str(), e.matter.matter_type.as_str()),
            ("1042", "Litigation")
        );
        assert!(crate::held::list(&p, SOURCE).unwrap().is_empty());
    }

    #[test]
    fn malformed_and_too_large_bodies_are_held_with_why() {
        let p = FakePlatform::configured();
        let answer = receive(&p, Body::Read(b"{\"actions\": 5}")).unwrap();
        assert_eq!(answer["held"]["kind"], "malformed");
        let big = receive(&p, Body::TooLarge { limit: 10 }).unwrap();
        assert_eq!(big["held"]["kind"], "too-large");
        let mut report = ReplayReport::default();
        replay_held(&p, &mut report).unwrap();
        assert_eq!((report.replayed, report.succeeded), (2, 0));
        assert!(report.still_held[1].truncated);
        assert!(p.sent.borrow().is_empty());
    }

    #[test]
    fn templates_and_deleted_actions_are_left_alone() {
        let p = FakePlatform::configured();
        for body in [
            &br#"{"actions": {"id": 9, "name": "Precedent", "status": "Template"}}"#[..],
            br#"{"actions": [{"id": 9, "name": "Gone", "status": "Active", "isDeleted": "T"}]}"#,
        ] {
            let answer = receive(&p, Body::Read(body)).unwrap();
            assert!(answer["held"].is_null(), "{answer}");
            assert!(
                answer["results"][0]["outcome"]["skipped"].is_string(),
                "{answer}"
            );
        }
        assert!(p.kv.borrow().is_empty(), "nothing kept, nothing claimed");
        assert!(p.sent.borrow().is_empty(), "nothing asked of iManage");
    }
}
