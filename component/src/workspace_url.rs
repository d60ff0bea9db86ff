//! The iManage Work links a person pastes to link a legacy matter to its workspace.
//!
//! A pure parser (no I/O): it decides whether a pasted link points at a workspace or folder of
//! the connected iManage and library, and says in plain words why not otherwise. Folder links
//! must later be resolved to their workspace through the API.
//!
//! Accepted, on the base URL's host (and port) or an extra host:
//! - `/work/link/w/{LIB!n}` (workspace), `/work/link/f/{LIB!n}` (folder);
//! - `/work/web/r/libraries/{LIB}/workspaces/{LIB!n}` and `…/folders/{LIB!n}`, with any query,
//!   fragment or trailing slash.
//!
//! Document links (`/work/link/d/…`, `…/documents/…`) are recognised in order to be refused
//! with a helpful message.

use std::fmt;

use percent_encoding::percent_decode_str;
use url::Url;

/// Longest pasted text considered (in characters, after trimming).
pub const MAX_LEN: usize = 2048;

/// At most this many characters of the input are kept in an error (and so ever shown).
const SHOWN: usize = 100;

/// What a pasted link points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// `id` like "ACTIVE!1042"; `library` is the id's prefix as written in the link.
    Workspace {
        /// The library as written in the link.
        library: String,
        /// The workspace id, e.g. `ACTIVE!1042`.
        id: String,
    },
    /// Must later be resolved to its workspace through the API.
    Folder {
        /// The library as written in the link.
        library: String,
        /// The folder id, e.g. `ACTIVE!77`.
        id: String,
    },
}

impl LinkTarget {
    /// The library as written in the link (the id's prefix before `!`).
    pub fn library(&self) -> &str {
        match self {
            LinkTarget::Workspace { library, .. } | LinkTarget::Folder { library, .. } => library,
        }
    }

    /// The iManage id, e.g. "ACTIVE!1042".
    pub fn id(&self) -> &str {
        match self {
            LinkTarget::Workspace { id, .. } | LinkTarget::Folder { id, .. } => id,
        }
    }
}

/// Why a link cannot be used. `Display` gives a sentence a paralegal understands, naming the
/// problem. Text taken from the input is kept to at most ~100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// Garbage, empty, not http(s), too long (> 2048 chars), whitespace or backslashes inside,
    /// or a user name/password in the link.
    NotAUrl,
    /// The link is for another server. `host` is the link's `host[:port]` (prefixed with
    /// `http://` when only the insecure scheme is wrong); `expected` is the configured one.
    ForeignHost {
        /// The link's host, as described above.
        host: String,
        /// The configured host.
        expected: String,
    },
    /// The id belongs to another library than the connected one.
    OtherLibrary {
        /// The link's library.
        library: String,
        /// The library the matter's workspace must be in.
        expected: String,
    },
    /// A link to a document, not a workspace.
    DocumentLink {
        /// The document's id, as written in the link.
        id: String,
    },
    /// A URL on the right host that is not one of the known forms (including a path library
    /// that disagrees with the id's library).
    NotAWorkspaceLink,
    /// The id does not match `^[^!]+![0-9]+$` after percent-decoding once
    /// (`^[^!]+![0-9]+(\.[0-9]+)?$` for documents).
    BadId {
        /// The id as found (shortened when long).
        id: String,
    },
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::NotAUrl => write!(
                f,
                "That is not a link to iManage Work. Paste the whole web address of the \
                 workspace, starting with https://, as copied from iManage Work."
            ),
            LinkError::ForeignHost { host, expected } => write!(
                f,
                "This link goes to {}, not to your firm's iManage Work at {}. Open the \
                 workspace in your firm's iManage Work and copy its link from there.",
                Shown(host),
                Shown(expected)
            ),
            LinkError::OtherLibrary { library, expected } => write!(
                f,
                "This link points to the iManage library \"{}\", but matterlink is connected \
                 to the library \"{}\". Choose the matter's workspace in the {} library.",
                Shown(library),
                Shown(expected),
                Shown(expected)
            ),
            LinkError::DocumentLink { id } => write!(
                f,
                "This link opens a document ({}), not a workspace. Open the matter's \
                 workspace in iManage Work and copy the workspace's link instead.",
                Shown(id)
            ),
            LinkError::NotAWorkspaceLink => write!(
                f,
                "This iManage Work link does not open a workspace or a folder. Open the \
                 matter's workspace in iManage Work and copy its link from the address bar."
            ),
            LinkError::BadId { id } => write!(
                f,
                "The item number in this link, \"{}\", is not a valid iManage id (it should \
                 look like ACTIVE!1234). Check that the whole link was copied, with nothing \
                 added or cut off.",
                Shown(id)
            ),
        }
    }
}

impl std::error::Error for LinkError {}

/// Where the link is checked against.
pub struct LinkContext<'a> {
    /// The configured iManage base URL, e.g. `https://firm.cloudimanage.com` or
    /// `http://127.0.0.1:8099`.
    pub base_url: &'a str,
    /// Extra hosts that serve the same iManage (vanity hosts, e.g. "dms.firm.com", optionally
    /// with a `:port`), case-insensitive.
    pub extra_hosts: &'a [String],
    /// The connected library, e.g. "ACTIVE" (compared case-insensitively).
    pub library: &'a str,
}

