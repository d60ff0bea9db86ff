//! Checks on an incoming matter record, done before anything is read or written, so that a bad
//! record changes nothing.

use crate::fields::{clean, NAME_LIMIT};
use crate::model::{Error, Matter, Result};

/// Longest id accepted for matters and clients (iManage lookup ids are short aliases).
pub const ID_LIMIT: usize = 64;

/// Matter and client ids become lookup ids and key-value keys: ASCII letters, digits and
/// `-_.:` only, not starting with `.` — which keeps `../x`, `!` and whitespace out.
pub fn id(what: &str, value: &str) -> Result<()> {
    let bad = |why: &str| Error::InvalidMatter(format!("{what} {value:?} {why}"));
    if value.is_empty() {
        return Err(Error::InvalidMatter(format!("{what} is empty")));
    }
    if value.len() > ID_LIMIT {
        return Err(Error::InvalidMatter(format!(
            "{what} is {} characters long; at most {ID_LIMIT} are allowed",
            value.chars().count()
        )));
    }
    if value.starts_with('.') {
        return Err(bad("must not start with `.`"));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
    {
        return Err(bad(&format!(
            "contains {c:?}; ids may hold letters, digits and - _ . : only"
        )));
    }
    Ok(())
}

/// Validates the parts every flow relies on: the matter id, a title, and (when `needs_client`)
/// at least one client with a usable id.
pub fn matter(m: &Matter, needs_client: bool) -> Result<()> {
    id("matter id", &m.id)?;
    if clean(&m.title, NAME_LIMIT).is_empty() {
        return Err(Error::InvalidMatter(format!(
            "matter {} has an empty title",
            m.id
        )));
    }
    if needs_client && m.clients.is_empty() {
        return Err(Error::InvalidMatter(format!(
            "matter {} has no client; iManage files every matter under its client (custom1)",
            m.id
        )));
    }
    for c in &m.clients {
        id("client id", &c.id)?;
    }
    if m.matter_type.chars().any(char::is_control) || m.matter_type.len() > ID_LIMIT {
        return Err(Error::InvalidMatter(format!(
            "matter {} has a matter type that is not a short plain name",
            m.id
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Client;

    fn matter_with(id_: &str, clients: Vec<Client>) -> Matter {
        Matter {
            id: id_.into(),
            title: "Smith v Jones".into(),
            matter_type: "Litigation".into(),
            clients,
            file_reference: None,
            assigned_to: None,
            priority: None,
            status: None,
            acting_user: None,
        }
    }

    fn acme() -> Vec<Client> {
        vec![Client {
            id: "C-100".into(),
            name: "Acme".into(),
        }]
    }

    #[test]
    fn hostile_ids_are_refused() {
        for bad in [
            "",
            "../x",
            "a!b",
            "a b",
            ".hidden",
            "a/b",
            "ä",
            &"9".repeat(65),
        ] {
            assert!(
                matches!(
                    matter(&matter_with(bad, acme()), true),
                    Err(Error::InvalidMatter(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matter(&matter_with("M-1042.a:b_c", acme()), true).is_ok());
    }

    #[test]
    fn no_client_is_invalid_only_where_needed() {
        let m = matter_with("1044", vec![]);
        let err = matter(&m, true).unwrap_err();
        assert!(err.message().contains("no client"), "{err}");
        assert!(matter(&m, false).is_ok());
    }

    #[test]
    fn blank_title_is_invalid() {
        let mut m = matter_with("1", acme());
        m.title = " \u{7}\n ".into();
        assert!(matches!(matter(&m, true), Err(Error::InvalidMatter(_))));
    }
}
