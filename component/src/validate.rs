//! Checks on an incoming matter record, done before anything is read or written, so that a bad
//! record changes nothing.

use crate::fields::{clean, NAME_LIMIT};
use crate::model::{Error, Matter, Result};

/// Longest id accepted for matters and clients (iManage lookup ids are short aliases).
pub const ID_LIMIT: usize = 64;
/// Longest text accepted in any matter field. Longer values are cleaned down to iManage's
/// 254 characters; values far beyond any real title are refused rather than truncated.
pub const TEXT_LIMIT: usize = 4096;
/// Most clients a matter may name.
pub const CLIENTS_LIMIT: usize = 100;

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
    let texts = [
        ("title", Some(&m.title)),
        ("matter_type", Some(&m.matter_type)),
        ("file_reference", m.file_reference.as_ref()),
        ("assigned_to", m.assigned_to.as_ref()),
        ("priority", m.priority.as_ref()),
        ("status", m.status.as_ref()),
        ("acting_user", m.acting_user.as_ref()),
    ];
    for (field, value) in texts {
        if value.is_some_and(|v| v.chars().count() > TEXT_LIMIT) {
            return Err(Error::InvalidMatter(format!(
                "matter {}: {field} is longer than {TEXT_LIMIT} characters",
                m.id
            )));
        }
    }
    if m.clients.len() > CLIENTS_LIMIT {
        return Err(Error::InvalidMatter(format!(
            "matter {} names {} clients; at most {CLIENTS_LIMIT} are accepted",
            m.id,
            m.clients.len()
        )));
    }
    if let Some(c) = m
        .clients
        .iter()
        .find(|c| c.name.chars().count() > TEXT_LIMIT)
    {
        return Err(Error::InvalidMatter(format!(
            "matter {}: the name of client {} is longer than {TEXT_LIMIT} characters",
            m.id, c.id
        )));
    }
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
    fn absurd_sizes_are_refused() {
        let mut m = matter_with("1", acme());
        m.title = "x".repeat(TEXT_LIMIT + 1);
        assert!(matches!(matter(&m, true), Err(Error::InvalidMatter(_))));
        m.title = "x".repeat(TEXT_LIMIT);
        assert!(
            matter(&m, true).is_ok(),
            "long but sane: cleaned later, not refused"
        );
        m.clients = (0..=CLIENTS_LIMIT)
            .map(|i| Client {
                id: format!("C{i}"),
                name: "n".into(),
            })
            .collect();
        assert!(matches!(matter(&m, true), Err(Error::InvalidMatter(_))));
    }

    #[test]
    fn blank_title_is_invalid() {
        let mut m = matter_with("1", acme());
        m.title = " \u{7}\n ".into();
        assert!(matches!(matter(&m, true), Err(Error::InvalidMatter(_))));
    }
}
