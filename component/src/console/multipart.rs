//! Reading a `multipart/form-data` body (a browser's file upload) into its parts.
//!
//! Why not a whole multipart crate: `multer` (maintained; axum's parser) was tried first and
//! measured on the release component: +72 KiB (1,460,464 → 1,534,424 bytes), most of the
//! budget the console has left under 1.5 MiB, because it brings `http`, `mime` and
//! `encoding_rs` along with an async API that needs a stream and a poll. What a browser's form
//! needs is small: the body is already whole in memory (the gate read it within the path's
//! limit), so the parts are cut at the boundary (`find`), and each part's headers are read by
//! `httparse` (maintained; hyper's header parser). Measured with both: +16 KiB. Only the `Content-Disposition` parameters (`name`, `filename`, `filename*`) are read
//! here, as RFC 7578 describes them.

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The form field's name (`name=` of its `Content-Disposition`).
    pub name: String,
    /// The file's name as the browser sent it, for a file input.
    pub filename: Option<String>,
    /// The part's `Content-Type`, when it has one.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub data: Vec<u8>,
}

impl Part {
    /// The part's bytes as text (lossy), for the plain fields of a form.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// Most parts one body may have, and most headers one part may have: a form has a handful.
const MAX_PARTS: usize = 64;
const MAX_HEADERS: usize = 16;

/// The parts of `body`, a `multipart/form-data` body sent with `content_type` (which carries
/// the boundary). A body that is not multipart, or is malformed, is an error saying why.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    for raw in raw_parts(content_type, body)? {
        parts.push(part(raw?)?);
    }
    Ok(parts)
}

/// The text of the first part named `name`, without copying the other parts: what the gate
/// needs (the CSRF token) before the page reads the whole body.
pub fn text_field(content_type: &str, body: &[u8], name: &str) -> Result<Option<String>, String> {
    for raw in raw_parts(content_type, body)? {
        let (headers, data) = raw?;
        let (part_name, _, _) = headers_of(headers)?;
        if part_name == name {
            return Ok(Some(String::from_utf8_lossy(data).into_owned()));
        }
    }
    Ok(None)
}

/// The first part named `name`.
pub fn field<'a>(parts: &'a [Part], name: &str) -> Option<&'a Part> {
    parts.iter().find(|p| p.name == name)
}

/// The boundary parameter of a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Result<String, String> {
    let mut params = content_type.split(';');
    let kind = params.next().unwrap_or_default().trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return Err(format!("not a multipart/form-data body but {kind:?}"));
    }
    let b = params
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .ok_or("the multipart body names no boundary")?;
    // RFC 2046: 1 to 70 characters.
    if b.is_empty() || b.len() > 70 {
        return Err("the multipart boundary is not 1 to 70 characters long".into());
    }
    Ok(b)
}

type Raw<'a> = Result<(&'a [u8], &'a [u8]), String>;

/// Each part's header block and data, in order, up to the closing boundary.
fn raw_parts<'a>(
    content_type: &str,
    body: &'a [u8],
) -> Result<impl Iterator<Item = Raw<'a>>, String> {
    let delimiter = format!("--{}", boundary(content_type)?).into_bytes();
    let first = find(body, &delimiter).ok_or("the multipart body does not contain its boundary")?;
    // Every later delimiter starts a line.
    let mut next_delimiter = b"\r\n".to_vec();
    next_delimiter.extend_from_slice(&delimiter);
    let mut at = first + delimiter.len();
    let mut count = 0;
    let mut done = false;
    Ok(std::iter::from_fn(move || {
        if done {
            return None;
        }
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            done = true;
            return None;
        }
        let fail = |why: &str| Some(Err(why.to_string()));
        count += 1;
        if count > MAX_PARTS {
            done = true;
            return fail("the multipart body has too many parts");
        }
        let Some(rest) = rest.strip_prefix(b"\r\n") else {
            done = true;
            return fail("a multipart boundary is not followed by a line break");
        };
        let Some(end) = find(rest, &next_delimiter) else {
            done = true;
            return fail("the multipart body ends before its closing boundary");
        };
        let whole = &rest[..end];
        let Some(split) = find(whole, b"\r\n\r\n") else {
            done = true;
            return fail("a multipart part has no blank line after its headers");
        };
        at += 2 + end + next_delimiter.len();
        Some(Ok((&whole[..split + 4], &whole[split + 4..])))
    }))
}

