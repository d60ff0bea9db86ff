//! The console driven over HTTP as a browser without JavaScript drives it: a cookie jar, no
//! redirect followed by itself (so each answer can be looked at), forms urlencoded or multipart,
//! and the few readings of a page's HTML the tests make. One client for every console test
//! that does not need a real browser (`console_browser.rs` drives Chromium instead).

use reqwest::redirect::Policy;

/// One answer: its status, `Location`, headers and body.
pub struct Page {
    /// The HTTP status.
    pub status: u16,
    /// Where a 303 sends the browser.
    pub location: Option<String>,
    /// Every header.
    pub headers: reqwest::header::HeaderMap,
    /// The body (a page's HTML, a report's CSV).
    pub html: String,
}

/// A browser without JavaScript on one server.
pub struct Console {
    client: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Console {
    /// A browser with no cookies yet, for the server at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> Console {
        Console {
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: base.to_string(),
            cookies: Vec::new(),
        }
    }

    /// Signs in with the local administrator password through the sign-in form, as a person
    /// would: the form's token and cookie, then the session cookie.
    pub async fn sign_in(&mut self, password: &str) {
        let form = self.get("/admin/signin").await;
        assert_eq!(form.status, 200, "{}", form.html);
        let token = input_value(&form.html, "csrf");
        let signed_in = self
            .post_form(
                "/admin/signin",
                &[("csrf", &token), ("password", password), ("next", "/admin")],
            )
            .await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.html);
        assert!(self.has_cookie("matterlink_session"), "a session");
    }

    /// Whether the jar holds cookie `name`.
    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.iter().any(|(k, _)| k == name)
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, r: reqwest::RequestBuilder) -> Page {
        let r = r
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        for set in r.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, _) = set.split_once(';').unwrap_or((set, ""));
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
        Page {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string()),
            headers: r.headers().clone(),
            html: r.text().await.unwrap(),
        }
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Page {
        let r = self.client.get(format!("{}{path}", self.base));
        self.send(r).await
    }

    /// `POST path` with an urlencoded form of `fields` (the CSRF token among them).
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(url_encoded(fields));
        self.send(r).await
    }

    /// `POST path` with a multipart body made by [`multipart`] with `boundary`.
    pub async fn post_multipart(&mut self, path: &str, body: Vec<u8>, boundary: &str) -> Page {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(r).await
    }
}

/// `fields` urlencoded, as a browser sends a form.
pub fn url_encoded(fields: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A multipart body of `fields` and one file `(field name, file name, content type, bytes)`, as
/// a browser sends an upload form.
pub fn multipart(
    boundary: &str,
    fields: &[(&str, &str)],
    file: (&str, &str, &str, &[u8]),
) -> Vec<u8> {
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    let (name, file_name, content_type, bytes) = file;
    b.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(bytes);
    b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    b
}

/// The value of the first input named `name` (attribute order as the templates write it).
pub fn input_value(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no input {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    unescape(&rest[..rest.find('"').unwrap()])
}

/// The text right after the element with `id` opens, up to the next tag.
pub fn text_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[at..];
    rest[rest.find('>').unwrap() + 1..]
        .split('<')
        .next()
        .unwrap()
        .to_string()
}

/// HTML's character references as askama writes them, back to text.
pub fn unescape(s: &str) -> String {
    // The ampersand last, so that an escaped reference (`&amp;lt;`) stays one.
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}
