//! Which URLs a webhook may point at: MLflow's `_validate_webhook_url`, checks and messages in its
//! order, plus the resolver that keeps deliveries off private addresses.
//!
//! By default only `https` is allowed and a URL whose host resolves to a private, loopback,
//! link-local or reserved address is refused, so a webhook cannot be used to probe the server's
//! own network (SSRF). The check runs when a webhook is created or updated and again before every
//! send; between the check and the connection, DNS could answer differently, so the HTTP client
//! resolves through [`PublicOnlyResolver`], which refuses the same addresses at connect time.

use crate::error::ApiError;
use crate::search::pyrepr::py_str;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The URL rules in force (`--webhook-allowed-schemes`, `--webhook-allow-private-ips`).
#[derive(Debug, Clone)]
pub struct UrlPolicy {
    pub allowed_schemes: Vec<String>,
    pub allow_private_ips: bool,
}

/// `urllib.parse.urlparse` far enough for the checks: (scheme, netloc).
fn split(url: &str) -> (String, &str) {
    let mut rest = url;
    let mut scheme = String::new();
    if let Some(i) = url.find(':') {
        let candidate = &url[..i];
        let ok = candidate
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && candidate
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if ok {
            scheme = candidate.to_ascii_lowercase();
            rest = &url[i + 1..];
        }
    }
    let netloc = rest.strip_prefix("//").map_or("", |r| {
        let end = r.find(['/', '?', '#']).unwrap_or(r.len());
        &r[..end]
    });
    (scheme, netloc)
}

/// `urlparse(url).hostname`: lowercased, without user info, port or IPv6 brackets.
fn hostname(netloc: &str) -> Option<String> {
    let host = netloc.rsplit_once('@').map_or(netloc, |(_, h)| h);
    let host = if let Some(inner) = host.strip_prefix('[') {
        inner.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The checks that need no DNS: shape, scheme and host. Returns the host to resolve.
pub fn check_shape(url: &str, policy: &UrlPolicy) -> Result<String, ApiError> {
    if url.trim().is_empty() {
        return Err(ApiError::invalid(format!(
            "Webhook URL cannot be empty or just whitespace: {}",
            py_str(url)
        )));
    }
    let (scheme, netloc) = split(url);
    if netloc.contains('[') != netloc.contains(']') {
        return Err(ApiError::invalid(format!(
            "Invalid webhook URL {}: ValueError('Invalid IPv6 URL')",
            py_str(url)
        )));
    }
    if !policy.allowed_schemes.contains(&scheme) {
        return Err(ApiError::invalid(format!(
            "Invalid webhook URL scheme: {}. Allowed schemes are: {}.",
            py_str(&scheme),
            policy.allowed_schemes.join(", ")
        )));
    }
    let Some(host) = hostname(netloc) else {
        return Err(ApiError::invalid(format!(
            "Webhook URL must include a hostname: {}",
            py_str(url)
        )));
    };
    // What Python accepts but the HTTP client cannot send to is refused now, not at delivery.
    if let Err(e) = reqwest::Url::parse(url) {
        return Err(ApiError::invalid(format!(
            "Invalid webhook URL {}: ValueError({})",
            py_str(url),
            py_str(&e.to_string())
        )));
    }
    Ok(host)
}

/// Everything `_validate_webhook_url` checks, DNS included.
pub async fn validate(url: &str, policy: &UrlPolicy) -> Result<(), UrlError> {
    let host = check_shape(url, policy).map_err(UrlError::Invalid)?;
    if policy.allow_private_ips {
        return Ok(());
    }
    let addrs = resolve(&host).await.map_err(|e| {
        UrlError::Unresolved(ApiError::invalid(format!(
            "Cannot resolve webhook URL hostname {}: {e}",
            py_str(&host)
        )))
    })?;
    for ip in addrs {
        if !is_global(ip) {
            return Err(UrlError::Invalid(ApiError::invalid(format!(
                "Webhook URL must not resolve to a non-public IP address. {} resolves to {ip}.",
                py_str(&host)
            ))));
        }
    }
    Ok(())
}

/// Why a URL was refused: for good, or because DNS did not answer (which may pass later).
#[derive(Debug)]
pub enum UrlError {
    Invalid(ApiError),
    Unresolved(ApiError),
}

impl UrlError {
    pub fn into_api(self) -> ApiError {
        match self {
            Self::Invalid(e) | Self::Unresolved(e) => e,
        }
    }
}

async fn resolve(host: &str) -> std::io::Result<Vec<IpAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let addrs = tokio::net::lookup_host((host, 0)).await?;
    Ok(addrs.map(|a| a.ip()).collect())
}

/// Python's `ipaddress` `is_global`: not private, loopback, link-local, shared, documentation,
/// benchmarking or reserved. Multicast and IPv4-mapped addresses are judged like their targets.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_is_global(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_is_global(v4),
            None => v6_is_global(v6),
        },
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn v4_is_global(ip: Ipv4Addr) -> bool {
    const NON_GLOBAL: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),
        ([10, 0, 0, 0], 8),
        ([100, 64, 0, 0], 10),
        ([127, 0, 0, 0], 8),
        ([169, 254, 0, 0], 16),
        ([172, 16, 0, 0], 12),
        ([192, 0, 0, 0], 24),
        ([192, 0, 2, 0], 24),
        ([192, 168, 0, 0], 16),
        ([198, 18, 0, 0], 15),
        ([198, 51, 100, 0], 24),
        ([203, 0, 113, 0], 24),
        ([224, 0, 0, 0], 4),
        ([240, 0, 0, 0], 4),
    ];
    !NON_GLOBAL.iter().any(|(net, p)| in_v4(ip, *net, *p))
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    u128::from(ip) & mask == u128::from(net) & mask
}

