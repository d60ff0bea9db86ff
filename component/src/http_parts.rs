//! The parts of speaking HTTP through `wasi:http` that need no WASI: splitting a URL into the
//! pieces an outgoing request is built from, reading a body under a size limit, chunking writes,
//! and header text. Plain Rust, so native tests cover what the wasm adapter (`wasi`) relies on.

/// The largest slice written to a `wasi:http` output stream at once: hosts may buffer a single
/// chunk only, and 4096 bytes is what every host accepts.
pub const WRITE_CHUNK: usize = 4096;

/// How much one blocking read of a body stream asks for.
pub const READ_CHUNK: u64 = 64 * 1024;

/// Whether an outgoing request goes over plain HTTP or TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `http://`: only ever a local sandbox or a loopback test server.
    Http,
    /// `https://`, and anything that is not `http://`.
    Https,
}

/// An absolute URL split the way `wasi:http` wants an outgoing request described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `http` or (anything else) `https`.
    pub scheme: Scheme,
    /// The host, with `:port` when the URL names a port other than the scheme's default.
    pub authority: String,
    /// The path, with `?query` when there is one; the fragment never leaves the component.
    pub path_with_query: String,
}

/// Splits an absolute URL into scheme, authority and path-with-query; the error says why the
/// URL cannot be used.
///
/// Every request goes through here, and in the component `url::Url::parse` was a sixth of an
/// event's own work (its host goes through IDNA processing even when plain ASCII). The URLs
/// matterlink builds are already in the form `Url` would give them, so [`split_plain`] splits
/// those directly, and anything it is not sure of goes to `url` as before. A test holds the two
/// to the same answers over generated URLs.
pub fn split_url(raw: &str) -> Result<Target, String> {
    match split_plain(raw) {
        Some(target) => Ok(target),
        None => split_parsed(raw),
    }
}

/// [`split_url`] by `url::Url`, for any URL.
fn split_parsed(raw: &str) -> Result<Target, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("bad URL: {e}"))?;
    let scheme = match url.scheme() {
        "http" => Scheme::Http,
        _ => Scheme::Https,
    };
    let host = url.host_str().unwrap_or_default();
    // `Url::port` is `None` for the scheme's default port, which the authority then leaves out.
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let path_with_query = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    Ok(Target {
        scheme,
        authority,
        path_with_query,
    })
}

/// The split of an `http(s)` URL that `url::Url` would leave exactly as it is: a lowercase
/// ASCII host name (no IDNA label) or a dotted-quad IPv4 address, a port without leading zeros,
/// and a path and query of characters that are never percent-encoded or rewritten (no dot
/// segments, no backslash, `%` only before two hex digits). `None` for anything else, which
/// [`split_url`] hands to `url`: this only ever decides *that* a URL is plain, never how to
/// normalise one.
fn split_plain(raw: &str) -> Option<Target> {
    let (scheme, rest, default_port) = if let Some(rest) = raw.strip_prefix("https://") {
        (Scheme::Https, rest, "443")
    } else if let Some(rest) = raw.strip_prefix("http://") {
        (Scheme::Http, rest, "80")
    } else {
        return None;
    };
    // The fragment never leaves the component, whatever it holds.
    let rest = rest.split('#').next().unwrap_or_default();
    let (authority, path_and_query) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if !plain_host(host) {
        return None;
    }
    let authority = match port {
        None => host.to_string(),
        Some(port) if port == default_port => host.to_string(),
        Some(port) if plain_port(port) => authority.to_string(),
        Some(_) => return None,
    };
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    if !plain_path(path) || !query.is_none_or(plain_query) {
        return None;
    }
    let path = if path.is_empty() { "/" } else { path };
    let path_with_query = match query {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    Some(Target {
        scheme,
        authority,
        path_with_query,
    })
}

/// Lowercase ASCII labels `url` takes as they are, or a dotted-quad IPv4 address written the
/// way `url` writes one. A last label starting with a digit is `url`'s IPv4 parser's (`127.1`,
/// `0x7f.1`), and `xn--` labels are IDNA's to check: neither is plain unless it is a dotted quad.
fn plain_host(host: &str) -> bool {
    let labels = || host.split('.');
    let domain = labels().all(|l| {
        !l.is_empty()
            && !l.starts_with("xn--")
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }) && !labels()
        .next_back()
        .is_some_and(|l| l.starts_with(|c: char| c.is_ascii_digit()));
    let dotted_quad = labels().count() == 4
        && labels().all(|l| l.parse::<u8>().is_ok_and(|n| n.to_string() == l));
    domain || dotted_quad
}

/// A port `url` writes back as it is: digits without a leading zero, at most 65535.
fn plain_port(port: &str) -> bool {
    !port.starts_with('0')
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok()
}

/// Empty, or `/…` of characters `url` never encodes in a path, without dot segments (`.`,
/// `..`, or either spelled with `%2e`, which [`plain_chars`] never passes).
fn plain_path(path: &str) -> bool {
    if path.is_empty() {
        return true;
    }
    path.starts_with('/')
        && plain_chars(path, b'\'')
        && !path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

/// Characters `url` never encodes in the query of an `http(s)` URL (which, unlike a path's,
/// has `'` encoded).
fn plain_query(query: &str) -> bool {
    plain_chars(query, b'?')
}

/// Only ASCII letters, digits, `-._~/:@!$&()*+,;=`, `also`, and `%` before two hex digits
/// other than `2e` (a dot, in a path the start of a dot segment; a query rarely holds one, and
/// leaving it to `url` costs nothing but time). Per byte with a `match`, not a table or a set of
/// strings: every request's URL goes through here, and the component's size budget is tight.
fn plain_chars(text: &str, also: u8) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'%' => matches!(bytes.get(i + 1..i + 3), Some(&[high, low])
            if high.is_ascii_hexdigit() && low.is_ascii_hexdigit()
                && !(high == b'2' && low.eq_ignore_ascii_case(&b'e'))),
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => true,
        b'-' | b'.' | b'_' | b'~' | b'/' | b':' | b'@' | b'!' | b'$' | b'&' => true,
        b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' => true,
        _ => b == also,
    })
}

