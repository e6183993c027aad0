//! The parsed device, its stored form, and the parser port.

use serde::{Deserialize, Serialize};

/// At most this many bytes of a User-Agent are kept (and parsed): enough
/// for every real browser's, bounded against a hostile header.
pub const USER_AGENT_MAX_BYTES: usize = 512;

/// At most this many characters of a browser's or system's name or version.
const NAME_MAX_CHARS: usize = 64;

/// What kind of device a client runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceType {
    /// A desktop or laptop computer.
    Desktop,
    /// A phone.
    Mobile,
    /// A tablet.
    Tablet,
    /// A crawler or another automated client that says so.
    Bot,
    /// Anything else: a command-line tool, a library, an unknown client.
    Other,
}

impl DeviceType {
    /// The stable name (`desktop`, `mobile`, `tablet`, `bot`, `other`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Desktop => "desktop",
            Self::Mobile => "mobile",
            Self::Tablet => "tablet",
            Self::Bot => "bot",
            Self::Other => "other",
        }
    }
}

/// A client's device as its User-Agent describes it. Names are bounded
/// text; an unknown browser or system is `"Other"`, an unknown version
/// `None`. Built by a [`DeviceParser`] (or [`Device::unparsed`]), so what a
/// store reads back is what was parsed at sign-in, even after the parser's
/// data changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Desktop, mobile, tablet, bot or other.
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    /// The browser's (or client's) family, such as `Firefox`.
    pub browser: String,
    /// Its version, such as `133.0`.
    pub browser_version: Option<String>,
    /// The operating system's family, such as `Windows`.
    pub os: String,
    /// Its version, such as `10`.
    pub os_version: Option<String>,
    /// The User-Agent it was parsed from (at most [`USER_AGENT_MAX_BYTES`]).
    pub user_agent: String,
}

/// The family name for what a parser does not know.
pub const UNKNOWN: &str = "Other";

impl Device {
    /// A device the parser found these facts in; every name is bounded and
    /// control characters are dropped, whatever the parser returns.
    pub fn new(
        device_type: DeviceType,
        browser: &str,
        browser_version: Option<&str>,
        os: &str,
        os_version: Option<&str>,
        user_agent: &str,
    ) -> Self {
        let name = |s: &str| {
            let s = clean(s, NAME_MAX_CHARS);
            if s.is_empty() { UNKNOWN.to_owned() } else { s }
        };
        let version = |v: Option<&str>| {
            v.map(|v| clean(v, NAME_MAX_CHARS))
                .filter(|v| !v.is_empty())
        };
        Self {
            device_type,
            browser: name(browser),
            browser_version: version(browser_version),
            os: name(os),
            os_version: version(os_version),
            user_agent: bounded_user_agent(user_agent).to_owned(),
        }
    }

    /// A User-Agent nothing was parsed from: type `other`, families unknown.
    pub fn unparsed(user_agent: &str) -> Self {
        Self::new(DeviceType::Other, UNKNOWN, None, UNKNOWN, None, user_agent)
    }

    /// Whether `other` is the same kind of device: the same type, browser
    /// family and system family (versions change with every update).
    pub fn same_kind(&self, other: &Self) -> bool {
        self.device_type == other.device_type
            && self.browser == other.browser
            && self.os == other.os
    }

    /// One line for people: `Firefox 133.0 on Linux (desktop)`.
    pub fn summary(&self) -> String {
        let with = |name: &str, version: &Option<String>| match version {
            Some(v) => format!("{name} {v}"),
            None => name.to_owned(),
        };
        format!(
            "{} on {} ({})",
            with(&self.browser, &self.browser_version),
            with(&self.os, &self.os_version),
            self.device_type.as_str()
        )
    }

    /// The text every adapter stores (JSON): one column or field, so a
    /// store keeps the parsed device without a field per fact.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| self.user_agent.clone())
    }

    /// Reads [`to_stored`](Self::to_stored)'s text back. Text that is not
    /// such a document is a User-Agent stored before devices were parsed:
    /// it comes back [`unparsed`](Self::unparsed), never as an error.
    pub fn from_stored(stored: &str) -> Self {
        match serde_json::from_str::<Self>(stored) {
            Ok(device) => Self::new(
                device.device_type,
                &device.browser,
                device.browser_version.as_deref(),
                &device.os,
                device.os_version.as_deref(),
                &device.user_agent,
            ),
            Err(_) => Self::unparsed(stored),
        }
    }
}

/// The first [`USER_AGENT_MAX_BYTES`] bytes of `user_agent`, cut at a
/// character boundary.
pub fn bounded_user_agent(user_agent: &str) -> &str {
    let mut end = user_agent.len().min(USER_AGENT_MAX_BYTES);
    while !user_agent.is_char_boundary(end) {
        end -= 1;
    }
    &user_agent[..end]
}

/// `s` without control characters, trimmed, at most `max` characters.
fn clean(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Turns a User-Agent into a [`Device`]. Portico's server uses the
/// `adapter-uap` crate (the uap-core data set); an embedder may plug in
/// another. Parsing must not fail: what it cannot read is
/// [`Device::unparsed`].
pub trait DeviceParser: Send + Sync {
    /// The device `user_agent` describes (already bounded to
    /// [`USER_AGENT_MAX_BYTES`]).
    fn parse(&self, user_agent: &str) -> Device;
}

/// A parser that knows no device: every User-Agent is kept
/// [`unparsed`](Device::unparsed). For embedders who do not want the data
/// set, and for tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnparsedDevices;

impl DeviceParser for UnparsedDevices {
    fn parse(&self, user_agent: &str) -> Device {
        Device::unparsed(user_agent)
    }
}

impl crate::System {
    /// The device a request's User-Agent describes (a missing header is an
    /// empty one: an `other` device).
    pub(crate) fn device(&self, user_agent: Option<&str>) -> Device {
        self.devices
            .parse(bounded_user_agent(user_agent.unwrap_or_default()))
    }
}
