//! Which hop of `X-Forwarded-For` is the client: `server.trusted_proxies`
//! names the proxies in front of Portico, by count or by address range, and
//! the client is the first untrusted hop from the right. Every proxy
//! appends the address it received the request from, so entries left of
//! the trusted part are whatever the client wrote and are never used.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The proxies in front of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TrustedProxies {
    /// This many proxies, each appending one entry (0, the default: none,
    /// `X-Forwarded-For` is ignored).
    Count(u8),
    /// Proxies by address or range (`10.0.0.0/8`, `192.0.2.7`, `fd00::/8`).
    Ranges(Vec<String>),
}

impl Default for TrustedProxies {
    fn default() -> Self {
        Self::Count(0)
    }
}

/// An address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has no valid prefix length (0-{max})"))?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }
}

impl Cidr {
    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The rule in effect, parsed.
#[derive(Debug, Clone, Default)]
pub enum ProxyRule {
    /// `X-Forwarded-For` is ignored: the peer is the client.
    #[default]
    None,
    /// The last `n` hops (the peer and `n - 1` entries) are proxies.
    Count(usize),
    /// Hops in these ranges are proxies.
    Ranges(Vec<Cidr>),
}

impl TrustedProxies {
    /// Parses the ranges; `trust_forwarded_for` (the old switch) means one proxy.
    pub fn rule(&self, trust_forwarded_for: bool) -> Result<ProxyRule, String> {
        Ok(match self {
            Self::Count(0) if trust_forwarded_for => ProxyRule::Count(1),
            Self::Count(0) => ProxyRule::None,
            Self::Count(n) => ProxyRule::Count(usize::from(*n)),
            Self::Ranges(r) if r.is_empty() => ProxyRule::None,
            Self::Ranges(r) => {
                ProxyRule::Ranges(r.iter().map(|s| s.parse()).collect::<Result<_, _>>()?)
            }
        })
    }
}

impl ProxyRule {
    /// The client address of a request from `peer` carrying `forwarded_for`
    /// (the `X-Forwarded-For` values, in order).
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let hops: Vec<Option<IpAddr>> = forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .map(|h| h.trim().parse().ok())
            .collect();
        match self {
            Self::None => peer,
            Self::Count(n) => {
                // The peer is the last proxy; each further proxy added one
                // entry on the right. The client is the entry left of them.
                let from_right = n.saturating_sub(1);
                if hops.len() <= from_right {
                    return hops.first().copied().flatten().unwrap_or(peer);
                }
                hops[hops.len() - 1 - from_right].unwrap_or(peer)
            }
            Self::Ranges(ranges) => {
                let trusted = |ip: IpAddr| ranges.iter().any(|r| r.contains(ip));
                if !trusted(peer) {
                    return peer;
                }
                let mut client = peer;
                for hop in hops.iter().rev() {
                    match hop {
                        Some(ip) if trusted(*ip) => client = *ip,
                        Some(ip) => return *ip,
                        // A malformed entry: nothing left of it can be trusted.
                        None => return client,
                    }
                }
                client
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right() {
        let peer = ip("10.0.0.2");
        // The client wrote "6.6.6.6" itself; the proxy appended its real address.
        let xff = ["6.6.6.6, 198.51.100.7"];
        assert_eq!(ProxyRule::None.client(peer, &xff), peer);
        assert_eq!(ProxyRule::Count(1).client(peer, &xff), ip("198.51.100.7"));
        assert_eq!(
            ProxyRule::Count(2).client(peer, &["6.6.6.6, 198.51.100.7, 10.0.0.1"]),
            ip("198.51.100.7")
        );
        let ranges = ProxyRule::Ranges(vec!["10.0.0.0/8".parse().unwrap()]);
        assert_eq!(
            ranges.client(peer, &["6.6.6.6, 198.51.100.7, 10.0.0.1"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            ranges.client(ip("203.0.113.5"), &xff),
            ip("203.0.113.5"),
            "an untrusted peer"
        );
        assert_eq!(
            ranges.client(peer, &["10.1.1.1"]),
            ip("10.1.1.1"),
            "all trusted: the leftmost"
        );
        assert_eq!(ProxyRule::Count(1).client(peer, &[]), peer, "no header");
    }

    #[test]
    fn ranges_parse_and_match_by_prefix() {
        let r: Cidr = "192.0.2.0/24".parse().unwrap();
        assert!(r.contains(ip("192.0.2.200")) && !r.contains(ip("192.0.3.1")));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
    }
}
