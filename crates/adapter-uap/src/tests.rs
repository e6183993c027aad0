//! Real User-Agents of each type, read as a person would.

use super::*;

fn parse(ua: &str) -> Device {
    UapDevices.parse(ua)
}

/// A User-Agent and what it reads as: type, browser, browser version,
/// system, system version.
type Seen = (
    &'static str,
    DeviceType,
    &'static str,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
);

const SEEN: &[Seen] = &[
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        DeviceType::Desktop,
        "Edge",
        Some("131.0.0.0"),
        "Windows",
        Some("10"),
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        DeviceType::Desktop,
        "Firefox",
        Some("133.0"),
        "Linux",
        None,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        DeviceType::Desktop,
        "Safari",
        Some("17.4"),
        "Mac OS X",
        Some("10.15.7"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        DeviceType::Mobile,
        "Mobile Safari",
        Some("17.5"),
        "iOS",
        Some("17.5"),
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
        DeviceType::Tablet,
        "Mobile Safari",
        Some("16.6"),
        "iOS",
        Some("16.6"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        DeviceType::Mobile,
        "Chrome Mobile",
        Some("120.0.0.0"),
        "Android",
        Some("14"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        DeviceType::Tablet,
        "Chrome",
        Some("120.0.0.0"),
        "Android",
        Some("13"),
    ),
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        DeviceType::Bot,
        "Googlebot",
        Some("2.1"),
        "Other",
        None,
    ),
    (
        "curl/8.5.0",
        DeviceType::Other,
        "curl",
        Some("8.5.0"),
        "Other",
        None,
    ),
    ("", DeviceType::Other, "Other", None, "Other", None),
];

#[test]
fn the_embedded_rules_compile() {
    assert!(EXTRACTOR.is_some());
    assert!(DATA_VERSION.starts_with("uap-core "));
}

#[test]
fn common_clients_are_read_as_people_know_them() {
    for &(ua, device_type, browser, browser_version, os, os_version) in SEEN {
        let d = parse(ua);
        assert_eq!(
            (
                d.device_type,
                d.browser.as_str(),
                d.browser_version.as_deref(),
                d.os.as_str(),
                d.os_version.as_deref(),
            ),
            (device_type, browser, browser_version, os, os_version),
            "{ua}"
        );
        assert_eq!(d.user_agent, ua);
    }
}

#[test]
fn a_hostile_header_is_bounded_and_parses_to_something() {
    let huge = format!("Mozilla/5.0 {}", "(\u{1}; ".repeat(10_000));
    let d = parse(&huge);
    assert!(d.user_agent.len() <= domain::USER_AGENT_MAX_BYTES);
    assert_eq!(parse("\u{0}\u{7f}"), Device::unparsed("\u{0}\u{7f}"));
}