/// What a path names, before the id is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Workspace,
    Folder,
    Document,
}

/// Parses a pasted link. Never panics; every input gives a target or a `LinkError`.
pub fn parse(input: &str, ctx: &LinkContext<'_>) -> Result<LinkTarget, LinkError> {
    let text = unwrap_pasted(input);
    if text.is_empty() || text.chars().count() > MAX_LEN {
        return Err(LinkError::NotAUrl);
    }
    // The url crate would silently drop tabs/newlines and read `\` as `/`; a pasted link has
    // neither, so refuse rather than guess.
    if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || is_invisible(c) || c == '\\')
    {
        return Err(LinkError::NotAUrl);
    }
    let scheme_ok =
        starts_with_ignore_case(text, "https://") || starts_with_ignore_case(text, "http://");
    if !scheme_ok {
        return Err(LinkError::NotAUrl);
    }
    let url = Url::parse(text).map_err(|_| LinkError::NotAUrl)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(LinkError::NotAUrl);
    }

    check_origin(&url, ctx)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(LinkError::NotAUrl);
    }

    let (kind, path_library, raw_id) = classify_path(&url)?;
    let id = percent_decode_str(raw_id)
        .decode_utf8()
        .map_err(|_| LinkError::BadId {
            id: clip(&String::from_utf8_lossy(
                &percent_decode_str(raw_id).collect::<Vec<u8>>(),
            )),
        })?
        .into_owned();
    let Some(id_library) = id_library(&id, kind == Kind::Document) else {
        return Err(LinkError::BadId { id: clip(&id) });
    };
    if kind == Kind::Document {
        return Err(LinkError::DocumentLink { id: clip(&id) });
    }
    if let Some(raw) = path_library {
        let agrees = percent_decode_str(raw)
            .decode_utf8()
            .is_ok_and(|lib| lib.eq_ignore_ascii_case(id_library));
        if !agrees {
            return Err(LinkError::NotAWorkspaceLink);
        }
    }
    if !id_library.eq_ignore_ascii_case(ctx.library.trim()) {
        return Err(LinkError::OtherLibrary {
            library: clip(id_library),
            expected: clip(ctx.library.trim()),
        });
    }
    let library = id_library.to_string();
    Ok(match kind {
        Kind::Folder => LinkTarget::Folder { library, id },
        _ => LinkTarget::Workspace { library, id },
    })
}

/// Strips what email clients and chat put around a link: whitespace (including invisible
/// characters), `<…>`, `<URL:…>` and quotes.
fn unwrap_pasted(input: &str) -> &str {
    let mut s = input;
    // Each round removes at least two characters, so this ends; the cap keeps it cheap.
    for _ in 0..8 {
        s = s.trim_matches(|c: char| c.is_whitespace() || is_invisible(c));
        let inner = strip_pair(s, '<', '>')
            .map(|t| match t.get(..4) {
                Some(p) if p.eq_ignore_ascii_case("url:") => &t[4..],
                _ => t,
            })
            .or_else(|| strip_pair(s, '"', '"'))
            .or_else(|| strip_pair(s, '\'', '\''))
            .or_else(|| strip_pair(s, '\u{201C}', '\u{201D}'))
            .or_else(|| strip_pair(s, '\u{2018}', '\u{2019}'))
            .or_else(|| strip_pair(s, '\u{AB}', '\u{BB}'));
        match inner {
            Some(t) => s = t,
            None => break,
        }
    }
    s
}

fn strip_pair(s: &str, open: char, close: char) -> Option<&str> {
    s.strip_prefix(open)?.strip_suffix(close)
}

/// Zero-width and direction-control characters: invisible in a paste, never part of a link.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// `host[:port]`, the port only when not the scheme's default.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

fn same_host(a: &str, b: &str) -> bool {
    let norm = |h: &str| h.strip_suffix('.').unwrap_or(h).to_string();
    norm(a).eq_ignore_ascii_case(&norm(b))
}

/// Whether `link` is on the host and port of `server`: an explicit non-default port of the
/// server must be the link's effective port; otherwise the link must use its scheme's default.
fn served_by(server: &Url, link: &Url) -> bool {
    let (Some(sh), Some(lh)) = (server.host_str(), link.host_str()) else {
        return false;
    };
    let port_ok = match server.port() {
        Some(port) => link.port_or_known_default() == Some(port),
        None => link.port().is_none(),
    };
    same_host(sh, lh) && port_ok
}

/// An extra host entry as a URL: "dms.firm.com", "dms.firm.com:8443" or a full base URL.
/// Entries that are not a bare host (with credentials, a query…) are ignored.
fn extra_host(entry: &str) -> Option<Url> {
    let entry = entry.trim();
    if entry.is_empty() {
        return None;
    }
    let url = if entry.contains("://") {
        Url::parse(entry).ok()?
    } else {
        Url::parse(&format!("https://{entry}")).ok()?
    };
    let bare = url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.path() == "/"
        && url.host_str().is_some();
    bare.then_some(url)
}

