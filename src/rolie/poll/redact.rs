//! The form of a URL that logs, errors and `/metrics` show: no user or
//! password, and the values of query parameters that look like secrets
//! (`api_key`, `token`, `password`, signatures …) replaced by `REDACTED`.
//! Poll URLs often carry credentials; the people who read logs and scrape
//! metrics are not the ones who should learn them.

use reqwest::Url;

/// What a sensitive value is replaced by.
pub const REDACTED: &str = "REDACTED";

/// Parts of query parameter names that mark their values as secrets.
const SENSITIVE: [&str; 12] = [
    "key",
    "token",
    "pass",
    "pwd",
    "secret",
    "auth",
    "sig",
    "session",
    "sid",
    "credential",
    "cookie",
    "code",
];

fn sensitive(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SENSITIVE.iter().any(|s| name.contains(s))
}

/// `url` without its userinfo and with sensitive query values replaced;
/// the other parameters keep their exact spelling. An unparsable URL is
/// not shown at all (it might be all secret).
pub fn redact_url(url: &str) -> String {
    let Ok(mut u) = Url::parse(url) else {
        return "<unparsable URL>".to_string();
    };
    if u.cannot_be_a_base() {
        return format!("{}:<opaque>", u.scheme());
    }
    let _ = u.set_username("");
    let _ = u.set_password(None);
    if let Some(q) = u.query().map(str::to_owned) {
        let parts: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if sensitive(&percent_decoded(k)) => format!("{k}={REDACTED}"),
                _ => pair.to_string(),
            })
            .collect();
        u.set_query(Some(&parts.join("&")));
    }
    u.to_string()
}

/// `%XX` and `+` decoded, enough to recognise a parameter name.
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => match s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16)) {
                Some(Ok(v)) => {
                    out.push(v);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_credentials() {
        assert_eq!(
            redact_url("https://user:pa55@feeds.example:8443/f?api_key=abc&page=2&Token=x&acc%65ss_token=y"),
            "https://feeds.example:8443/f?api_key=REDACTED&page=2&Token=REDACTED&acc%65ss_token=REDACTED"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:1/f?password=p&x"),
            "http://127.0.0.1:1/f?password=REDACTED&x"
        );
        assert_eq!(redact_url("not a url"), "<unparsable URL>");
        assert_eq!(
            redact_url("https://h.example/a%zz?%="),
            "https://h.example/a%zz?%="
        );
    }
}
