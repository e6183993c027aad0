//! The WebAuthn relying party (passkeys).

use serde::{Deserialize, Serialize};

/// Who the passkeys belong to: browsers bind each passkey to the RP ID and
/// accept ceremonies only from the listed origins.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebAuthnConfig {
    /// The relying party ID: a host name (`example.com` lets
    /// `app.example.com` use it too). Empty: the host of
    /// `server.public_url` (`localhost` when that is a loopback address,
    /// which browsers refuse as an RP ID). Changing it orphans every
    /// registered passkey.
    pub rp_id: String,
    /// The name authenticators show. Empty: "Portico".
    pub rp_name: String,
    /// The origins (`https://app.example.com`) whose pages may register and
    /// use passkeys: Portico's own pages and the app's front ends. Empty:
    /// the origin of `server.public_url` (with `localhost` for a loopback
    /// address).
    pub origins: Vec<String>,
}

impl WebAuthnConfig {
    /// The RP ID, name and origins in effect for a server at `public_url`.
    pub fn relying_party(&self, public_url: &str) -> Result<(String, String, Vec<String>), String> {
        let mut public = url::Url::parse(public_url)
            .map_err(|e| format!("server.public_url {public_url:?}: {e}"))?;
        // Browsers refuse an IP address as an RP ID; a server on a loopback
        // or unspecified address is used from `http://localhost:<port>`.
        if let Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) = public.host() {
            let local = public.host().is_some_and(|h| match h {
                url::Host::Ipv4(ip) => ip.is_loopback() || ip.is_unspecified(),
                url::Host::Ipv6(ip) => ip.is_loopback() || ip.is_unspecified(),
                url::Host::Domain(_) => false,
            });
            if local {
                public
                    .set_host(Some("localhost"))
                    .map_err(|e| format!("server.public_url {public_url:?}: {e}"))?;
            }
        }
        let rp_id = if self.rp_id.is_empty() {
            public
                .host_str()
                .ok_or_else(|| format!("server.public_url {public_url:?} has no host"))?
                .to_owned()
        } else {
            self.rp_id.clone()
        };
        let name = if self.rp_name.is_empty() {
            "Portico".to_owned()
        } else {
            self.rp_name.clone()
        };
        let origins = if self.origins.is_empty() {
            vec![public.origin().ascii_serialization()]
        } else {
            self.origins.clone()
        };
        Ok((rp_id, name, origins))
    }
}