fn check_origin(url: &Url, ctx: &LinkContext<'_>) -> Result<(), LinkError> {
    let base = Url::parse(ctx.base_url.trim())
        .ok()
        .filter(|b| b.host_str().is_some());
    let expected = match &base {
        Some(b) => authority(b),
        None => clip(ctx.base_url.trim()),
    };
    let on_base = base.as_ref().is_some_and(|b| served_by(b, url));
    let on_extra = ctx
        .extra_hosts
        .iter()
        .filter_map(|h| extra_host(h))
        .any(|h| served_by(&h, url));
    if !on_base && !on_extra {
        return Err(LinkError::ForeignHost {
            host: clip(&authority(url)),
            expected,
        });
    }
    let base_is_http = base.as_ref().is_some_and(|b| b.scheme() == "http");
    if url.scheme() == "http" && !base_is_http {
        let scheme = base.as_ref().map_or("https", |b| b.scheme());
        return Err(LinkError::ForeignHost {
            host: clip(&format!("http://{}", authority(url))),
            expected: clip(&format!("{scheme}://{expected}")),
        });
    }
    Ok(())
}

/// The kind, the path's library segment (web form only) and the raw (still encoded) id.
fn classify_path(url: &Url) -> Result<(Kind, Option<&str>, &str), LinkError> {
    let mut segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    if segments.len() > 1 && segments.last() == Some(&"") {
        segments.pop();
    }
    let word = |s: &str, w: &str| s.eq_ignore_ascii_case(w);
    match segments.as_slice() {
        [work, link, kind, id] if word(work, "work") && word(link, "link") => {
            let kind = match kind.to_ascii_lowercase().as_str() {
                "w" => Kind::Workspace,
                "f" => Kind::Folder,
                "d" => Kind::Document,
                _ => return Err(LinkError::NotAWorkspaceLink),
            };
            Ok((kind, None, id))
        }
        [work, web, r, libraries, library, kind, id]
            if word(work, "work")
                && word(web, "web")
                && word(r, "r")
                && word(libraries, "libraries") =>
        {
            let kind = match kind.to_ascii_lowercase().as_str() {
                "workspaces" => Kind::Workspace,
                "folders" => Kind::Folder,
                "documents" => Kind::Document,
                _ => return Err(LinkError::NotAWorkspaceLink),
            };
            Ok((kind, Some(library), id))
        }
        _ => Err(LinkError::NotAWorkspaceLink),
    }
}

/// The library prefix of a well-formed id `LIB!n` (documents: `LIB!n` or `LIB!n.v`).
fn id_library(id: &str, document: bool) -> Option<&str> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (library, number) = id.split_once('!')?;
    let number_ok = match number.split_once('.') {
        Some((n, version)) => document && digits(n) && digits(version),
        None => digits(number),
    };
    (!library.is_empty() && number_ok).then_some(library)
}

/// At most `SHOWN` characters of `s`, marked with `…` when cut.
fn clip(s: &str) -> String {
    match s.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_string(),
    }
}

