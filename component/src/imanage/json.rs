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

pub fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The human part of an error envelope: `code_message` and each message's field and text.
pub fn error_summary(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    };
    if let Some(e) = v.get("error") {
        if let Some(s) = e.as_str() {
            // OAuth errors: {"error": "invalid_grant", "error_description": "..."}
            return match str_field(&v, "error_description") {
                Some(d) => format!("{s}: {d}"),
                None => s.to_string(),
            };
        }
        let mut out = str_field(e, "code_message").unwrap_or("error").to_string();
        for m in e
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = str_field(m, "code_message").unwrap_or("");
            match str_field(m, "field") {
                Some(f) => out.push_str(&format!("; {f}: {text}")),
                None if !text.is_empty() => out.push_str(&format!("; {text}")),
                None => {}
            }
        }
        return out;
    }
    "unexpected answer".into()
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

    #[test]
    fn error_summaries() {
        let body = json!({"error": {"code": 400, "code_message": "Invalid field",
            "messages": [{"code": "X", "code_message": "requires custom1", "field": "custom2"}]}});
        assert_eq!(
            error_summary(body.to_string().as_bytes()),
            "Invalid field; custom2: requires custom1"
        );
        let oauth = json!({"error": "invalid_grant", "error_description": "bad password"});
        assert_eq!(
            error_summary(oauth.to_string().as_bytes()),
            "invalid_grant: bad password"
        );
        assert_eq!(error_summary(b"<html>"), "<html>");
    }
}