/// The slices a body is written in, none longer than [`WRITE_CHUNK`]; none for an empty body.
pub fn write_chunks(body: &[u8]) -> std::slice::Chunks<'_, u8> {
    body.chunks(WRITE_CHUNK)
}

/// The headers an outgoing request is sent with: `headers` plus a `content-length` for a body,
/// unless the caller set one. Without it wasmtime-wasi-http (like most hosts) frames the body
/// with `Transfer-Encoding: chunked`, and gateways and WAFs in front of on-premises iManage answer
/// 411 or mishandle chunked uploads; every body matterlink sends is whole in memory, so its length
/// is known. A request without a body (GET, DELETE) gets no header: `Content-Length: 0` on a GET
/// is itself something some gateways refuse.
pub fn with_content_length(headers: &[(String, String)], body_len: usize) -> Vec<(String, String)> {
    let mut out = headers.to_vec();
    let has = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
    if body_len > 0 && !has {
        out.push(("content-length".into(), body_len.to_string()));
    }
    out
}

/// A body read under a limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitedBody {
    /// What was read; empty when the body was too large, so that nothing partial is used.
    pub bytes: Vec<u8>,
    /// The body was (or declared itself) larger than the limit.
    pub too_large: bool,
}

impl LimitedBody {
    fn too_large() -> LimitedBody {
        LimitedBody {
            bytes: Vec::new(),
            too_large: true,
        }
    }
}

/// Whether a `content-length` header value declares more than `limit` bytes, so the body can be
/// refused before any of it is read. A missing or unreadable value declares nothing.
pub fn declared_too_large(content_length: Option<&[u8]>, limit: usize) -> bool {
    content_length
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<usize>().ok())
        .is_some_and(|n| n > limit)
}

/// Reads chunks until the source ends, stopping as soon as more than `limit` bytes arrived
/// (the rest is never asked for). The first error from the source is returned as it is.
pub fn read_limited<E>(
    limit: usize,
    chunks: impl IntoIterator<Item = Result<Vec<u8>, E>>,
) -> Result<LimitedBody, E> {
    let mut bytes = Vec::new();
    for chunk in chunks {
        bytes.extend_from_slice(&chunk?);
        if bytes.len() > limit {
            return Ok(LimitedBody::too_large());
        }
    }
    Ok(LimitedBody {
        bytes,
        too_large: false,
    })
}

/// A request body under `limit`: refused without reading when `content_length` declares more,
/// otherwise read from `chunks` (opened only then) until it ends or passes the limit. A source
/// that cannot be opened gives an empty body.
pub fn read_request_body<I>(
    content_length: Option<&[u8]>,
    limit: usize,
    open: impl FnOnce() -> Option<I>,
) -> LimitedBody
where
    I: IntoIterator<Item = Vec<u8>>,
{
    if declared_too_large(content_length, limit) {
        return LimitedBody::too_large();
    }
    let Some(chunks) = open() else {
        return LimitedBody::default();
    };
    let read = read_limited(
        limit,
        chunks.into_iter().map(Ok::<_, std::convert::Infallible>),
    );
    match read {
        Ok(body) => body,
        Err(never) => match never {},
    }
}

