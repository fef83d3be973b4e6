//! What a poller may fetch. A feed names the URLs the bridge then fetches
//! (content `src`, `xml:base`, `next` links, redirects), so a hostile or
//! compromised feed could make the bridge fetch from any host it can reach
//! and publish the reply into the grid. By default every fetch stays on the
//! feed's own origin (scheme, host, port); `--poll-allow ORIGIN` adds more.
//! Loopback, link-local and private addresses (after DNS resolution) are
//! refused unless the feed itself is on one, or the user allowed that very
//! address as an IP literal.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use reqwest::Url;

use super::redact::redact_url;

/// Redirects followed for one request.
pub(super) const MAX_REDIRECTS: usize = 5;

/// An origin (scheme, host, port) pollers may fetch from besides each
/// feed's own: the value of `--poll-allow` / `poll_allow` in the config's
/// `[bridge]` table, e.g. `https://cdn.example.org` or
/// `http://10.0.0.5:8080`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PollOrigin {
    scheme: String,
    host: String,
    port: u16,
}

impl PollOrigin {
    /// The origin of `url`, if it is an http(s) URL with a host.
    pub(super) fn of(url: &Url) -> Option<PollOrigin> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        Some(PollOrigin {
            scheme: scheme.to_string(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }

    /// The host as an address, when the URL names one.
    fn ip(&self) -> Option<IpAddr> {
        self.host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()
    }
}

impl std::str::FromStr for PollOrigin {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            // The user's own typo is shown as typed; a URL without its
            // credentials.
            let s = Url::parse(s).map_or_else(|_| s.to_string(), |_| redact_url(s));
            format!("{s:?}: {why} (expected an origin like https://host[:port])")
        };
        let url = Url::parse(s).map_err(|e| bad(&e.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("no user or password in an origin"));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(bad("an origin has no path, query or fragment"));
        }
        PollOrigin::of(&url).ok_or_else(|| bad("not an http(s) URL with a host"))
    }
}

impl std::fmt::Display for PollOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// Why a URL is not fetched.
#[derive(Debug, Clone, thiserror::Error)]
pub(super) enum Refusal {
    #[error("{0} is not an http(s) URL")]
    Scheme(String),
    #[error("{url} is outside the feed's origin {feed} (allow it with --poll-allow)")]
    Origin { url: String, feed: String },
    #[error("{0} is a loopback, link-local or private address")]
    Private(String),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("redirect loop at {0}")]
    Loop(String),
}

/// The rule for one feed: its origin, the allowed ones, and whether the
/// feed itself is on a private address (then so may its content be).
#[derive(Debug)]
pub(super) struct FetchPolicy {
    feed: PollOrigin,
    allow: Arc<[PollOrigin]>,
    /// Host names resolved without the address check: the proxies of the
    /// environment (the proxy resolves the target, not the bridge).
    trusted_names: Vec<String>,
    private_ok: AtomicBool,
}

impl FetchPolicy {
    pub(super) fn new(
        feed: &Url,
        allow: Arc<[PollOrigin]>,
        trusted_names: Vec<String>,
    ) -> Option<FetchPolicy> {
        let feed = PollOrigin::of(feed)?;
        let private = feed.ip().is_some_and(is_private);
        Some(FetchPolicy {
            feed,
            allow,
            trusted_names,
            private_ok: AtomicBool::new(private),
        })
    }

    /// Whether `url` may be fetched (or redirected to). Host names are
    /// checked again when they are resolved ([`FetchPolicy::addresses`]).
    pub(super) fn check(&self, url: &Url) -> Result<(), Refusal> {
        let shown = || redact_url(url.as_str());
        let origin = PollOrigin::of(url).ok_or_else(|| Refusal::Scheme(shown()))?;
        let allowed = self.allow.contains(&origin);
        if origin != self.feed && !allowed {
            return Err(Refusal::Origin {
                url: shown(),
                feed: self.feed.to_string(),
            });
        }
        // An address the user named in --poll-allow is theirs to allow.
        if origin.ip().is_some_and(is_private) && !allowed && !self.private_ok() {
            return Err(Refusal::Private(shown()));
        }
        Ok(())
    }

    fn private_ok(&self) -> bool {
        self.private_ok.load(Ordering::Relaxed)
    }

