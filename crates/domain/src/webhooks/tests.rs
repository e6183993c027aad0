use std::net::IpAddr;

use super::*;
use crate::WebhookEventId;

#[test]
fn signs_the_specifications_example() {
    // The example of the Standard Webhooks specification's reference
    // libraries: this secret, id, timestamp and body give this signature.
    let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    assert_eq!(
        secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#
        ),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
    assert_eq!(
        WebhookSecret::parse(&secret.expose()).unwrap(),
        secret,
        "expose and parse round-trip"
    );
    assert!(
        WebhookSecret::parse("whsec_c2hvcnQ=").is_none(),
        "too short"
    );
    let id = WebhookEventId::from_uuid(uuid::Uuid::nil());
    assert_eq!(message_id(id), "msg_00000000000000000000000000000000");
}

#[test]
fn addresses_are_classified() {
    let class = |s: &str| AddressClass::of(s.parse::<IpAddr>().unwrap());
    for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
        assert_eq!(class(public), AddressClass::Public, "{public}");
    }
    for lo in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
        assert_eq!(class(lo), AddressClass::Loopback, "{lo}");
    }
    for private in [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "fc00::1",
        "fd12::1",
        "fe80::1",
        "::",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
    ] {
        assert_eq!(class(private), AddressClass::Private, "{private}");
    }
}

#[test]
fn urls_are_checked_against_the_policy() {
    let closed = WebhookNetPolicy::default();
    let open = WebhookNetPolicy {
        allow_loopback: true,
        allow_private: true,
    };
    let url = |s: &str| WebhookUrl::parse(s).unwrap();
    assert_eq!(
        closed.check_url(&url("https://hooks.example.com/x")),
        Ok(())
    );
    assert_eq!(
        closed.check_url(&url("http://hooks.example.com/x")),
        Err(WebhookInputError::NotHttps)
    );
    assert_eq!(
        closed.check_url(&url("https://127.0.0.1/x")),
        Err(WebhookInputError::Loopback)
    );
    assert_eq!(
        closed.check_url(&url("https://localhost/x")),
        Err(WebhookInputError::Loopback)
    );
    assert_eq!(
        closed.check_url(&url("https://[::ffff:a9fe:a9fe]/latest/meta-data")),
        Err(WebhookInputError::Private)
    );
    assert_eq!(
        closed.check_url(&url("https://10.0.0.1/x")),
        Err(WebhookInputError::Private)
    );
    assert_eq!(open.check_url(&url("http://127.0.0.1:9000/x")), Ok(()));
    assert_eq!(open.check_url(&url("http://localhost:9000/x")), Ok(()));
    assert_eq!(
        open.check_url(&url("http://10.0.0.1/x")),
        Err(WebhookInputError::NotHttps),
        "plain http only to loopback"
    );
    for bad in [
        "ftp://example.com/",
        "https://user:pw@example.com/",
        "https://example.com/#frag",
        "/relative",
        "https://",
    ] {
        assert_eq!(
            WebhookUrl::parse(bad),
            Err(WebhookInputError::BadUrl),
            "{bad}"
        );
    }
}

#[test]
fn events_parse_sorted_and_unique() {
    let events = WebhookEvents::parse(&["user.deleted", "user.created", "user.deleted"]).unwrap();
    assert_eq!(events.names(), ["user.created", "user.deleted"]);
    assert_eq!(
        WebhookEvents::from_stored(&events.to_stored()).unwrap(),
        events
    );
    assert_eq!(
        WebhookEvents::parse::<&str>(&[]),
        Err(WebhookInputError::NoEvents)
    );
    assert_eq!(
        WebhookEvents::parse(&["webhook.test"]),
        Err(WebhookInputError::UnknownEvent("webhook.test".into()))
    );
    assert_eq!(
        WebhookEvents::parse(&["user.exploded"]),
        Err(WebhookInputError::UnknownEvent("user.exploded".into()))
    );
}