/// Input text made safe to show: control and invisible characters replaced.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for c in clip(self.0).chars() {
            let c = if c.is_control() || is_invisible(c) {
                '\u{FFFD}'
            } else {
                c
            };
            f.write_char(c)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOUD: &str = "https://firm.cloudimanage.com";

    fn with(base: &str, input: &str) -> Result<LinkTarget, LinkError> {
        let extra = vec![
            "dms.firm.com".to_string(),
            "DMS2.Firm.COM:8443".to_string(),
            "https://u:p@sneaky.example".to_string(),
            String::new(),
        ];
        parse(
            input,
            &LinkContext {
                base_url: base,
                extra_hosts: &extra,
                library: "ACTIVE",
            },
        )
    }

    fn p(input: &str) -> Result<LinkTarget, LinkError> {
        with(CLOUD, input)
    }

    fn local(input: &str) -> Result<LinkTarget, LinkError> {
        with("http://127.0.0.1:8099", input)
    }

    fn ws(library: &str, id: &str) -> Result<LinkTarget, LinkError> {
        Ok(LinkTarget::Workspace {
            library: library.into(),
            id: id.into(),
        })
    }

    fn folder(library: &str, id: &str) -> Result<LinkTarget, LinkError> {
        Ok(LinkTarget::Folder {
            library: library.into(),
            id: id.into(),
        })
    }

    fn foreign(host: &str, expected: &str) -> Result<LinkTarget, LinkError> {
        Err(LinkError::ForeignHost {
            host: host.into(),
            expected: expected.into(),
        })
    }

    fn bad_id(id: &str) -> Result<LinkTarget, LinkError> {
        Err(LinkError::BadId { id: id.into() })
    }

    // --- accepted forms ---

    #[test]
    fn short_workspace_link() {
        assert_eq!(
            p("https://firm.cloudimanage.com/work/link/w/ACTIVE!1042"),
            ws("ACTIVE", "ACTIVE!1042")
        );
    }

    #[test]
    fn short_workspace_link_on_vanity_host() {
        assert_eq!(
            p("https://DMS.firm.com/work/link/w/ACTIVE!7"),
            ws("ACTIVE", "ACTIVE!7")
        );
    }

    #[test]
    fn vanity_host_with_configured_port() {
        assert_eq!(
            p("https://dms2.firm.com:8443/work/link/w/ACTIVE!7"),
            ws("ACTIVE", "ACTIVE!7")
        );
        assert_eq!(
            p("https://dms2.firm.com/work/link/w/ACTIVE!7"),
            foreign("dms2.firm.com", "firm.cloudimanage.com")
        );
    }

    #[test]
    fn short_workspace_link_on_loopback_with_port() {
        assert_eq!(
            local("http://127.0.0.1:8099/work/link/w/ACTIVE!1"),
            ws("ACTIVE", "ACTIVE!1")
        );
    }

    #[test]
    fn short_folder_link() {
        assert_eq!(
            p("https://firm.cloudimanage.com/work/link/f/ACTIVE!55"),
            folder("ACTIVE", "ACTIVE!55")
        );
        assert_eq!(
            local("http://127.0.0.1:8099/work/link/f/ACTIVE!55"),
            folder("ACTIVE", "ACTIVE!55")
        );
    }

    #[test]
    fn web_workspace_link_with_query() {
        assert_eq!(
            p("https://firm.cloudimanage.com/work/web/r/libraries/ACTIVE/workspaces/ACTIVE!1042?p=1"),
            ws("ACTIVE", "ACTIVE!1042")
        );
        assert_eq!(
            p("https://dms.firm.com/work/web/r/libraries/ACTIVE/workspaces/ACTIVE!1042"),
            ws("ACTIVE", "ACTIVE!1042")
        );
        assert_eq!(
            local("http://127.0.0.1:8099/work/web/r/libraries/ACTIVE/workspaces/ACTIVE!3?p=1"),
            ws("ACTIVE", "ACTIVE!3")
        );
    }

    #[test]
    fn web_folder_link_with_selected_item() {
        assert_eq!(
            p("https://firm.cloudimanage.com/work/web/r/libraries/ACTIVE/folders/ACTIVE!88?p=1&selectedItem=ACTIVE!9.1"),
            folder("ACTIVE", "ACTIVE!88")
        );
    }

    #[test]
    fn web_link_trailing_slash_and_fragment() {
        assert_eq!(
            p("https://firm.cloudimanage.com/work/web/r/libraries/ACTIVE/workspaces/ACTIVE!1042/"),
            ws("ACTIVE", "ACTIVE!1042")
        );
        assert_eq!(
            p("https://firm.cloudimanage.com/work/web/r/libraries/ACTIVE/workspaces/ACTIVE!1042/?p=1#top"),
            ws("ACTIVE", "ACTIVE!1042")
        );
        assert_eq!(
            p("https://firm.cloudimanage.com/work/web/r/libraries/ACTIVE/folders/ACTIVE!5#x"),
            folder("ACTIVE", "ACTIVE!5")
        );
    }

    #[test]
    fn mixed_case_library_is_returned_as_written() {
        assert_eq!(
            p("https://firm.cloudimanage.com/work/web/r/libraries/Active/workspaces/Active!12"),
            ws("Active", "Active!12")
        );
        assert_eq!(
            p("https://firm.cloudimanage.com/work/web/r/libraries/active/workspaces/ACTIVE!12"),
            ws("ACTIVE", "ACTIVE!12")
        );
        assert_eq!(
            p("https://firm.cloudimanage.com/work/link/w/active!12"),
            ws("active", "active!12")
        );
    }

    #[test]
    fn mixed_case_scheme_host_and_path_words() {
        assert_eq!(
            p("HTTPS://Firm.CloudIManage.com/Work/Web/R/Libraries/ACTIVE/Workspaces/ACTIVE!12"),
            ws("ACTIVE", "ACTIVE!12")
        );
    }

    #[test]
    fn percent_encoded_ids_are_decoded_once() {
        assert_eq!(
            p("https://firm.cloudimanage.com/work/web/r/libraries/ACTIVE/workspaces/ACTIVE%21123?p=1"),
            ws("ACTIVE", "ACTIVE!123")
        );
        assert_eq!(
            p("https://firm.cloudimanage.com/work/link/w/ACTIVE%21123"),
            ws("ACTIVE", "ACTIVE!123")
        );
        assert_eq!(
            p("https://firm.cloudimanage.com/work/web/r/libraries/%41CTIVE/workspaces/%41CTIVE%21123"),
            ws("ACTIVE", "ACTIVE!123")
        );
    }

    #[test]
    fn double_encoded_id_is_bad() {
        assert_eq!(
            p("https://firm.cloudimanage.com/work/web/r/libraries/ACTIVE/workspaces/ACTIVE%2521123"),
            bad_id("ACTIVE%21123")
        );
    }

    #[test]
    fn whitespace_angle_brackets_and_quotes_are_stripped() {
        let want = ws("ACTIVE", "ACTIVE!1042");
        for pasted in [
            "  https://firm.cloudimanage.com/work/link/w/ACTIVE!1042\n",
            "<https://firm.cloudimanage.com/work/link/w/ACTIVE!1042>",
            " <URL:https://firm.cloudimanage.com/work/link/w/ACTIVE!1042> ",
            "\"https://firm.cloudimanage.com/work/link/w/ACTIVE!1042\"",
            "'<https://firm.cloudimanage.com/work/link/w/ACTIVE!1042>'",
            "\u{201C}https://firm.cloudimanage.com/work/link/w/ACTIVE!1042\u{201D}",
            "\u{FEFF}\u{200B}https://firm.cloudimanage.com/work/link/w/ACTIVE!1042\u{A0}\t",
        ] {
            assert_eq!(p(pasted), want, "{pasted:?}");
        }
    }

    #[test]
    fn default_port_written_out_is_the_same_host() {
        assert_eq!(
            p("https://firm.cloudimanage.com:443/work/link/w/ACTIVE!1"),
            ws("ACTIVE", "ACTIVE!1")
        );
    }

    #[test]
    fn https_link_to_an_http_base_on_the_same_port() {
        assert_eq!(
            local("https://127.0.0.1:8099/work/link/w/ACTIVE!1"),
            ws("ACTIVE", "ACTIVE!1")
        );
    }

    #[test]
    fn fully_qualified_host_with_trailing_dot() {
        assert_eq!(
            p("https://firm.cloudimanage.com./work/link/w/ACTIVE!1"),
            ws("ACTIVE", "ACTIVE!1")
        );
    }

    #[test]
    fn accessors() {
        let t = p("https://firm.cloudimanage.com/work/link/f/ACTIVE!5").unwrap();
        assert_eq!((t.library(), t.id()), ("ACTIVE", "ACTIVE!5"));
    }

    // --- error variants ---

    #[test]
    fn not_a_url() {
        for bad in [
            "",
            "   ",
            "<>",
            "\"\"",
            "hello",
            "ACTIVE!1042",
            "/work/link/w/ACTIVE!1042",
            "work/link/w/ACTIVE!1042",
            "firm.cloudimanage.com/work/link/w/ACTIVE!1042",
            "//firm.cloudimanage.com/work/link/w/ACTIVE!1042",
            "ftp://firm.cloudimanage.com/work/link/w/ACTIVE!1042",
            "file:///work/link/w/ACTIVE!1042",
            "javascript:alert(1)//https://firm.cloudimanage.com/work/link/w/ACTIVE!1",
            "JavaScript:https://firm.cloudimanage.com/work/link/w/ACTIVE!1",
            "data:text/html,https://firm.cloudimanage.com/",
            "mailto:someone@firm.com",
            "https://",
            "https:// /work",
            "https://[::1/work",
            "http://",
            "https:firm.cloudimanage.com/work/link/w/ACTIVE!1",
        ] {
            assert_eq!(p(bad), Err(LinkError::NotAUrl), "{bad:?}");
        }
    }

    #[test]
    fn too_long_is_not_a_url() {
        let prefix = "https://firm.cloudimanage.com/work/link/w/ACTIVE!1?x=";
        let just_fits = format!("  {prefix}{}\n", "a".repeat(MAX_LEN - prefix.len()));
        assert_eq!(p(&just_fits), ws("ACTIVE", "ACTIVE!1"));
        let one_over = format!("{prefix}{}", "a".repeat(MAX_LEN + 1 - prefix.len()));
        assert_eq!(p(&one_over), Err(LinkError::NotAUrl));
        assert_eq!(p(&"x".repeat(1_000_000)), Err(LinkError::NotAUrl));
    }

    #[test]
    fn foreign_host() {
        assert_eq!(
            p("https://other.cloudimanage.com/work/link/w/ACTIVE!1"),
            foreign("other.cloudimanage.com", "firm.cloudimanage.com")
        );
        assert_eq!(
            p("https://cloudimanage.com/work/link/w/ACTIVE!1"),
            foreign("cloudimanage.com", "firm.cloudimanage.com")
        );
    }

    #[test]
    fn wrong_port_is_foreign() {
        assert_eq!(
            local("http://127.0.0.1:9999/work/link/w/ACTIVE!1"),
            foreign("127.0.0.1:9999", "127.0.0.1:8099")
        );
        assert_eq!(
            local("http://127.0.0.1/work/link/w/ACTIVE!1"),
            foreign("127.0.0.1", "127.0.0.1:8099")
        );
        assert_eq!(
            local("http://localhost:8099/work/link/w/ACTIVE!1"),
            foreign("localhost:8099", "127.0.0.1:8099")
        );
        assert_eq!(
            p("https://firm.cloudimanage.com:8443/work/link/w/ACTIVE!1"),
            foreign("firm.cloudimanage.com:8443", "firm.cloudimanage.com")
        );
    }

    #[test]
    fn http_only_when_the_base_is_http() {
        assert_eq!(
            p("http://firm.cloudimanage.com/work/link/w/ACTIVE!1"),
            foreign(
                "http://firm.cloudimanage.com",
                "https://firm.cloudimanage.com"
            )
        );
        assert_eq!(
            p("http://dms.firm.com/work/link/w/ACTIVE!1"),
            foreign("http://dms.firm.com", "https://firm.cloudimanage.com")
        );
        assert_eq!(
            local("http://127.0.0.1:8099/work/link/w/ACTIVE!1"),
            ws("ACTIVE", "ACTIVE!1")
        );
    }

    #[test]
    fn other_library() {
        assert_eq!(
            p("https://firm.cloudimanage.com/work/link/w/ARCHIVE!1042"),
            Err(LinkError::OtherLibrary {
                library: "ARCHIVE".into(),
                expected: "ACTIVE".into()
            })
        );
        assert_eq!(
            p("https://firm.cloudimanage.com/work/web/r/libraries/Archive/folders/Archive!3"),
            Err(LinkError::OtherLibrary {
                library: "Archive".into(),
                expected: "ACTIVE".into()
            })
        );
    }

    #[test]
    fn path_library_and_id_library_must_agree() {
        assert_eq!(
            p("https://firm.cloudimanage.com/work/web/r/libraries/ARCHIVE/workspaces/ACTIVE!1"),
            Err(LinkError::NotAWorkspaceLink)
        );
        assert_eq!(
            p("https://firm.cloudimanage.com/work/web/r/libraries/ACTIVE/workspaces/ARCHIVE!1"),
            Err(LinkError::NotAWorkspaceLink)
        );
    }

    #[test]
    fn document_links() {
        let doc = |id: &str| Err(LinkError::DocumentLink { id: id.into() });
        assert_eq!(
            p("https://firm.cloudimanage.com/work/link/d/ACTIVE!2001.1"),
            doc("ACTIVE!2001.1")
        );
        assert_eq!(
            p("https://firm.cloudimanage.com/work/link/d/ACTIVE!2001"),
            doc("ACTIVE!2001")
        );
        assert_eq!(
            p("https://firm.cloudimanage.com/work/web/r/libraries/ACTIVE/documents/ACTIVE%212001.3?p=1"),
            doc("ACTIVE!2001.3")
        );
        assert_eq!(
            p("https://dms.firm.com/work/link/d/ARCHIVE!9.1"),
            doc("ARCHIVE!9.1")
        );
    }

    #[test]
    fn not_a_workspace_link() {
        for bad in [
            "https://firm.cloudimanage.com/",
            "https://firm.cloudimanage.com",
            "https://firm.cloudimanage.com/work",
            "https://firm.cloudimanage.com/work/web/",
            "https://firm.cloudimanage.com/work/web/recent?p=1",
            "https://firm.cloudimanage.com/work/link/w/",
            "https://firm.cloudimanage.com/work/link/x/ACTIVE!1",
            "https://firm.cloudimanage.com/work/link/w/ACTIVE!1/extra",
            "https://firm.cloudimanage.com/work/web/r/libraries/ACTIVE/emails/ACTIVE!1",
            "https://firm.cloudimanage.com/work/web/r/libraries/ACTIVE/workspaces/ACTIVE!1/folders/ACTIVE!2",
            "https://firm.cloudimanage.com/api/v2/customers/1/libraries/ACTIVE/workspaces/ACTIVE!1",
            "https://firm.cloudimanage.com//work/link/w/ACTIVE!1",
            "https://firm.cloudimanage.com/?url=/work/link/w/ACTIVE!1",
        ] {
            assert_eq!(p(bad), Err(LinkError::NotAWorkspaceLink), "{bad:?}");
        }
    }

    #[test]
    fn bad_ids() {
        for (link, id) in [
            (
                "https://firm.cloudimanage.com/work/link/w/ACTIVE1042",
                "ACTIVE1042",
            ),
            ("https://firm.cloudimanage.com/work/link/w/!1042", "!1042"),
            (
                "https://firm.cloudimanage.com/work/link/w/ACTIVE!",
                "ACTIVE!",
            ),
            (
                "https://firm.cloudimanage.com/work/link/w/ACTIVE!12a",
                "ACTIVE!12a",
            ),
            (
                "https://firm.cloudimanage.com/work/link/w/ACTIVE!1!2",
                "ACTIVE!1!2",
            ),
            (
                "https://firm.cloudimanage.com/work/link/w/ACTIVE!1042.1",
                "ACTIVE!1042.1",
            ),
            (
                "https://firm.cloudimanage.com/work/link/w/ACTIVE!1042.",
                "ACTIVE!1042.",
            ),
            (
                "https://firm.cloudimanage.com/work/link/w/ACTIVE!%EF%BC%91",
                "ACTIVE!１",
            ),
            (
                "https://firm.cloudimanage.com/work/link/d/ACTIVE!1.x",
                "ACTIVE!1.x",
            ),
            (
                "https://firm.cloudimanage.com/work/link/w/ACTIVE%21%FF",
                "ACTIVE!\u{FFFD}",
            ),
        ] {
            assert_eq!(p(link), bad_id(id), "{link}");
        }
    }

    // --- hostile input ---

    #[test]
    fn credentials_are_refused() {
        assert_eq!(
            p("https://user:secret@firm.cloudimanage.com/work/link/w/ACTIVE!1"),
            Err(LinkError::NotAUrl)
        );
        assert_eq!(
            p("https://user@firm.cloudimanage.com/work/link/w/ACTIVE!1"),
            Err(LinkError::NotAUrl)
        );
    }

    #[test]
    fn userinfo_tricks_name_the_real_host() {
        let err = p("https://firm.cloudimanage.com@evil.com/work/link/w/ACTIVE!1");
        assert_eq!(err, foreign("evil.com", "firm.cloudimanage.com"));
        let err =
            p("https://firm.cloudimanage.com:secret@evil.com/work/link/w/ACTIVE!1").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        // a vanity host listed with credentials is ignored, not trusted
        assert_eq!(
            p("https://sneaky.example/work/link/w/ACTIVE!1"),
            foreign("sneaky.example", "firm.cloudimanage.com")
        );
    }

    #[test]
    fn lookalike_hosts_are_foreign() {
        assert_eq!(
            p("https://firm.cloudimanage.com.evil.com/work/link/w/ACTIVE!1"),
            foreign("firm.cloudimanage.com.evil.com", "firm.cloudimanage.com")
        );
        assert_eq!(
            p("https://firm.cloudimanage.com%2eevil.com/work/link/w/ACTIVE!1"),
            foreign("firm.cloudimanage.com.evil.com", "firm.cloudimanage.com")
        );
        assert_eq!(
            p("https://evil.com/?firm.cloudimanage.com"),
            foreign("evil.com", "firm.cloudimanage.com")
        );
        assert_eq!(
            p("https://evil.com/work/link/w/ACTIVE!1#firm.cloudimanage.com"),
            foreign("evil.com", "firm.cloudimanage.com")
        );
        assert_eq!(
            p("https://evilfirm.cloudimanage.com/work/link/w/ACTIVE!1"),
            foreign("evilfirm.cloudimanage.com", "firm.cloudimanage.com")
        );
    }

    #[test]
    fn a_host_that_is_not_ascii_is_refused() {
        // iManage hosts are ASCII; the component reads no Unicode host names (see the
        // `idna_adapter` pin in component/Cargo.toml), so a look-alike host never passes for the
        // firm's: neither a dotless ı nor full-width letters a browser would map to ASCII.
        for text in [
            "https://f\u{131}rm.cloudimanage.com/work/link/w/ACTIVE!1",
            "https://\u{FF46}irm.cloudimanage.com/work/link/w/ACTIVE!1",
            "https://FİRM.cloudimanage.com/work/link/w/ACTIVE!1",
        ] {
            assert_eq!(p(text), Err(LinkError::NotAUrl), "{text}");
        }
        // The punycode form of a look-alike is another host, and named as one.
        match p("https://xn--frm-hsa.cloudimanage.com/work/link/w/ACTIVE!1").unwrap_err() {
            LinkError::ForeignHost { host, .. } => assert!(host.starts_with("xn--"), "{host}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn backslashes_and_inner_whitespace_are_refused() {
        for bad in [
            "https://evil.com\\@firm.cloudimanage.com/work/link/w/ACTIVE!1",
            "https://firm.cloudimanage.com\\work\\link\\w\\ACTIVE!1",
            "https://firm.cloudimanage.com/work/link/w/ACTIVE!1\\",
            "https://firm.cloud\nimanage.com/work/link/w/ACTIVE!1",
            "https://firm.cloudimanage.com/work/link/w/ACTIVE !1",
            "https://firm.cloudimanage.com/work/link/w/ACTIVE\t!1",
            "https://firm.cloudimanage.com/work/link/w/ACTIVE!1\u{0}",
            "https://firm.cloudimanage.com/work/link/w/\u{202E}1!EVITCA",
        ] {
            assert_eq!(p(bad), Err(LinkError::NotAUrl), "{bad:?}");
        }
    }

    #[test]
    fn dot_segments_cannot_smuggle_a_document_as_a_workspace() {
        assert_eq!(
            p("https://firm.cloudimanage.com/work/link/w/../d/ACTIVE!1.1"),
            Err(LinkError::DocumentLink {
                id: "ACTIVE!1.1".into()
            })
        );
        assert_eq!(
            p("https://firm.cloudimanage.com/work/link/w/%2e%2e/w/ACTIVE!1"),
            ws("ACTIVE", "ACTIVE!1")
        );
    }

    #[test]
    fn encoded_slash_in_id_is_not_a_path() {
        assert_eq!(
            p("https://firm.cloudimanage.com/work/link/w/ACTIVE%2F..!1"),
            Err(LinkError::OtherLibrary {
                library: "ACTIVE/..".into(),
                expected: "ACTIVE".into()
            })
        );
    }

    #[test]
    fn unparseable_base_is_named_and_matches_nothing_but_extra_hosts() {
        assert_eq!(
            with(
                "not a url",
                "https://firm.cloudimanage.com/work/link/w/ACTIVE!1"
            ),
            foreign("firm.cloudimanage.com", "not a url")
        );
        assert_eq!(
            with("not a url", "https://dms.firm.com/work/link/w/ACTIVE!1"),
            ws("ACTIVE", "ACTIVE!1")
        );
    }

    #[test]
    fn base_url_with_trailing_slash_and_case() {
        assert_eq!(
            with(
                "HTTPS://FIRM.cloudimanage.com/",
                "https://firm.cloudimanage.com/work/link/w/ACTIVE!1"
            ),
            ws("ACTIVE", "ACTIVE!1")
        );
    }

    // --- messages ---

    #[test]
    fn every_error_reads_as_a_helpful_sentence() {
        let cases = [
            (LinkError::NotAUrl, "https://"),
            (
                LinkError::ForeignHost {
                    host: "evil.com".into(),
                    expected: "firm.cloudimanage.com".into(),
                },
                "evil.com, not to your firm's iManage Work at firm.cloudimanage.com",
            ),
            (
                LinkError::OtherLibrary {
                    library: "ARCHIVE".into(),
                    expected: "ACTIVE".into(),
                },
                "library \"ARCHIVE\", but matterlink is connected to the library \"ACTIVE\"",
            ),
            (
                LinkError::DocumentLink {
                    id: "ACTIVE!9.1".into(),
                },
                "opens a document (ACTIVE!9.1), not a workspace",
            ),
            (LinkError::NotAWorkspaceLink, "does not open a workspace"),
            (
                LinkError::BadId {
                    id: "ACTIVE%21123".into(),
                },
                "\"ACTIVE%21123\", is not a valid iManage id",
            ),
        ];
        for (err, needle) in cases {
            let text = err.to_string();
            assert!(text.contains(needle), "{text}");
            assert!(text.starts_with(|c: char| c.is_ascii_uppercase()), "{text}");
            assert!(text.ends_with('.'), "{text}");
            assert!(!text.contains("LinkError") && !text.contains('{'), "{text}");
        }
    }

    #[test]
    fn messages_never_echo_more_than_about_100_chars() {
        let long_lib = "L".repeat(1500);
        let link = format!("https://firm.cloudimanage.com/work/link/w/{long_lib}!1");
        let err = p(&link).unwrap_err();
        let LinkError::OtherLibrary { library, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(library.chars().count(), SHOWN + 1);
        assert!(!err.to_string().contains(&"L".repeat(SHOWN + 1)));

        let long_host = format!("https://{}.evil.com/", vec!["a".repeat(50); 5].join("."));
        let err = p(&long_host).unwrap_err();
        assert!(matches!(err, LinkError::ForeignHost { .. }), "{err:?}");
        assert!(err.to_string().len() < 400, "{err}");

        let err = p(&format!(
            "https://firm.cloudimanage.com/work/link/w/ACTIVE!{}x",
            "9".repeat(1000)
        ))
        .unwrap_err();
        assert!(err.to_string().len() < 400, "{err}");
    }

    #[test]
    fn messages_do_not_carry_control_characters() {
        let err = p("https://firm.cloudimanage.com/work/link/w/AC%0ATIVE%1B[31m!1").unwrap_err();
        assert!(matches!(err, LinkError::OtherLibrary { .. }), "{err:?}");
        let text = err.to_string();
        assert!(!text.chars().any(char::is_control), "{text:?}");
    }

    // --- never panics ---

    #[test]
    fn never_panics_on_generated_input() {
        let alphabet = [
            "a", "Z", "0", "9", "!", "%", "%2", "%21", "%25", "%FF", "/", "\\", "@", ":", ".",
            "..", "?", "#", "&", "=", " ", "<", ">", "\"", "'", "[", "]", "ä", "ı", "\u{FF46}",
            "\u{0}", "\u{202E}", "\u{FEFF}", "xn--", "-", "_",
        ];
        let prefixes = [
            "",
            "https:",
            "https://",
            "https://firm.cloudimanage.com",
            "https://firm.cloudimanage.com/",
            "https://firm.cloudimanage.com/work/link/w/",
            "https://firm.cloudimanage.com/work/link/w/ACTIVE",
            "https://firm.cloudimanage.com/work/link/w/ACTIVE!1",
            "https://firm.cloudimanage.com/work/link/d/ACTIVE!1.",
            "https://firm.cloudimanage.com/work/web/r/libraries/",
            "https://firm.cloudimanage.com/work/web/r/libraries/ACTIVE/workspaces/",
            "https://firm.cloudimanage.com/work/web/r/libraries/ACTIVE/folders/ACTIVE",
            "http://127.0.0.1:8099",
            "<https://dms.firm.com/work/link/f/",
        ];
        let mut count = 0;
        for prefix in prefixes {
            for a in alphabet {
                for b in alphabet {
                    for input in [format!("{prefix}{a}{b}"), format!("{a}{prefix}{b}")] {
                        for result in [p(&input), local(&input)] {
                            if let Err(e) = result {
                                assert!(e.to_string().len() < 600, "{input:?}: {e}");
                            }
                        }
                        count += 1;
                    }
                }
            }
        }
        assert!(count > 30_000, "{count}");
    }
}
