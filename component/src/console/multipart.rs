//! Upload bodies (`multipart/form-data`, RFC 7578), as a browser sends a form with a file input.
//! The body is in memory already (the gate read it within the page's limit), so a small
//! synchronous parser does; the maintained parsers are async (multer) and would bring an
//! executor and `http` into the component for this alone.

/// One part of a multipart body: a form field or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The field's name (`Content-Disposition: form-data; name=…`).
    pub name: String,
    /// The file's name as the browser gave it, for a file input.
    pub filename: Option<String>,
    /// The part's `Content-Type`, if it has one.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub data: Vec<u8>,
}

impl Part {
    /// The part's bytes as text (invalid UTF-8 replaced), trimmed: a form field's value.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).trim().to_string()
    }
}

/// The first part named `name`.
pub fn field<'a>(parts: &'a [Part], name: &str) -> Option<&'a Part> {
    parts.iter().find(|p| p.name == name)
}

/// The boundary a `multipart/form-data` content type names.
fn boundary(content_type: &str) -> Result<String, String> {
    let mut params = content_type.split(';');
    let kind = params.next().unwrap_or_default().trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return Err(format!("expected multipart/form-data, not {kind:?}"));
    }
    for p in params {
        let Some((k, v)) = p.split_once('=') else {
            continue;
        };
        if k.trim().eq_ignore_ascii_case("boundary") {
            let v = v.trim().trim_matches('"');
            // RFC 2046: 1 to 70 characters.
            if v.is_empty() || v.len() > 70 {
                return Err("the multipart boundary is empty or too long".into());
            }
            return Ok(v.to_string());
        }
    }
    Err("the multipart content type names no boundary".into())
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    // The first byte first: a file's bytes rarely start a boundary, so most windows cost one
    // comparison (uploads run to megabytes).
    hay[from..]
        .windows(needle.len())
        .position(|w| w[0] == needle[0] && w == needle)
        .map(|i| i + from)
}

/// A parameter of a `Content-Disposition` header: `name="x"` (quoted, with `\"` escapes) or
/// `name=x`.
fn disposition_param(header: &str, param: &str) -> Option<String> {
    let mut rest = header;
    while let Some(i) = rest.find(';') {
        rest = rest[i + 1..].trim_start();
        let (k, v) = rest.split_once('=')?;
        let k = k.trim();
        let (value, after) = if let Some(q) = v.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => out.push(c),
                }
            }
            (out, &q[end.min(q.len())..])
        } else {
            let end = v.find(';').unwrap_or(v.len());
            (v[..end].trim().to_string(), &v[end..])
        };
        if k.eq_ignore_ascii_case(param) {
            return Some(value);
        }
        rest = after;
    }
    None
}

/// Parses a `multipart/form-data` body into its parts, in order.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let b = boundary(content_type)?;
    let delimiter = format!("--{b}");
    let between = format!("\r\n--{b}");
    let mut at = find(body, delimiter.as_bytes(), 0)
        .ok_or("the upload is not multipart: its boundary is missing")?
        + delimiter.len();
    let mut parts = Vec::new();
    loop {
        // After a delimiter: `--` ends the body, else a line break and the part's headers.
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        let headers_start = find(body, b"\r\n", at).ok_or("a multipart part is cut short")? + 2;
        let headers_end =
            find(body, b"\r\n\r\n", headers_start).ok_or("a multipart part has no body")?;
        let headers = String::from_utf8_lossy(&body[headers_start..headers_end]);
        let data_start = headers_end + 4;
        let data_end = find(body, between.as_bytes(), data_start)
            .ok_or("the upload ends before its last boundary")?;
        let mut part = Part {
            name: String::new(),
            filename: None,
            content_type: None,
            data: body[data_start..data_end].to_vec(),
        };
        let mut named = false;
        for line in headers.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let k = k.trim();
            if k.eq_ignore_ascii_case("content-disposition") {
                if let Some(name) = disposition_param(v, "name") {
                    part.name = name;
                    named = true;
                }
                part.filename = disposition_param(v, "filename");
            } else if k.eq_ignore_ascii_case("content-type") {
                part.content_type = Some(v.trim().to_string());
            }
        }
        if !named {
            return Err("a multipart part has no name".into());
        }
        parts.push(part);
        at = data_end + between.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=----WebKitFormBoundaryx7";

    #[test]
    fn reads_fields_and_files_as_browsers_send_them() {
        let body = b"------WebKitFormBoundaryx7\r\n\
            Content-Disposition: form-data; name=\"csrf\"\r\n\r\n\
            tok123\r\n\
            ------WebKitFormBoundaryx7\r\n\
            Content-Disposition: form-data; name=\"file\"; filename=\"m \\\"1\\\".csv\"\r\n\
            Content-Type: text/csv\r\n\r\n\
            id,title\r\n1,a\r\n\r\n\
            ------WebKitFormBoundaryx7\r\n\
            Content-Disposition: form-data; name=\"create_missing\"\r\n\r\n\
            on\r\n\
            ------WebKitFormBoundaryx7--\r\n";
        let parts = parse(CT, body).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(field(&parts, "csrf").unwrap().text(), "tok123");
        let f = field(&parts, "file").unwrap();
        assert_eq!(f.filename.as_deref(), Some("m \"1\".csv"));
        assert_eq!(f.content_type.as_deref(), Some("text/csv"));
        assert_eq!(f.data, b"id,title\r\n1,a\r\n");
        assert_eq!(field(&parts, "create_missing").unwrap().text(), "on");
        assert!(field(&parts, "missing").is_none());
    }

    #[test]
    fn refuses_what_is_not_a_whole_multipart_body() {
        assert!(parse("application/x-www-form-urlencoded", b"a=b").is_err());
        assert!(parse("multipart/form-data", b"").is_err());
        assert!(parse(CT, b"no boundary here").is_err());
        let cut = b"------WebKitFormBoundaryx7\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue";
        assert!(parse(CT, cut).is_err());
        let unnamed = b"------WebKitFormBoundaryx7\r\nContent-Type: text/plain\r\n\r\nv\r\n------WebKitFormBoundaryx7--";
        assert!(parse(CT, unnamed).is_err());
        // A quoted boundary is the same boundary.
        let quoted = "multipart/form-data; boundary=\"----WebKitFormBoundaryx7\"";
        let ok = b"------WebKitFormBoundaryx7\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n------WebKitFormBoundaryx7--";
        assert_eq!(parse(quoted, ok).unwrap()[0].data, b"");
    }
}
