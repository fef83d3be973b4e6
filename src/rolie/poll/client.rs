//! The HTTP clients of the bridge's ROLIE pollers: the TLS trust they share
//! with the XMPP connection, and for each feed a client whose redirects and
//! DNS answers obey that feed's fetch rule (`policy.rs`).

use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::policy::{FetchPolicy, PollOrigin};
use super::redact::redact_url;

/// Why a poller's HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TLS settings (CA file, …) could not be loaded.
    #[error("TLS settings for polling: {0}")]
    Tls(#[from] crate::xmpp::ConnectError),
    /// reqwest refused the settings.
    #[error("HTTP client: {0}")]
    Build(String),
    /// The feed URL is not an http(s) URL with a host.
    #[error("{0}: not an http(s) URL with a host")]
    Url(String),
}

/// What the pollers' clients are built from.
///
/// They trust what the XMPP connection trusts — the system roots plus
/// `--ca-file` — but take none of the settings that concern the XMPP
/// server alone: its key pins (`--pin-sha256` would refuse every web server
/// with another key), its revocation lists (`--crl-file` would refuse every
/// web server whose issuer they do not cover) and the account's client
/// certificate (which would be offered to any web server that asks for
/// one).
#[derive(Clone)]
pub struct PollClient {
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
    allow: Arc<[PollOrigin]>,
}

impl PollClient {
    /// Clients trusting what `config` trusts, fetching from each feed's
    /// own origin and from `allow` (`--poll-allow`).
    pub fn new(config: &crate::Config, allow: Vec<PollOrigin>) -> Result<PollClient, ClientError> {
        let mut web = config.clone();
        web.pin_sha256.clear();
        web.crl_files.clear();
        web.client_cert = None;
        web.client_key = None;
        Ok(PollClient {
            tls: crate::xmpp::client_config(&web)?,
            allow: allow.into(),
        })
    }

    /// A client for the feed at `feed_url` (what a [`super::Poller`]
    /// uses; also handy on its own).
    pub fn client_for(&self, feed_url: &str) -> Result<reqwest::Client, ClientError> {
        Ok(self.for_feed(feed_url)?.0)
    }

    /// The client for one feed and the rule it obeys.
    pub(super) fn for_feed(
        &self,
        feed_url: &str,
    ) -> Result<(reqwest::Client, Arc<FetchPolicy>), ClientError> {
        let bad = || ClientError::Url(redact_url(feed_url));
        let url = reqwest::Url::parse(feed_url).map_err(|_| bad())?;
        let policy =
            Arc::new(FetchPolicy::new(&url, self.allow.clone(), proxy_hosts()).ok_or_else(bad)?);
        let redirects = policy.clone();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls((*self.tls).clone())
            .timeout(std::time::Duration::from_secs(30))
            .user_agent(concat!("gridlink/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::custom(move |a| {
                redirects.redirect(a)
            }))
            .dns_resolver(Arc::new(CheckedResolver(policy.clone())))
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        Ok((client, policy))
    }
}

/// The hosts of the proxies the environment names (`HTTPS_PROXY` …):
/// reqwest resolves them, the proxy resolves the targets.
fn proxy_hosts() -> Vec<String> {
    [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .filter_map(|v| std::env::var(v).ok())
    .filter_map(|v| {
        let with_scheme = if v.contains("://") {
            v
        } else {
            format!("http://{v}")
        };
        reqwest::Url::parse(&with_scheme)
            .ok()?
            .host_str()
            .map(str::to_ascii_lowercase)
    })
    .collect()
}

/// The system resolver, with the feed's rule applied to its answers: a
/// host name that resolves to a private address is refused as that
/// address would be (URLs with literal addresses never get here; the rule
/// checks those itself).
struct CheckedResolver(Arc<FetchPolicy>);

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<_> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = policy.addresses(&host, resolved)?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}
