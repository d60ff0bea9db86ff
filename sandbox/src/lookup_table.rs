//! One library's lookup table for one custom field (`/customs/{field}`): its values in the order
//! they were added, and where each id is. Every workspace answer names the descriptions of its
//! lookup values, so a backfill of 10,000 matters against a matter table of 10,000 values spent
//! a fifth of the sandbox's CPU comparing ids one by one.

use std::collections::HashMap;

use crate::model::CustomValue;

#[derive(Debug, Clone, Default)]
pub struct LookupTable {
    values: Vec<CustomValue>,
    /// Positions in `values` by id: one id may be under several parents (custom2 under custom1).
    by_id: HashMap<String, Vec<usize>>,
}

impl LookupTable {
    /// Every value, in the order added.
    pub fn values(&self) -> &[CustomValue] {
        &self.values
    }

    /// The values with `id`, under any parent.
    pub fn with_id<'a>(&'a self, id: &str) -> impl Iterator<Item = &'a CustomValue> + 'a {
        self.by_id
            .get(id)
            .into_iter()
            .flatten()
            .map(|&i| &self.values[i])
    }

    /// The value `id`, under `parent` when one is given.
    pub fn find(&self, id: &str, parent: Option<&str>) -> Option<&CustomValue> {
        self.position(id, parent).map(|at| &self.values[at])
    }

    /// The value `id` under `parent` (when given) for an update of its description or
    /// `enabled`; its id and parent are what the table is indexed by and must stay as they are.
    pub fn find_mut(&mut self, id: &str, parent: Option<&str>) -> Option<&mut CustomValue> {
        let at = self.position(id, parent)?;
        Some(&mut self.values[at])
    }

    fn position(&self, id: &str, parent: Option<&str>) -> Option<usize> {
        self.by_id
            .get(id)?
            .iter()
            .copied()
            .find(|&i| parent.is_none_or(|p| self.values[i].parent.as_deref() == Some(p)))
    }

    pub fn push(&mut self, value: CustomValue) {
        self.by_id
            .entry(value.id.clone())
            .or_default()
            .push(self.values.len());
        self.values.push(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(id: &str, parent: Option<&str>) -> CustomValue {
        CustomValue {
            id: id.into(),
            description: format!("{id} under {parent:?}"),
            enabled: true,
            parent: parent.map(Into::into),
        }
    }

    #[test]
    fn finds_by_id_and_parent_and_keeps_the_order_added() {
        let mut table = LookupTable::default();
        table.push(value("M-1", Some("C-1")));
        table.push(value("M-2", Some("C-1")));
        table.push(value("M-1", Some("C-2")));
        let ids: Vec<_> = table.values().iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, ["M-1", "M-2", "M-1"]);
        assert_eq!(table.with_id("M-1").count(), 2);
        assert_eq!(
            table.find("M-1", None).unwrap().parent.as_deref(),
            Some("C-1")
        );
        assert_eq!(
            table.find("M-1", Some("C-2")).unwrap().parent.as_deref(),
            Some("C-2")
        );
        assert!(table.find("M-2", Some("C-2")).is_none());
        assert!(table.find("M-3", None).is_none());
        table.find_mut("M-1", Some("C-2")).unwrap().enabled = false;
        assert!(table.find("M-1", Some("C-1")).unwrap().enabled);
        assert!(!table.find("M-1", Some("C-2")).unwrap().enabled);
    }
}
