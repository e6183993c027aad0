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
    for lo in [
        "https://localhost/x",
        "https://LOCALHOST./x",
        "https://api.localhost/x",
        "https://127.1/x",
        "https://0x7f000001/x",
    ] {
        assert_eq!(
            closed.check_url(&url(lo)),
            Err(WebhookInputError::Loopback),
            "{lo}"
        );
    }
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

mod dispatch {
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use futures::executor::block_on;
    use time::Duration;

    use crate::kernel::principal::testing::signed_in;
    use crate::test_support::*;
    use crate::*;

    /// What a transport was sent: headers and body, in order.
    type Sent = Vec<(Vec<(&'static str, String)>, String)>;

    /// Answers from a script (then 204), and keeps what it was sent.
    #[derive(Default)]
    struct Scripted {
        answers: Mutex<Vec<WebhookResponse>>,
        sent: Mutex<Sent>,
    }

    impl Scripted {
        fn answer(&self, responses: Vec<WebhookResponse>) {
            *self.answers.lock().unwrap() = responses;
        }
        fn sent(&self) -> Sent {
            self.sent.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl WebhookTransport for Scripted {
        async fn post(
            &self,
            _url: &WebhookUrl,
            headers: &[(&'static str, String)],
            body: &str,
        ) -> WebhookResponse {
            self.sent
                .lock()
                .unwrap()
                .push((headers.to_vec(), body.to_owned()));
            let mut answers = self.answers.lock().unwrap();
            if answers.is_empty() {
                WebhookResponse::Status(204)
            } else {
                answers.remove(0)
            }
        }
    }

    struct World {
        clock: Arc<MovableClock>,
        stores: Stores,
        webhooks: Webhooks,
        dispatch: WebhookDispatch,
        transport: Arc<Scripted>,
        admin: Principal,
        user: User,
    }

    fn world() -> World {
        let (h, clock, user) = Harness::over_memory();
        let transport = Arc::new(Scripted::default());
        let role = Role {
            name: RoleName::parse("hooks").unwrap(),
            description: None,
            permissions: [Permission::WEBHOOKS_WRITE].into_iter().collect(),
            created_at: T0,
            updated_at: T0,
        };
        let caller = signed_in(&user);
        let admin = Principal::new(
            user.clone(),
            caller.session().clone(),
            vec![role],
            Arc::default(),
        );
        let net = WebhookNetPolicy {
            allow_loopback: true,
            allow_private: false,
        };
        World {
            clock,
            webhooks: Webhooks::new(h.stores.clone(), h.system.clone(), net),
            dispatch: WebhookDispatch::new(
                h.stores.clone(),
                h.system.clone(),
                transport.clone(),
                WebhookDispatchPolicy::default(),
            ),
            stores: h.stores,
            transport,
            admin,
            user,
        }
    }

    impl World {
        fn endpoint(&self, events: &[&str]) -> CreatedWebhook {
            block_on(self.webhooks.create(
                &self.admin,
                NewWebhook {
                    url: WebhookUrl::parse("http://127.0.0.1:9/hook").unwrap(),
                    events: WebhookEvents::parse(events).unwrap(),
                    description: Some("  test receiver ".into()),
                },
            ))
            .unwrap()
        }
        fn at(&self, after: Duration) -> DispatchReport {
            self.clock.set(T0 + after);
            block_on(self.dispatch.deliver_due()).unwrap()
        }
        fn queued(&self) -> u64 {
            block_on(self.stores.webhook_queue.count()).unwrap()
        }
    }

    fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> &'a str {
        &headers.iter().find(|(n, _)| *n == name).unwrap().1
    }

    #[test]
    fn only_webhooks_write_manages_endpoints() {
        let w = world();
        let nobody = signed_in(&w.user);
        let new = NewWebhook {
            url: WebhookUrl::parse("https://hooks.example.org/").unwrap(),
            events: WebhookEvents::parse(&["user.created"]).unwrap(),
            description: None,
        };
        assert!(matches!(
            block_on(w.webhooks.create(&nobody, new.clone())),
            Err(WebhookError::Forbidden(_))
        ));
        let made = block_on(w.webhooks.create(&w.admin, new)).unwrap();
        let id = made.endpoint.id;
        for refused in [
            block_on(w.webhooks.list(&nobody)).map(|_| ()),
            block_on(w.webhooks.get(&nobody, id)).map(|_| ()),
            block_on(w.webhooks.delete(&nobody, id)),
            block_on(w.webhooks.send_test(&nobody, id)).map(|_| ()),
            block_on(w.webhooks.deliveries(&nobody, id, 10)).map(|_| ()),
            block_on(w.webhooks.update(&nobody, id, WebhookChange::default())).map(|_| ()),
        ] {
            assert!(matches!(refused, Err(WebhookError::Forbidden(_))));
        }
        // A change to a URL the policy refuses is refused like a new one.
        let change = WebhookChange {
            url: Some(WebhookUrl::parse("https://10.0.0.7/").unwrap()),
            ..WebhookChange::default()
        };
        assert!(matches!(
            block_on(w.webhooks.update(&w.admin, id, change)),
            Err(WebhookError::Invalid(WebhookInputError::Private))
        ));
    }

    #[test]
    fn a_delivery_is_signed_and_retried_on_the_schedule_with_one_id_then_dropped() {
        let w = world();
        let made = w.endpoint(&["user.created"]);
        assert_eq!(made.endpoint.description.as_deref(), Some("test receiver"));
        block_on(w.webhooks.publish(
            WebhookEventType::UserCreated,
            serde_json::json!({ "user_id": w.user.id }),
        ))
        .unwrap();
        // Not subscribed: nothing queued.
        block_on(
            w.webhooks
                .publish(WebhookEventType::UserDeleted, serde_json::json!({})),
        )
        .unwrap();
        assert_eq!(w.queued(), 1);
        let failure = || WebhookResponse::Failed("connection refused".into());
        w.transport.answer(vec![failure(); 8]);
        let policy = WebhookDispatchPolicy::default();
        let mut at = Duration::ZERO;
        let first = w.at(at);
        assert_eq!((first.claimed, first.retried), (1, 1));
        for wait in &policy.retries {
            // Not before its time.
            assert_eq!(w.at(at + *wait - Duration::milliseconds(1)).claimed, 0);
            at += *wait;
            let report = w.at(at);
            assert_eq!(report.claimed, 1, "retry after {wait}");
        }
        assert_eq!(w.queued(), 0, "dropped after the last retry");
        let sent = w.transport.sent();
        assert_eq!(sent.len(), 8);
        let id = header(&sent[0].0, "webhook-id").to_owned();
        assert!(id.starts_with("msg_"));
        for (headers, body) in &sent {
            assert_eq!(
                header(headers, "webhook-id"),
                id,
                "the same id on every retry"
            );
            let ts: i64 = header(headers, "webhook-timestamp").parse().unwrap();
            assert_eq!(
                header(headers, "webhook-signature"),
                made.secret.sign(&id, ts, body)
            );
            let payload: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(payload["type"], "user.created");
            assert_eq!(payload["data"]["user_id"], w.user.id.to_string());
        }
        let log = block_on(w.webhooks.deliveries(&w.admin, made.endpoint.id, 100)).unwrap();
        assert_eq!(
            log.iter().map(|a| a.attempt).collect::<Vec<_>>(),
            (1..=8).rev().collect::<Vec<_>>()
        );
        assert!(
            log.iter()
                .all(|a| a.status.is_none() && a.error.as_deref() == Some("connection refused"))
        );
        // Failing (under 3 days) but still on.
        let endpoint = block_on(w.webhooks.get(&w.admin, made.endpoint.id)).unwrap();
        assert_eq!(endpoint.failing_since, Some(T0));
        assert!(endpoint.enabled);
    }

    #[test]
    fn an_endpoint_failing_for_three_days_is_turned_off_and_a_success_forgives() {
        let w = world();
        let made = w.endpoint(&["user.created"]);
        let id = made.endpoint.id;
        let publish = |w: &World| {
            block_on(
                w.webhooks
                    .publish(WebhookEventType::UserCreated, serde_json::json!({})),
            )
            .unwrap();
        };
        // A failure, then a success: forgiven.
        publish(&w);
        w.transport.answer(vec![WebhookResponse::Status(500)]);
        assert_eq!(w.at(Duration::ZERO).retried, 1);
        assert_eq!(w.at(Duration::seconds(5)).delivered, 1);
        let endpoint = block_on(w.webhooks.get(&w.admin, id)).unwrap();
        assert_eq!(endpoint.failing_since, None);
        // Failing from day 1; on day 4 the next failure turns it off.
        w.clock.set(T0 + Duration::days(1));
        publish(&w);
        w.transport.answer(vec![WebhookResponse::Status(503); 20]);
        assert_eq!(w.at(Duration::days(1)).retried, 1);
        w.clock.set(T0 + Duration::days(4));
        publish(&w);
        let report = w.at(Duration::days(4));
        assert_eq!(report.disabled, [id]);
        let endpoint = block_on(w.webhooks.get(&w.admin, id)).unwrap();
        assert!(!endpoint.enabled);
        // What is still queued for it is dropped; new events are not queued.
        let report = w.at(Duration::days(5));
        assert_eq!((report.dropped, report.delivered), (1, 0));
        publish(&w);
        assert_eq!(w.queued(), 0);
        assert!(matches!(
            block_on(w.webhooks.send_test(&w.admin, id)),
            Err(WebhookError::Disabled)
        ));
        // Turned on again: past failures forgotten, the test event goes out.
        let on = WebhookChange {
            enabled: Some(true),
            ..WebhookChange::default()
        };
        let endpoint = block_on(w.webhooks.update(&w.admin, id, on)).unwrap();
        assert!(endpoint.enabled && endpoint.failing_since.is_none());
        w.transport.answer(vec![]);
        let event = block_on(w.webhooks.send_test(&w.admin, id)).unwrap();
        assert_eq!(w.at(Duration::days(5)).delivered, 1);
        let (headers, body) = w.transport.sent().pop().unwrap();
        assert_eq!(header(&headers, "webhook-id"), message_id(event));
        assert!(body.contains("\"type\":\"webhook.test\""));
    }

    #[test]
    fn activity_events_become_webhook_events() {
        let w = world();
        w.endpoint(&["role.granted", "session.created", "user.suspended"]);
        let origin = crate::activity::RequestOrigin::default();
        for (kind, method) in [
            (ActivityKind::SignInSucceeded, "password"),
            (ActivityKind::SignInSucceeded, "refresh"),
            (ActivityKind::RoleGranted, ""),
            (ActivityKind::PasswordChanged, ""),
        ] {
            let happened =
                crate::activity::Happened::new(kind, w.user.id, Actor::User(w.user.id), &origin)
                    .with("method", method);
            block_on(crate::activity::record(
                &w.stores,
                &w.webhooks.system_for_tests(),
                happened,
            ))
            .unwrap();
        }
        w.at(Duration::ZERO);
        let types: Vec<String> = w
            .transport
            .sent()
            .iter()
            .map(|(_, body)| {
                let v: serde_json::Value = serde_json::from_str(body).unwrap();
                assert_eq!(v["data"]["user_id"], w.user.id.to_string());
                v["type"].as_str().unwrap().to_owned()
            })
            .collect();
        // A refresh is not a new session; a password change is not an event.
        assert_eq!(types, ["session.created", "role.granted"]);
    }
}
