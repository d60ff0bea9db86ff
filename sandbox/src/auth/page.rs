//! The HTML of the authorization endpoint: the login form and the page for requests that cannot
//! be redirected back. Every interpolated value is escaped: they come from the query string.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body>\n<h1>{title}</h1>\n{body}</body></html>\n"
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    // A login page must not be cached or framed (clickjacking of the password field).
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The sign-in form. `hidden` carries the authorization request through the POST; the password
/// field is always empty, whatever was typed before.
pub(crate) fn login_form(hidden: &[(&str, &str)], username: &str, error: Option<&str>) -> Response {
    let mut body =
        String::from("<p>Sign in to the iManage sandbox to connect the application.</p>\n");
    if let Some(error) = error {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>\n",
            escape(error)
        ));
    }
    body.push_str("<form method=\"post\" action=\"/auth/oauth2/authorize\">\n");
    for (name, value) in hidden {
        body.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            escape(name),
            escape(value)
        ));
    }
    body.push_str(&format!(
        "<label>Username <input name=\"username\" value=\"{}\" autocomplete=\"username\"></label>\n\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\n\
         <button type=\"submit\">Sign in</button>\n</form>\n",
        escape(username)
    ));
    page(StatusCode::OK, "iManage sandbox sign-in", &body)
}

/// A request the endpoint cannot send back to the client (unknown client, bad redirect URI).
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Authorization request refused",
        &format!("<p>{}</p>\n", escape(message)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("\"><script>x('&')</script>"),
            "&quot;&gt;&lt;script&gt;x(&#39;&amp;&#39;)&lt;/script&gt;"
        );
    }
}