/// Where `needle` (never empty: it holds a boundary) first occurs in `hay`: a scan for its
/// first byte, then a comparison. Fast enough for the largest upload (64 MiB) and smaller in
/// the component than `memchr`'s `memmem` (measured: 8 KiB).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut at = 0;
    while hay.len() - at >= needle.len() {
        let i = at
            + hay[at..=hay.len() - needle.len()]
                .iter()
                .position(|&b| b == first)?;
        if &hay[i + 1..i + needle.len()] == rest {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

/// One part from its header block and data.
fn part((headers, data): (&[u8], &[u8])) -> Result<Part, String> {
    let (name, filename, content_type) = headers_of(headers)?;
    Ok(Part {
        name,
        filename,
        content_type,
        data: data.to_vec(),
    })
}

/// The `name`, file name and content type a part's headers give.
fn headers_of(block: &[u8]) -> Result<(String, Option<String>, Option<String>), String> {
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let headers = match httparse::parse_headers(block, &mut storage) {
        Ok(httparse::Status::Complete((_, headers))) => headers,
        _ => return Err("a multipart part has malformed headers".into()),
    };
    let value = |name: &str| {
        headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    let disposition =
        value("content-disposition").ok_or("a multipart part has no Content-Disposition")?;
    let params = disposition_params(&disposition);
    let param = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    let name = param("name").ok_or("a multipart part has no name")?;
    let filename = param("filename*")
        .and_then(|v| extended_value(&v))
        .or_else(|| param("filename"));
    Ok((name, filename, value("content-type")))
}

/// The parameters of a `Content-Disposition` value (`form-data; name="a"; filename="b.pdf"`),
/// quoted strings unescaped (`\"` → `"`), `;` inside quotes kept.
fn disposition_params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    // Skip the disposition type.
    for c in chars.by_ref() {
        if c == ';' {
            break;
        }
    }
    loop {
        let key: String = chars
            .by_ref()
            .take_while(|&c| c != '=')
            .collect::<String>()
            .trim()
            .trim_start_matches(';')
            .trim()
            .to_string();
        if key.is_empty() {
            return out;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut v = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => v.extend(chars.next()),
                    '"' => break,
                    c => v.push(c),
                }
            }
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
            }
        } else {
            v = chars
                .by_ref()
                .take_while(|&c| c != ';')
                .collect::<String>()
                .trim()
                .to_string();
        }
        out.push((key, v));
    }
}

/// An RFC 5987 value (`UTF-8''Brief%20%C3%A9.pdf`) decoded; `None` for another charset.
fn extended_value(v: &str) -> Option<String> {
    let (charset, rest) = v.split_once('\'')?;
    let (_, encoded) = rest.split_once('\'')?;
    if !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=----XyZ";

    fn body() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(
            b"------XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok-1\r\n",
        );
        b.extend_from_slice(b"------XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"Brief \xc3\xa9.pdf\"\r\nContent-Type: application/pdf\r\n\r\n");
        b.extend_from_slice(b"%PDF-1.4\r\n\x00\xff binary\r\n--not-the-boundary\r\n");
        b.extend_from_slice(b"\r\n------XyZ--\r\n");
        b
    }

    #[test]
    fn fields_and_files_come_out_whole() {
        let parts = parse(CT, &body()).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(field(&parts, "csrf").unwrap().text(), "tok-1");
        assert_eq!(field(&parts, "csrf").unwrap().filename, None);
        let file = field(&parts, "file").unwrap();
        assert_eq!(file.filename.as_deref(), Some("Brief é.pdf"));
        assert_eq!(file.content_type.as_deref(), Some("application/pdf"));
        assert_eq!(
            file.data,
            b"%PDF-1.4\r\n\x00\xff binary\r\n--not-the-boundary\r\n".to_vec()
        );
    }

    #[test]
    fn not_multipart_or_cut_short_is_an_error() {
        assert!(parse("application/x-www-form-urlencoded", b"a=b").is_err());
        assert!(parse("multipart/form-data", b"").is_err(), "no boundary");
        let whole = body();
        let cut = &whole[..whole.len() - 20];
        assert!(parse(CT, cut).is_err(), "no closing boundary");
    }

    #[test]
    fn one_field_is_read_alone() {
        assert_eq!(
            text_field(CT, &body(), "csrf").unwrap().as_deref(),
            Some("tok-1")
        );
        assert_eq!(text_field(CT, &body(), "nothing").unwrap(), None);
        assert!(text_field("text/plain", &body(), "csrf").is_err());
    }

    #[test]
    fn quoted_and_extended_names() {
        let body = b"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\\\"; b.pdf\"\r\n\r\nx\r\n--B\r\ncontent-disposition: form-data; name=\"g\"; filename=\"fallback.pdf\"; filename*=UTF-8''Ng%C4%81.pdf\r\n\r\ny\r\n--B--";
        let parts = parse("multipart/form-data; boundary=\"B\"", body).unwrap();
        assert_eq!(parts[0].filename.as_deref(), Some("a\"; b.pdf"));
        assert_eq!(parts[0].data, b"x");
        assert_eq!(parts[1].filename.as_deref(), Some("Ngā.pdf"));
        assert_eq!(parts[1].content_type, None);
    }

    #[test]
    fn find_finds_first_and_last_and_nothing() {
        assert_eq!(find(b"abcabd", b"abd"), Some(3));
        assert_eq!(find(b"abd", b"abd"), Some(0));
        assert_eq!(find(b"ab", b"abd"), None);
        assert_eq!(find(b"aaaa", b"ab"), None);
        assert_eq!(find(b"", b"a"), None);
    }

    #[test]
    fn an_empty_form_has_no_parts() {
        assert_eq!(parse(CT, b"------XyZ--\r\n").unwrap(), Vec::new());
    }
}
