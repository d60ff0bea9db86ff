//! Delivering hooks as Actionstep does: a POST of the body to the hook's target URL, and the
//! hook switched off by any answer but 200 — disabled, or deleted at 401 (docs.actionstep.com,
//! webhooks; the API wiki, "REST Hooks"). Sent after the state's lock is released, one after
//! another in the order the change made them, and awaited, so that an admin route answers with
//! what the hooks' targets answered.

use std::time::Duration;

use super::model::Delivery;
use super::state::{ActionstepState, Pending};

/// How long a target may take to answer; longer counts as a failed delivery (assumed: Actionstep
/// does not say). Generous, because a target may be retrying its own calls meanwhile.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Sends each pending delivery and records it; returns what each target answered.
pub async fn send(state: &ActionstepState, pending: Vec<Pending>) -> Vec<Delivery> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .unwrap_or_default();
    let mut done = Vec::with_capacity(pending.len());
    for p in pending {
        let status = client
            .post(&p.hook.target_url)
            .json(&p.body)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16());
        let mut s = state.lock();
        let consequence = match status {
            Some(200) => {
                if let Some(h) = s.hooks.get_mut(&p.hook.id) {
                    h.trigger_count += 1;
                }
                None
            }
            Some(401) => {
                let removed = s.hooks.remove(&p.hook.id);
                removed.map(|h| {
                    s.switched_off.push(h);
                    "deleted".to_string()
                })
            }
            _ => {
                let disabled = s.hooks.get_mut(&p.hook.id).map(|h| {
                    h.status = "Disabled".into();
                    h.clone()
                });
                disabled.map(|h| {
                    s.switched_off.push(h);
                    "disabled".to_string()
                })
            }
        };
        let delivery = Delivery {
            hook: p.hook.id,
            event: p.hook.event_name.clone(),
            target: p.hook.target_url.clone(),
            status,
            consequence,
        };
        s.deliveries.push(delivery.clone());
        done.push(delivery);
    }
    done
}
