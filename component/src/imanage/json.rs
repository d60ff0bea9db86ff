//! Readers for iManage's JSON shapes, tolerant of both list envelopes the API uses.

use serde_json::Value;

/// `{"data": {...}}` → the object.
pub fn data(v: &Value) -> &Value {
    v.get("data").unwrap_or(v)
}

/// `{"data": [...]}` or `{"data": {"results": [...]}}` → the items.
pub fn results(v: &Value) -> Vec<Value> {
    let d = data(v);
    let list = d.get("results").unwrap_or(d);
    list.as_array().cloned().unwrap_or_default()
}

/// A list's `total_count` (top level, or beside the items under `data`), when the server gave one.
pub fn total_count(v: &Value) -> Option<u64> {
    v.get("total_count")
        .or_else(|| data(v).get("total_count"))
        .and_then(Value::as_u64)
}

/// A string field of an object, `None` when absent or not a string.
pub fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_list_envelopes() {
        assert_eq!(results(&json!({"data": [1, 2]})).len(), 2);
        assert_eq!(results(&json!({"data": {"results": [1]}})).len(), 1);
        assert!(results(&json!({"data": {}})).is_empty());
    }
}
