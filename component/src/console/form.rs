//! Form bodies (`application/x-www-form-urlencoded`), as browsers send them without JavaScript.

/// The fields of a form, in order; a name may repeat (checkboxes, lists).
#[derive(Debug, Clone, Default)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// Parses an urlencoded body; bytes that are not UTF-8 become U+FFFD.
    pub fn parse(body: &[u8]) -> Form {
        Form {
            fields: url::form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    /// The first value of `name`, trimmed; `None` when absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
    }

    /// The first value of `name`, trimmed, `""` when absent.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    /// Whether a checkbox named `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every value of `name`, in order.
    pub fn all<'f>(&'f self, name: &'f str) -> impl Iterator<Item = &'f str> + 'f {
        self.fields
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::Form;

    #[test]
    fn reads_repeated_and_encoded_fields() {
        let f = Form::parse(b"a=1&b=x+y%21&a=2&c=&flag=on");
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.all("a").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(f.text("b"), "x y!");
        assert_eq!(f.get("c"), Some(""));
        assert!(f.checked("flag"));
        assert!(!f.checked("missing"));
    }
}
