//! A tenant's name: the `{tenant}` of `/t/{tenant}/v1/…` and of `--tenant`.

use std::fmt;

/// A valid tenant name: what a matter id may be (letters, digits and `- _ . :`, at most 64,
/// not starting with `.`), and never `default`, which names the host's own configuration.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantName(String);

/// Why a name cannot be a tenant's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantNameError {
    /// Not the shape of an id.
    #[error("{0}")]
    Invalid(String),
    /// `default` is the tenant without a name.
    #[error("`default` is the host's own configuration (served under /v1/…); choose another name")]
    Reserved,
}

impl TenantName {
    /// `name`, checked with the component's own rule for ids (one rule for both).
    pub fn parse(name: &str) -> Result<TenantName, TenantNameError> {
        matterlink_component::validate::id("tenant name", name)
            .map_err(|e| TenantNameError::Invalid(e.message().to_string()))?;
        if name.eq_ignore_ascii_case("default") {
            return Err(TenantNameError::Reserved);
        }
        Ok(TenantName(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for TenantName {
    type Err = TenantNameError;
    fn from_str(s: &str) -> Result<TenantName, TenantNameError> {
        TenantName::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_ids() {
        for good in ["acme", "smith-jones_llp", "firm.1", "org:42"] {
            assert_eq!(TenantName::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", ".hidden", "a/b", "a b", "%2F", "ü", &"x".repeat(65)] {
            assert!(
                matches!(TenantName::parse(bad), Err(TenantNameError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert_eq!(TenantName::parse("Default"), Err(TenantNameError::Reserved));
    }
}
