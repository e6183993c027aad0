//! Where webhooks may go: the endpoint's URL, and the classes of address
//! the deployment allows (checked when a URL is set, and by the transport
//! after DNS at every connection).

use std::fmt;
use std::net::IpAddr;

use crate::{StoreError, WebhookInputError};

/// An endpoint's URL: absolute http or https, a host, no credentials, at
/// most 2000 characters. Where it may point is checked separately
/// ([`WebhookNetPolicy`]), when it is set and again, after DNS, when sending.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Parses a URL.
    pub fn parse(raw: &str) -> Result<Self, WebhookInputError> {
        if raw.len() > 2000 {
            return Err(WebhookInputError::BadUrl);
        }
        let url = url::Url::parse(raw).map_err(|_| WebhookInputError::BadUrl)?;
        let ok = matches!(url.scheme(), "http" | "https")
            && url.host().is_some()
            && url.username().is_empty()
            && url.password().is_none()
            && url.fragment().is_none();
        if ok {
            Ok(Self(url))
        } else {
            Err(WebhookInputError::BadUrl)
        }
    }

    /// Reads a stored URL back; one that does not parse is a corrupt record.
    pub fn from_stored(raw: &str) -> Result<Self, StoreError> {
        Self::parse(raw).map_err(|e| StoreError::with_source("stored webhook url", e))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether it is https.
    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    /// The host as written (a name, or an address without IPv6 brackets).
    pub fn host(&self) -> String {
        match self.0.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(h) => h.to_string(),
            None => String::new(),
        }
    }

    /// The port, the scheme's default when none is written.
    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(443)
    }

    /// The address, when the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.0.host()? {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        }
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({})", self.0)
    }
}

impl TryFrom<String> for WebhookUrl {
    type Error = WebhookInputError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<WebhookUrl> for String {
    fn from(url: WebhookUrl) -> Self {
        url.0.into()
    }
}

/// What kind of address a destination is, for [`WebhookNetPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// A public unicast address.
    Public,
    /// 127.0.0.0/8 or ::1.
    Loopback,
    /// Anything else that is not public: private ranges (10/8, 172.16/12,
    /// 192.168/16, fc00::/7), link-local (169.254/16 — where cloud metadata
    /// services answer — and fe80::/10), carrier-grade NAT (100.64/10),
    /// unspecified, broadcast, multicast, documentation and reserved ranges,
    /// and IPv4 addresses mapped into IPv6 that are one of these.
    Private,
}

impl AddressClass {
    /// Classifies `ip`.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => {
                let [a, b, ..] = v4.octets();
                if v4.is_loopback() {
                    Self::Loopback
                } else if v4.is_private()
                    || v4.is_link_local()
                    || v4.is_unspecified()
                    || v4.is_broadcast()
                    || v4.is_multicast()
                    || v4.is_documentation()
                    || a == 0
                    || (a == 100 && (64..128).contains(&b))
                    || (a == 192 && b == 0)
                    || (a == 198 && (18..20).contains(&b))
                    || a >= 240
                {
                    Self::Private
                } else {
                    Self::Public
                }
            }
            IpAddr::V6(v6) => {
                if let Some(v4) = v6.to_ipv4_mapped() {
                    return Self::of(IpAddr::V4(v4));
                }
                let first = v6.segments()[0];
                if v6.is_loopback() {
                    Self::Loopback
                } else if v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80
                    || first == 0x2001 && v6.segments()[1] == 0x0db8
                    || first == 0x0064 && v6.segments()[1] == 0xff9b
                    || first == 0
                {
                    Self::Private
                } else {
                    Self::Public
                }
            }
        }
    }
}

/// Where webhooks may be sent: public addresses always; loopback and
/// private ones only when the deployment says so (a receiver on the same
/// machine or network), because a webhook URL is otherwise a way to make
/// the server call its own neighbours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookNetPolicy {
    /// Loopback destinations (and plain http to them) are allowed.
    pub allow_loopback: bool,
    /// Private, link-local and other non-public destinations are allowed.
    pub allow_private: bool,
}

impl WebhookNetPolicy {
    /// Whether `ip` may be connected to.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), WebhookInputError> {
        match AddressClass::of(ip) {
            AddressClass::Public => Ok(()),
            AddressClass::Loopback if self.allow_loopback => Ok(()),
            AddressClass::Loopback => Err(WebhookInputError::Loopback),
            AddressClass::Private if self.allow_private => Ok(()),
            AddressClass::Private => Err(WebhookInputError::Private),
        }
    }

    /// What can be checked of `url` before resolving it: the scheme, a
    /// literal address, and `localhost`. The sender checks every address a
    /// name resolves to again when it connects.
    pub fn check_url(&self, url: &WebhookUrl) -> Result<(), WebhookInputError> {
        let lower = url.host().to_ascii_lowercase();
        let host = lower.trim_end_matches('.');
        let named_loopback = host == "localhost" || host.ends_with(".localhost");
        let loopback = named_loopback
            || url
                .ip()
                .is_some_and(|ip| AddressClass::of(ip) == AddressClass::Loopback);
        if named_loopback && !self.allow_loopback {
            return Err(WebhookInputError::Loopback);
        }
        if let Some(ip) = url.ip() {
            self.check_ip(ip)?;
        }
        if !url.is_https() && !loopback {
            return Err(WebhookInputError::NotHttps);
        }
        Ok(())
    }
}