    /// The addresses of `name` a connection may use: all of them for the
    /// feed's own host (whose addresses also decide whether private ones
    /// are fine elsewhere) and the proxies, the public ones otherwise.
    pub(super) fn addresses(
        &self,
        name: &str,
        resolved: Vec<std::net::SocketAddr>,
    ) -> Result<Vec<std::net::SocketAddr>, Refusal> {
        let name = name.to_ascii_lowercase();
        if name == self.feed.host {
            let private = resolved.iter().any(|a| is_private(a.ip()));
            self.private_ok.store(private, Ordering::Relaxed);
            return Ok(resolved);
        }
        if self.private_ok() || self.trusted_names.contains(&name) {
            return Ok(resolved);
        }
        let public: Vec<_> = resolved
            .into_iter()
            .filter(|a| !is_private(a.ip()))
            .collect();
        if public.is_empty() {
            return Err(Refusal::Private(name));
        }
        Ok(public)
    }

    /// The redirect rule: the same as for any fetch, at most
    /// [`MAX_REDIRECTS`] hops, no loops.
    pub(super) fn redirect(
        &self,
        attempt: reqwest::redirect::Attempt<'_>,
    ) -> reqwest::redirect::Action {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(Refusal::TooManyRedirects);
        }
        if attempt.previous().contains(attempt.url()) {
            let at = redact_url(attempt.url().as_str());
            return attempt.error(Refusal::Loop(at));
        }
        match self.check(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(r) => attempt.error(r),
        }
    }
}

/// Loopback, private, link-local, unspecified, shared (CGNAT) and other
/// non-public addresses, IPv4 embedded in IPv6 included.
pub(super) fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_v4(v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return is_private_v4(Ipv4Addr::new(a, b, c, d));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
        }
    }
}

fn is_private_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space
        || (a == 192 && b == 0 && v4.octets()[2] == 0) // IETF protocol assignments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn policy(feed: &str, allow: &[&str]) -> FetchPolicy {
        let allow: Vec<PollOrigin> = allow.iter().map(|a| a.parse().unwrap()).collect();
        FetchPolicy::new(&url(feed), allow.into(), Vec::new()).unwrap()
    }

    /// Same origin only, unless allowed; other schemes never.
    #[test]
    fn origins() {
        let p = policy(
            "https://feeds.example/rolie/f",
            &["https://cdn.example:8443"],
        );
        assert!(p.check(&url("https://FEEDS.example:443/x")).is_ok());
        assert!(p.check(&url("https://cdn.example:8443/doc")).is_ok());
        for bad in [
            "http://feeds.example/x",
            "https://feeds.example:8443/x",
            "https://cdn.example/doc",
            "https://other.example/",
            "file:///etc/passwd",
            "gopher://feeds.example/",
        ] {
            assert!(p.check(&url(bad)).is_err(), "{bad}");
        }
    }

    /// Private literals are refused for a public feed, fine for a private
    /// one, and fine when the user allowed that address.
    #[test]
    fn private_addresses() {
        let p = policy("https://feeds.example/f", &["http://10.1.2.3:8080"]);
        assert!(p.check(&url("http://10.1.2.3:8080/x")).is_ok());
        let p = policy("http://127.0.0.1:8080/f", &["http://169.254.169.254"]);
        assert!(p.check(&url("http://127.0.0.1:8080/doc")).is_ok());
        let p = policy("https://feeds.example/f", &[]);
        let a = |s: &str| vec![std::net::SocketAddr::new(s.parse().unwrap(), 80)];
        assert!(p.addresses("evil.example", a("127.0.0.1")).is_err());
        assert!(p.addresses("evil.example", a("93.184.216.34")).is_ok());
        // The feed's own host resolving to loopback makes private fine.
        assert!(p.addresses("feeds.example", a("127.0.0.1")).is_ok());
        assert!(p.addresses("other.example", a("10.0.0.1")).is_ok());
    }

    #[test]
    fn address_classes() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn origin_syntax() {
        let o: PollOrigin = "https://CDN.example".parse().unwrap();
        assert_eq!(o.to_string(), "https://cdn.example:443");
        assert!("https://cdn.example/path".parse::<PollOrigin>().is_err());
        assert!("https://u:p@cdn.example".parse::<PollOrigin>().is_err());
        assert!("ftp://cdn.example".parse::<PollOrigin>().is_err());
        assert!("cdn.example".parse::<PollOrigin>().is_err());
    }
}