/// Header values as text; bytes that are not UTF-8 are replaced rather than refused.
pub fn header_text(entries: Vec<(String, Vec<u8>)>) -> Vec<(String, String)> {
    entries
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect()
}

/// Header values as the bytes `wasi:http` fields hold.
pub fn header_bytes(headers: &[(String, String)]) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect()
}

/// A whole answer to an incoming request, whatever made it (the JSON API or the console): what
/// the `wasi` adapter writes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// Header names and values, `content-type` among them.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// An answer of `content_type` with `body`.
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body,
        }
    }

    /// The same answer with one more header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The first value of header `name`, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_body_carries_its_length_and_no_body_none() {
        let h = vec![("content-type".to_string(), "application/json".to_string())];
        let with = super::with_content_length(&h, 17);
        assert!(with.contains(&("content-length".to_string(), "17".to_string())));
        assert_eq!(super::with_content_length(&h, 0), h);
        let set = vec![("Content-Length".to_string(), "3".to_string())];
        assert_eq!(super::with_content_length(&set, 3), set);
    }

    use super::*;

    #[test]
    fn splits_scheme_authority_and_path_with_query() {
        let t =
            split_url("https://imanage.example.com/work/api/v2/customers/1?limit=5#top").unwrap();
        assert_eq!(t.scheme, Scheme::Https);
        assert_eq!(t.authority, "imanage.example.com");
        assert_eq!(t.path_with_query, "/work/api/v2/customers/1?limit=5");

        let t = split_url("http://127.0.0.1:8089/api").unwrap();
        assert_eq!(t.scheme, Scheme::Http);
        assert_eq!(t.authority, "127.0.0.1:8089");
        assert_eq!(t.path_with_query, "/api");
    }

    #[test]
    fn default_ports_are_left_out_and_other_schemes_go_over_tls() {
        assert_eq!(
            split_url("https://host.example:443/x").unwrap().authority,
            "host.example"
        );
        assert_eq!(
            split_url("https://host.example:8443/x").unwrap().authority,
            "host.example:8443"
        );
        assert_eq!(
            split_url("ftp://host.example/").unwrap().scheme,
            Scheme::Https
        );
        assert_eq!(
            split_url("https://host.example").unwrap().path_with_query,
            "/"
        );
    }

    /// The URLs matterlink sends: split without `url`, and as `url` splits them.
    #[test]
    fn the_urls_matterlink_builds_are_split_without_url() {
        for raw in [
            "https://cloudimanage.com/work/api/v2/customers/1/libraries/ACTIVE/workspaces",
            "http://127.0.0.1:8099/work/api/v2/customers/1/libraries/ACTIVE/workspaces/ACTIVE!123/folders",
            "https://firm.example.com:8443/work/api/v2/customers/1/libraries/ACTIVE/workspaces/search?limit=10&custom1=M-1%2F2&name=A+B",
            "http://localhost:8099/auth/oauth2/token",
            "https://go.actionstep.com/api/rest/actions/17?include=participants",
        ] {
            let plain = split_plain(raw).unwrap_or_else(|| panic!("not taken as plain: {raw}"));
            assert_eq!(Ok(plain), split_parsed(raw), "{raw}");
        }
    }

    /// Whatever the fast path takes, `url` splits the same way; what `url` would rewrite is
    /// left to it. Deterministic generated URLs, from parts chosen to hit what `url` rewrites:
    /// case, IPv4 spellings, IDNA labels, ports, dot segments, characters it encodes,
    /// backslashes, tabs, user info.
    #[test]
    fn the_fast_path_agrees_with_url() {
        let schemes = [
            "https://", "http://", "HTTP://", "ftp://", "https:/", "https:",
        ];
        let hosts = [
            "firm.example.com",
            "FIRM.example.com",
            "127.0.0.1",
            "127.1",
            "0x7f.0.0.1",
            "127.000.0.1",
            "256.0.0.1",
            "1.2.3.4.5",
            "10.example",
            "example.10",
            "xn--nxasmq6b.com",
            "xn--.com",
            "xn--a.com",
            "xn--ls8h.la",
            "a..b",
            "a.",
            "-a.b-",
            "a_b.c",
            "[::1]",
            "user@host",
            "u:p@host",
            "h\tst",
            "",
            "localhost",
            "caf\u{e9}.fr",
            "a%41.com",
        ];
        let ports = [
            "", ":", ":443", ":80", ":8080", ":08080", ":0", ":65535", ":65536", ":x",
        ];
        // Mostly characters that may be plain, and now and then one that is not.
        let usual = [
            "a", "Z", "0", "9", "-", ".", "..", "_", "~", "!", "$", "&", "(", ")", "*", "+", ",",
            ";", "=", ":", "@", "?", "%", "%41", "%2e", "%2E", ".%2e", "%2e.", "%4",
        ];
        let rare: Vec<char> = "'# \t\n\"<>`{}|\\^[]\u{e9}".chars().collect();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let (mut plain, mut total) = (0, 0);
        for _ in 0..40_000 {
            let mut raw = String::new();
            // Half the time the scheme and the host are among the first, plain ones.
            let among = if next(2) == 0 { 2 } else { schemes.len() };
            raw.push_str(schemes[next(among)]);
            let among = if next(2) == 0 { 3 } else { hosts.len() };
            raw.push_str(hosts[next(among)]);
            raw.push_str(ports[next(ports.len())]);
            if next(2) == 0 {
                raw.push('/');
            }
            for _ in 0..next(12) {
                match next(16) {
                    0..=3 => raw.push('/'),
                    4 => raw.push(rare[next(rare.len())]),
                    _ => raw.push_str(usual[next(usual.len())]),
                }
            }
            total += 1;
            if let Some(fast) = split_plain(&raw) {
                plain += 1;
                assert_eq!(Ok(fast), split_parsed(&raw), "{raw:?}");
            }
        }
        // Both sides of the comparison were exercised, each a thousand times at least.
        assert!(
            plain >= 1000 && total - plain >= 1000,
            "{plain} plain of {total}"
        );
    }

    #[test]
    fn unparseable_urls_say_so() {
        let why = split_url("/relative/only").unwrap_err();
        assert!(why.starts_with("bad URL: "), "{why}");
    }

    #[test]
    fn writes_go_in_4096_byte_chunks() {
        let body = vec![7u8; 2 * WRITE_CHUNK + 10];
        let sizes: Vec<usize> = write_chunks(&body).map(<[u8]>::len).collect();
        assert_eq!(sizes, [4096, 4096, 10]);
        assert_eq!(write_chunks(&[]).count(), 0);
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_without_reading() {
        let mut opened = false;
        let body = read_request_body(Some(b" 101 "), 100, || {
            opened = true;
            Some(vec![vec![0u8; 10]])
        });
        assert_eq!(body, LimitedBody::too_large());
        assert!(!opened, "the body must not be read");
    }

    #[test]
    fn a_declared_length_within_the_limit_or_unreadable_is_read() {
        for declared in [Some(&b"100"[..]), Some(b"many"), None] {
            let body =
                read_request_body(declared, 100, || Some(vec![b"ab".to_vec(), b"c".to_vec()]));
            assert_eq!(body.bytes, b"abc");
            assert!(!body.too_large);
        }
    }

    #[test]
    fn reading_stops_once_past_the_limit() {
        let mut asked = 0;
        let chunks = std::iter::from_fn(|| {
            asked += 1;
            Some(vec![1u8; 40])
        });
        // No content-length: only reading can find out.
        let body = read_request_body(None, 100, || Some(chunks));
        assert_eq!(body, LimitedBody::too_large());
        assert_eq!(
            asked, 3,
            "120 bytes is past 100: the fourth chunk is never asked for"
        );
    }

    #[test]
    fn exactly_the_limit_is_accepted_and_an_unopenable_body_is_empty() {
        let body = read_request_body(Some(b"4"), 4, || Some(vec![b"abcd".to_vec()]));
        assert_eq!(body.bytes, b"abcd");
        assert!(!body.too_large);
        let none: Option<Vec<Vec<u8>>> = None;
        assert_eq!(read_request_body(None, 4, || none), LimitedBody::default());
    }

    #[test]
    fn read_errors_pass_through() {
        let chunks = vec![Ok(b"ab".to_vec()), Err("reset"), Ok(b"cd".to_vec())];
        assert_eq!(read_limited(100, chunks), Err("reset"));
    }

    #[test]
    fn header_values_round_trip_and_bad_utf8_is_replaced() {
        let headers = vec![("x-auth-token".to_string(), "t".to_string())];
        assert_eq!(header_text(header_bytes(&headers)), headers);
        assert_eq!(
            header_text(vec![("k".into(), vec![b'a', 0xff])]),
            [("k".to_string(), "a\u{fffd}".to_string())]
        );
    }
}