fn v6_is_global(ip: Ipv6Addr) -> bool {
    let net = |s: &str| s.parse::<Ipv6Addr>().unwrap_or(Ipv6Addr::UNSPECIFIED);
    let non_global = [
        ("::", 128),
        ("::1", 128),
        ("64:ff9b:1::", 48),
        ("100::", 64),
        ("2001::", 23),
        ("2001:db8::", 32),
        ("2002::", 16),
        ("fc00::", 7),
        ("fe80::", 10),
        ("ff00::", 8),
    ];
    !non_global.iter().any(|(n, p)| in_v6(ip, net(n), *p))
}

/// Name resolution for deliveries that refuses non-public addresses (unless they are allowed), so
/// a host that passed [`validate`] cannot be re-pointed at the internal network before connecting.
pub struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| !is_global(a.ip())) {
                return Err(format!(
                    "webhook URL host {} resolves to the non-public address {}",
                    py_str(&host),
                    bad.ip()
                )
                .into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn https_only() -> UrlPolicy {
        UrlPolicy {
            allowed_schemes: vec!["https".into()],
            allow_private_ips: false,
        }
    }

    #[test]
    fn shape_errors_read_like_mlflows() {
        let p = https_only();
        let msg = |u: &str| check_shape(u, &p).unwrap_err().message;
        assert_eq!(
            msg("   "),
            "Webhook URL cannot be empty or just whitespace: '   '"
        );
        assert_eq!(
            msg("ftp://example.com"),
            "Invalid webhook URL scheme: 'ftp'. Allowed schemes are: https."
        );
        assert_eq!(
            msg("http://[invalid"),
            "Invalid webhook URL 'http://[invalid': ValueError('Invalid IPv6 URL')"
        );
        assert_eq!(
            msg("example.com/hook"),
            "Invalid webhook URL scheme: ''. Allowed schemes are: https."
        );
        assert_eq!(
            msg("https://"),
            "Webhook URL must include a hostname: 'https://'"
        );
        assert_eq!(
            check_shape("HTTPS://User:pw@Example.COM:8443/x?y#z", &p).unwrap(),
            "example.com"
        );
        assert_eq!(check_shape("https://[::1]:80/", &p).unwrap(), "::1");
    }

    #[test]
    fn private_addresses_are_not_global() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_global(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_global(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        let err = validate("https://127.0.0.1/x", &https_only())
            .await
            .unwrap_err()
            .into_api();
        assert_eq!(
            err.message,
            "Webhook URL must not resolve to a non-public IP address. '127.0.0.1' resolves to \
             127.0.0.1."
        );
        let open = UrlPolicy {
            allowed_schemes: vec!["http".into()],
            allow_private_ips: true,
        };
        assert!(validate("http://127.0.0.1:9/x", &open).await.is_ok());
    }
}
