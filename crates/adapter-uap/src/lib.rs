//! Parses User-Agents into [`domain::Device`]s with
//! [ua-parser](https://github.com/ua-parser/uap-rust), the Rust port the
//! ua-parser project maintains, over its uap-core rules (embedded here as
//! `data/regexes.json`; `scripts/update-uap.sh` refreshes them).
//!
//! What is kept of the data: the browser and system rules whole, and of
//! the device rules only those that recognise crawlers. The others name
//! brands and models, which Portico does not show; without them the
//! parser builds in about half the time and memory (about 0.2 s and 15 MB
//! once per process, measured with optimised regex crates). The device
//! *type* is read from the system and the User-Agent's own tokens:
//! - `bot`: a crawler rule matched, or the client's family ends in `bot`;
//! - `tablet`: iOS naming an iPad, Android without the `Mobile` token
//!   (Google's convention for tablets), or a User-Agent saying `Tablet`;
//! - `mobile`: iOS otherwise, Android with `Mobile`, other phone systems,
//!   or a `Mobi` token;
//! - `desktop`: Windows, macOS, Chrome OS, Linux distributions, the BSDs;
//! - `other`: the rest (command-line tools, libraries, unknown clients).
//!
//! An iPad in desktop mode sends a Mac's User-Agent and is a desktop here,
//! as in every parser that reads only the header.

use std::sync::LazyLock;

use domain::{Device, DeviceParser, DeviceType};

/// The rules, compiled once per process on first use (or by
/// [`UapDevices::warm`]). `None` only if the embedded data does not
/// compile, which this crate's tests rule out.
static EXTRACTOR: LazyLock<Option<ua_parser::Extractor<'static>>> = LazyLock::new(|| {
    let regexes: ua_parser::Regexes<'static> =
        serde_json::from_str(include_str!("../data/regexes.json")).ok()?;
    ua_parser::Extractor::try_from(regexes).ok()
});

/// The uap-core version the embedded rules come from.
pub const DATA_VERSION: &str = include_str!("../data/VERSION");

/// The device parser the server uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct UapDevices;

impl UapDevices {
    /// Compiles the rules on a thread of its own now, so the first sign-in
    /// does not wait for them.
    pub fn warm() {
        std::thread::spawn(|| LazyLock::force(&EXTRACTOR));
    }
}

impl DeviceParser for UapDevices {
    fn parse(&self, user_agent: &str) -> Device {
        let user_agent = domain::bounded_user_agent(user_agent);
        let Some(extractor) = EXTRACTOR.as_ref() else {
            return Device::unparsed(user_agent);
        };
        let (client, os, device) = extractor.extract(user_agent);
        let browser = client.as_ref().map(|c| c.family.as_ref());
        let browser_version = client
            .as_ref()
            .and_then(|c| version([c.major, c.minor, c.patch, c.patch_minor]));
        let os_family = os.as_ref().map(|o| o.os.as_ref());
        let os_version = os.as_ref().and_then(|o| {
            version([
                o.major.as_deref(),
                o.minor.as_deref(),
                o.patch.as_deref(),
                o.patch_minor.as_deref(),
            ])
        });
        let crawler = device.is_some_and(|d| d.device == "Spider")
            || browser.is_some_and(|b| b.to_ascii_lowercase().ends_with("bot"));
        let device_type = if crawler {
            DeviceType::Bot
        } else {
            device_type(user_agent, os_family.unwrap_or_default())
        };
        Device::new(
            device_type,
            browser.unwrap_or(domain::UNKNOWN),
            browser_version.as_deref(),
            os_family.unwrap_or(domain::UNKNOWN),
            os_version.as_deref(),
            user_agent,
        )
    }
}

/// `major.minor.patch…` of the parts present (`None` without a major).
fn version(parts: [Option<&str>; 4]) -> Option<String> {
    let parts: Vec<&str> = parts.into_iter().map_while(|p| p).collect();
    (!parts.is_empty()).then(|| parts.join("."))
}

/// Systems that run only on phones.
const PHONE_SYSTEMS: [&str; 6] = [
    "Windows Phone",
    "BlackBerry OS",
    "KaiOS",
    "Firefox OS",
    "Symbian OS",
    "Sailfish",
];

/// Systems of desktop and laptop computers (besides every Windows that is
/// not a phone's, and Linux distributions).
const DESKTOP_SYSTEMS: [&str; 7] = [
    "Mac OS X",
    "Mac OS",
    "Chrome OS",
    "FreeBSD",
    "OpenBSD",
    "NetBSD",
    "Solaris",
];

/// Linux distributions uap-core names as systems of their own.
const LINUX_DISTRIBUTIONS: [&str; 9] = [
    "Linux",
    "Ubuntu",
    "Debian",
    "Fedora",
    "Red Hat",
    "SUSE",
    "Mint",
    "Arch Linux",
    "CentOS",
];

/// The type of a device that is not a crawler, from its system's family
/// and the User-Agent's tokens.
fn device_type(user_agent: &str, os: &str) -> DeviceType {
    let says = |token: &str| user_agent.contains(token);
    match os {
        "iOS" | "iPadOS" if says("iPad") => DeviceType::Tablet,
        "iOS" | "iPadOS" => DeviceType::Mobile,
        "Android" if says("Mobile") => DeviceType::Mobile,
        "Android" => DeviceType::Tablet,
        _ if says("Tablet") => DeviceType::Tablet,
        _ if PHONE_SYSTEMS.contains(&os) || says("Mobi") => DeviceType::Mobile,
        _ if os.starts_with("Windows") || DESKTOP_SYSTEMS.contains(&os) => DeviceType::Desktop,
        _ if LINUX_DISTRIBUTIONS.contains(&os) => DeviceType::Desktop,
        _ => DeviceType::Other,
    }
}

#[cfg(test)]
mod tests;
