//! Workspaces by the text of their lookup and text custom fields, so that a search by matter
//! (custom2) or client (custom1) looks only at the workspaces that match. Real iManage answers
//! such searches from an index; a firm backfilling tens of thousands of matters against the
//! sandbox must not wait on a scan of every workspace per matter.

use std::collections::{BTreeSet, HashMap};

use crate::fields::{custom_kind, filter_text, FieldKind};
use crate::model::Workspace;

#[derive(Debug, Default)]
pub(crate) struct CustomIndex(HashMap<(String, String), BTreeSet<u64>>);

/// Fields a search compares as exact text (lookup and text fields; integer, date and boolean
/// fields compare by value, so the index cannot answer for them).
pub(crate) fn indexed(field: &str) -> bool {
    matches!(
        custom_kind(field),
        Some(FieldKind::Lookup | FieldKind::Text)
    )
}

impl CustomIndex {
    pub fn add(&mut self, number: u64, ws: &Workspace) {
        for (field, value) in ws.custom.iter().filter(|(f, _)| indexed(f)) {
            self.0
                .entry((field.clone(), filter_text(value)))
                .or_default()
                .insert(number);
        }
    }

    pub fn remove(&mut self, number: u64, ws: &Workspace) {
        for (field, value) in ws.custom.iter().filter(|(f, _)| indexed(f)) {
            let key = (field.clone(), filter_text(value));
            if let Some(set) = self.0.get_mut(&key) {
                set.remove(&number);
                if set.is_empty() {
                    self.0.remove(&key);
                }
            }
        }
    }

    /// Numbers of the workspaces whose `field` is `text`, in creation order.
    pub fn get(&self, field: &str, text: &str) -> Vec<u64> {
        self.0
            .get(&(field.to_string(), text.to_string()))
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }
}
