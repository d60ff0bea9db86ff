//! Cookies: reading the `Cookie` header and writing `Set-Cookie` with the attributes every
//! console cookie carries (HttpOnly, SameSite=Strict, a path under the console, Secure unless
//! the console is reached on loopback).

/// The value of cookie `name` in the request's `Cookie` header.
pub fn get<'h>(cookie_header: Option<&'h str>, name: &str) -> Option<&'h str> {
    cookie_header?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// How a cookie is scoped: to the console's path, and to HTTPS unless on loopback.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The console's path (`{prefix}/admin`): a tenant's cookies never reach another tenant.
    pub path: String,
    /// Whether `Secure` is set: always, except when the browser reached the console on a
    /// loopback address (a first set-up on the admin's own machine, the tests).
    pub secure: bool,
}

impl Scope {
    /// `Set-Cookie` for `name=value` living `max_age_s` seconds.
    pub fn set(&self, name: &str, value: &str, max_age_s: u64) -> String {
        format!(
            "{name}={value}; Path={}; Max-Age={max_age_s}; HttpOnly; SameSite=Strict{}",
            self.path,
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// `Set-Cookie` removing `name`.
    pub fn clear(&self, name: &str) -> String {
        self.set(name, "", 0)
    }
}

/// Whether the `Host` a browser used names this machine (`localhost`, `127.0.0.0/8`, `[::1]`),
/// where cookies may go without `Secure` because nothing crosses a network.
pub fn is_loopback(host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_several() {
        let h = Some("a=1; matterlink_session=abc; b=\"2\"");
        assert_eq!(get(h, "matterlink_session"), Some("abc"));
        assert_eq!(get(h, "b"), Some("2"));
        assert_eq!(get(h, "c"), None);
        assert_eq!(get(None, "a"), None);
    }

    #[test]
    fn cookies_are_secure_except_on_loopback() {
        for host in ["localhost:8080", "127.0.0.1", "127.3.4.5:80", "[::1]:8080"] {
            assert!(is_loopback(Some(host)), "{host}");
        }
        for host in [
            "example.com",
            "10.0.0.1:80",
            "localhost.evil.com",
            "[2001:db8::1]",
        ] {
            assert!(!is_loopback(Some(host)), "{host}");
        }
        let secure = Scope {
            path: "/t/acme/admin".into(),
            secure: true,
        };
        let c = secure.set("s", "v", 60);
        assert_eq!(
            c,
            "s=v; Path=/t/acme/admin; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(secure.clear("s").contains("Max-Age=0"));
    }
}
