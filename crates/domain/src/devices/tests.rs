//! Devices: the stored form, the bounds, and the "new sign-in" mail over
//! the in-memory adapter.

use std::sync::Arc;

use futures::executor::block_on;
use time::Duration;

use crate::test_support::*;
use crate::*;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148";

#[test]
fn a_device_reads_back_as_stored_and_an_old_raw_user_agent_reads_back_unparsed() {
    let d = TestDevices.parse(FIREFOX);
    assert_eq!(Device::from_stored(&d.to_stored()), d);
    assert_eq!(d.summary(), "Firefox 133.0 on Linux (desktop)");
    let old = Device::from_stored("curl/8.5.0");
    assert_eq!(old, Device::unparsed("curl/8.5.0"));
    assert_eq!(old.device_type, DeviceType::Other);
    assert_eq!(old.browser, "Other");
}

#[test]
fn names_are_bounded_and_clean_and_the_user_agent_is_cut_at_a_character() {
    let long = "é".repeat(USER_AGENT_MAX_BYTES);
    let d = Device::new(
        DeviceType::Desktop,
        &format!("Fire\u{7}fox{}", "x".repeat(200)),
        Some("\n"),
        "",
        None,
        &long,
    );
    assert_eq!(d.browser.chars().count(), 64);
    assert!(d.browser.starts_with("Firefox"));
    assert_eq!(d.browser_version, None);
    assert_eq!(d.os, "Other");
    assert!(d.user_agent.len() <= USER_AGENT_MAX_BYTES);
    assert_eq!(d.user_agent.chars().count(), USER_AGENT_MAX_BYTES / 2);
    // A stored document with hostile values is bounded again on reading.
    let forged = serde_json::json!({"type": "mobile", "browser": "a".repeat(1000),
        "browser_version": null, "os": "b", "os_version": null, "user_agent": "c"});
    assert_eq!(Device::from_stored(&forged.to_string()).browser.len(), 64);
}

struct World {
    stores: Stores,
    clock: Arc<MovableClock>,
    auth: Authentication,
    user: User,
}

fn world(alerts: bool) -> World {
    let (h, clock, user) = Harness::over_memory();
    let policy = AccountPolicy {
        settings: crate::LiveSettings::from_defaults(&crate::SettingDefaults {
            new_device_alerts: alerts,
            ..crate::SettingDefaults::default()
        })
        .unwrap(),
        ..AccountPolicy::default()
    };
    World {
        stores: h.stores.clone(),
        clock,
        auth: Authentication::new(h.stores, h.system, policy),
        user,
    }
}

fn sign_in(w: &World, user_agent: &str) -> IssuedSession {
    let signed_in = block_on(w.auth.sign_in(SignInRequest {
        login: w.user.email.as_str().to_owned(),
        password: Password::for_sign_in("right password").unwrap(),
        user_agent: Some(user_agent.into()),
        ip: Some("203.0.113.9".into()),
    }))
    .unwrap();
    match signed_in {
        SignedIn::Session(issued) => issued,
        SignedIn::MfaRequired(_) => unreachable!(),
    }
}

/// The "new sign-in" notices waiting in the mail queue (taken out).
fn new_sign_in_mails(w: &World) -> Vec<Notice> {
    let now = w.clock.now();
    block_on(
        w.stores
            .mail_queue
            .claim(now, now + Duration::days(1000), 100),
    )
    .unwrap()
    .into_iter()
    .filter_map(|m| match m.body {
        Outgoing::Mail(Mail::Notice { notice, .. }) => Some(notice),
        _ => None,
    })
    .collect()
}

#[test]
fn the_session_and_the_sign_in_event_keep_the_parsed_device() {
    let w = world(true);
    let issued = sign_in(&w, FIREFOX);
    let device = issued.session.device.clone().unwrap();
    assert_eq!(device, TestDevices.parse(FIREFOX));
    let stored = block_on(w.stores.sessions.get(issued.session.id))
        .unwrap()
        .unwrap();
    assert_eq!(stored.device, Some(device.clone()));
    let filter = ActivityFilter {
        kind: Some(ActivityKind::SignInSucceeded),
        ..ActivityFilter::default()
    };
    let events = block_on(w.stores.activity.list(&filter, PageRequest::first(5))).unwrap();
    assert_eq!(events.items[0].device, Some(device));
}

#[test]
fn a_device_kind_unseen_for_ninety_days_is_mailed_once_and_a_first_sign_in_never() {
    let w = world(true);
    sign_in(&w, FIREFOX);
    assert_eq!(
        new_sign_in_mails(&w),
        vec![],
        "a first sign-in ever is not news"
    );
    w.clock.set(T0 + Duration::days(1));
    sign_in(&w, IPHONE);
    assert_eq!(
        new_sign_in_mails(&w),
        vec![Notice::NewSignIn {
            device: "Mobile Safari 17.5 on iOS 17.5 (mobile)".into(),
            ip: Some("203.0.113.9".into()),
            at: T0 + Duration::days(1),
        }]
    );
    // The same kind again, and a newer Firefox version: known kinds.
    w.clock.set(T0 + Duration::days(2));
    sign_in(&w, IPHONE);
    sign_in(&w, &FIREFOX.replace("133.0", "134.0"));
    assert_eq!(new_sign_in_mails(&w), vec![]);
    // Ninety days after the last Firefox sign-in, Firefox is new again.
    w.clock
        .set(T0 + Duration::days(2) + NEW_DEVICE_WINDOW + Duration::seconds(1));
    sign_in(&w, FIREFOX);
    assert_eq!(new_sign_in_mails(&w).len(), 1);
}

#[test]
fn no_mail_when_the_alerts_are_off() {
    let w = world(false);
    sign_in(&w, FIREFOX);
    w.clock.set(T0 + Duration::days(1));
    sign_in(&w, IPHONE);
    assert_eq!(new_sign_in_mails(&w), vec![]);
}
