//! Unit tests of loading, validation and display.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn no_configuration_means_localhost_sqlite_and_outbox_under_data() {
    let c = Config::load(None, env(&[])).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.database_url(), "sqlite:///data/portico.db");
    assert_eq!(c.outbox_dir(), PathBuf::from("data/outbox"));
    assert_eq!(c.mail.transport, MailTransport::Outbox);
    assert!(!c.cookie_secure());
}

#[test]
fn environment_overrides_nested_keys_with_typed_values() {
    let c = Config::load(
        None,
        env(&[
            ("PORTICO_SERVER__LISTEN", "0.0.0.0:9000"),
            ("PORTICO_RATE_LIMITS__IP_PER_MINUTE", "5"),
            ("PORTICO_SERVER__PUBLIC_URL", "https://example.org/"),
            ("DATABASE_URL", "postgres://u:secret@db/app"),
            ("UNRELATED", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(c.server.listen.port(), 9000);
    assert_eq!(c.rate_limits.ip_per_minute, 5);
    assert_eq!(c.public_url(), "https://example.org");
    assert!(c.cookie_secure());
    assert_eq!(c.database_url(), "postgres://u:secret@db/app");
    let shown = c.to_redacted_toml();
    assert!(shown.contains("postgres://u:[redacted]@db/app"), "{shown}");
    assert!(!shown.contains("u:secret@"), "{shown}");
}

#[test]
fn feature_secrets_are_redacted_and_checked() {
    let c = Config::load(
        None,
        env(&[
            (
                "PORTICO_PAYMENTS__WEBHOOK_SECRET",
                "whsec-0123456789abcdef0123456789abcdef",
            ),
            (
                "PORTICO_OBJECTS__SIGNING_SECRET",
                "sign-0123456789abcdef0123456789abcdef",
            ),
        ]),
    )
    .unwrap();
    let shown = c.to_redacted_toml();
    assert!(
        !shown.contains("whsec-") && !shown.contains("sign-0123"),
        "{shown}"
    );
    let weak = Config::load(None, env(&[("PORTICO_PAYMENTS__WEBHOOK_SECRET", "short")]));
    assert!(weak.unwrap_err().to_string().contains("webhook_secret"));
    let s3 = Config::load(None, env(&[("PORTICO_OBJECTS__BACKEND", "s3")]));
    assert!(s3.unwrap_err().to_string().contains("s3_bucket"));
}

#[test]
fn unknown_keys_and_weak_hashing_are_refused() {
    let err = Config::load(None, env(&[("PORTICO_SERVER__LISTN", "x")])).unwrap_err();
    assert!(err.to_string().contains("listn"), "{err}");
    let err = Config::load(None, env(&[("PORTICO_SECURITY__ARGON2_ITERATIONS", "1")])).unwrap_err();
    assert!(err.to_string().contains("argon2"), "{err}");
}

#[test]
fn mongodb_groups_need_a_url_which_mongodb_url_gives() {
    let err = Config::load(None, env(&[("PORTICO_STORES__DURABLE", "mongodb")])).unwrap_err();
    assert!(err.to_string().contains("MONGODB_URL"), "{err}");
    let c = Config::load(
        None,
        env(&[
            ("PORTICO_STORES__DURABLE", "mongodb"),
            ("MONGODB_URL", "mongodb://app:pw@db:27017"),
        ]),
    )
    .unwrap();
    assert!(
        c.uses(Backend::Mongodb) && !c.uses(Backend::Sql),
        "groups follow durable"
    );
    assert!(
        c.to_redacted_toml()
            .contains("mongodb://app:[redacted]@db:27017")
    );
    let c = Config::load(
        None,
        env(&[
            ("PORTICO_STORES__SESSIONS", "redis"),
            ("REDIS_URL", "redis://:pw@cache:6379"),
        ]),
    )
    .unwrap();
    assert!(c.uses(Backend::Redis) && c.uses(Backend::Sql));
    assert_eq!(c.stores.rate_limits(), Backend::Sql);
    assert!(
        c.to_redacted_toml()
            .contains("redis://:[redacted]@cache:6379")
    );
}

#[test]
fn trusted_proxies_are_a_count_or_ranges() {
    use crate::proxies::TrustedProxies;
    let c = Config::load(None, env(&[("PORTICO_SERVER__TRUSTED_PROXIES", "2")])).unwrap();
    assert_eq!(c.server.trusted_proxies, TrustedProxies::Count(2));
    let c = Config::load(
        None,
        env(&[(
            "PORTICO_SERVER__TRUSTED_PROXIES",
            r#"["10.0.0.0/8", "fd00::/8"]"#,
        )]),
    )
    .unwrap();
    assert_eq!(
        c.server.trusted_proxies,
        TrustedProxies::Ranges(vec!["10.0.0.0/8".into(), "fd00::/8".into()])
    );
    let err = Config::load(
        None,
        env(&[("PORTICO_SERVER__TRUSTED_PROXIES", r#"["10.0.0.0/99"]"#)]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("trusted_proxies"), "{err}");
    assert!(
        Config::load(None, env(&[]))
            .unwrap()
            .to_redacted_toml()
            .contains("trusted_proxies = 0")
    );
}

#[test]
fn smtp_needs_a_url() {
    let err = Config::load(None, env(&[("PORTICO_MAIL__TRANSPORT", "smtp")])).unwrap_err();
    assert!(err.to_string().contains("smtp_url"), "{err}");
}

#[test]
fn urls_without_passwords_are_shown_as_they_are() {
    assert_eq!(redact_url("sqlite://data/p.db"), "sqlite://data/p.db");
    assert_eq!(redact_url("smtp://relay:25"), "smtp://relay:25");
    assert_eq!(
        redact_url("smtps://me:pw@mail.example.org:465"),
        "smtps://me:[redacted]@mail.example.org:465"
    );
}

#[test]
fn providers_are_checked_and_their_secrets_redacted() {
    let ok = Config::load(
        None,
        env(&[
            (
                "PORTICO_OAUTH__PROVIDERS__CORP__ISSUER",
                "https://idp.example",
            ),
            ("PORTICO_OAUTH__PROVIDERS__CORP__CLIENT_ID", "portico"),
            (
                "PORTICO_OAUTH__PROVIDERS__CORP__CLIENT_SECRET",
                "s3cr3t-value",
            ),
            (
                "PORTICO_OAUTH__REDIRECT_ALLOWLIST",
                "[\"https://app.example/done\"]",
            ),
        ]),
    )
    .unwrap();
    assert_eq!(ok.oauth.providers["corp"].client_id, "portico");
    let shown = ok.to_redacted_toml();
    assert!(!shown.contains("s3cr3t-value"), "{shown}");
    let providers = ok.oauth.providers(&ok.public_url()).unwrap();
    assert_eq!(providers[0].name().as_str(), "corp");

    let refused = |pairs: &[(&str, &str)], expected: &str| {
        let e = Config::load(None, env(pairs)).unwrap_err().to_string();
        assert!(e.contains(expected), "{e}");
    };
    let id = ("PORTICO_OAUTH__PROVIDERS__CORP__CLIENT_ID", "portico");
    refused(
        &[(
            "PORTICO_OAUTH__PROVIDERS__CORP__ISSUER",
            "https://idp.example",
        )],
        "client_id is required",
    );
    refused(&[id], "set issuer (OpenID Connect) or all of");
    refused(
        &[
            id,
            (
                "PORTICO_OAUTH__PROVIDERS__CORP__ISSUER",
                "https://idp.example",
            ),
            (
                "PORTICO_OAUTH__PROVIDERS__CORP__TOKEN_URL",
                "https://idp.example/t",
            ),
        ],
        "not both",
    );
    refused(
        &[
            (
                "PORTICO_OAUTH__PROVIDERS__9LIVES__ISSUER",
                "https://idp.example",
            ),
            ("PORTICO_OAUTH__PROVIDERS__9LIVES__CLIENT_ID", "x"),
        ],
        "oauth.providers.9lives",
    );
    refused(
        &[(
            "PORTICO_OAUTH__REDIRECT_ALLOWLIST",
            "[\"https://app.example/?next=x\"]",
        )],
        "without query or fragment",
    );
    // A plain-http issuer off loopback is refused when the providers are built.
    let insecure = Config::load(
        None,
        env(&[
            id,
            (
                "PORTICO_OAUTH__PROVIDERS__CORP__ISSUER",
                "http://idp.example",
            ),
        ]),
    )
    .unwrap();
    let e = insecure
        .oauth
        .providers("http://127.0.0.1:8080")
        .err()
        .unwrap();
    assert!(e.contains("must use https"), "{e}");
}

#[test]
fn the_prefixed_variable_wins_whatever_the_order_of_the_environment() {
    let a = ("DATABASE_URL", "postgres://plain/db");
    let b = ("PORTICO_DATABASE__URL", "postgres://prefixed/db");
    for pairs in [[a, b], [b, a]] {
        let c = Config::load(None, env(&pairs)).unwrap();
        assert_eq!(c.database_url(), "postgres://prefixed/db");
    }
}

#[test]
fn environment_lists_may_be_comma_separated_and_errors_name_the_variable() {
    let c = Config::load(
        None,
        env(&[(
            "PORTICO_SERVER__CORS_ORIGINS",
            "https://a.example, https://b.example",
        )]),
    )
    .unwrap();
    assert_eq!(
        c.server.cors_origins,
        vec![
            "https://a.example".to_owned(),
            "https://b.example".to_owned()
        ]
    );
    let one = Config::load(
        None,
        env(&[("PORTICO_SERVER__CORS_ORIGINS", "https://a.example")]),
    )
    .unwrap();
    assert_eq!(
        one.server.cors_origins,
        vec!["https://a.example".to_owned()]
    );
    let e = Config::load(None, env(&[("PORTICO_SERVER__NO_SUCH_KEY", "1")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("PORTICO_SERVER__NO_SUCH_KEY"), "{e}");
    assert!(e.contains("no_such_key"), "{e}");
}

#[test]
fn a_log_level_that_is_not_one_is_refused() {
    for good in ["info", "WARN", "portico=debug,info", "off"] {
        Config::load(None, env(&[("PORTICO_LOG__LEVEL", good)])).unwrap();
    }
    let e = Config::load(None, env(&[("PORTICO_LOG__LEVEL", "verbose")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("log.level") && e.contains("verbose"), "{e}");
}

#[test]
fn mail_link_patterns_need_one_token_placeholder() {
    let ok = Config::load(
        None,
        env(&[(
            "PORTICO_MAIL__LINKS__VERIFY",
            "https://app.example/v?token={token}",
        )]),
    )
    .unwrap();
    assert_eq!(ok.mail.links.verify, "https://app.example/v?token={token}");
    for bad in [
        "https://app.example/v",
        "app.example/{token}",
        "https://x/{token}/{token}",
    ] {
        let e = Config::load(None, env(&[("PORTICO_MAIL__LINKS__RESET", bad)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("mail.links.reset"), "{e}");
    }
}

/// A table with required fields can come from the environment: its
/// variables are taken together, not each on its own (before, the first of
/// them failed with "missing field `username`").
#[test]
fn a_table_with_required_fields_comes_from_several_variables() {
    let c = Config::load(
        None,
        env(&[
            (
                "PORTICO_SECURITY__BOOTSTRAP_ADMIN__EMAIL",
                "root@example.org",
            ),
            ("PORTICO_SECURITY__BOOTSTRAP_ADMIN__USERNAME", "root"),
            (
                "PORTICO_SECURITY__BOOTSTRAP_ADMIN__PASSWORD",
                "administrator password",
            ),
        ]),
    )
    .expect("the three variables make one administrator");
    let admin = c.security.bootstrap_admin.expect("an administrator");
    assert_eq!(
        (admin.email.as_str(), admin.username.as_str()),
        ("root@example.org", "root")
    );

    // One of them alone names itself and what is missing.
    let e = Config::load(
        None,
        env(&[(
            "PORTICO_SECURITY__BOOTSTRAP_ADMIN__EMAIL",
            "root@example.org",
        )]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("PORTICO_SECURITY__BOOTSTRAP_ADMIN__EMAIL"),
        "{e}"
    );
    assert!(e.contains("missing field"), "{e}");

    // A wrong value after an incomplete table still names its own variable.
    let e = Config::load(
        None,
        env(&[
            (
                "PORTICO_SECURITY__BOOTSTRAP_ADMIN__EMAIL",
                "root@example.org",
            ),
            ("PORTICO_SERVER__WORKERS", "many"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("PORTICO_SERVER__WORKERS"), "{e}");
}

#[test]
fn listen_takes_host_names_and_addresses() {
    use super::stores::parse_listen;
    assert_eq!(
        parse_listen("localhost:8080").unwrap(),
        "127.0.0.1:8080".parse().unwrap()
    );
    assert_eq!(parse_listen("[::1]:9").unwrap(), "[::1]:9".parse().unwrap());
    assert_eq!(
        parse_listen("0.0.0.0:80").unwrap(),
        "0.0.0.0:80".parse().unwrap()
    );
    for bad in ["localhost", "localhost:http", ":8080", "localhost:99999"] {
        assert!(parse_listen(bad).is_err(), "{bad}");
    }
    let c = Config::load(
        None,
        [(
            "PORTICO_SERVER__LISTEN".to_owned(),
            "localhost:9090".to_owned(),
        )],
    )
    .unwrap();
    assert_eq!(c.server.listen, "127.0.0.1:9090".parse().unwrap());
}

#[test]
fn lookalike_variables_and_unused_store_urls_are_warned_about() {
    let env = [
        ("PORTICO_SERVER_LISTEN", "127.0.0.1:1"),
        ("PORTICO_RATE_LIMITS_PER_USER", "5"),
        ("PORTICO_CONFIG", "x.toml"),
        ("PORTICO_ADVISORY_DB", "target/x"),
        ("PORTICO_LOG__LEVEL", "info"),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let c = Config::load(None, env.clone()).unwrap();
    let w = c.warnings(env);
    assert_eq!(w.len(), 3, "{w:#?}");
    assert!(
        w[0].starts_with("PORTICO_RATE_LIMITS_PER_USER is ignored"),
        "{w:#?}"
    );
    assert!(w[0].contains("(PORTICO_RATE_LIMITS__PER_USER)"), "{w:#?}");
    assert!(w[1].contains("(PORTICO_SERVER__LISTEN)"), "{w:#?}");
    assert!(
        w[2].starts_with("redis.url (or REDIS_URL) is set but no [stores] group uses redis"),
        "{w:#?}"
    );
    let used = Config::load(
        None,
        [
            ("REDIS_URL".to_owned(), "redis://127.0.0.1:6379".to_owned()),
            ("PORTICO_STORES__SESSIONS".to_owned(), "redis".to_owned()),
        ],
    )
    .unwrap();
    assert!(used.warnings([]).is_empty());
}

#[test]
fn setting_defaults_come_from_their_sections_and_are_checked() {
    let c: Config = toml::from_str(
        r#"
[registration]
open = false
default_plan = "starter"
[password]
min_length = 12
[security]
lockout_attempts = 3
lockout_minutes = 30
[features]
beta = true
new_editor = { default = false, description = "The new editor" }
"#,
    )
    .unwrap();
    c.validate().unwrap();
    let d = c.setting_defaults().unwrap();
    assert!(!d.registration_open);
    assert_eq!(d.default_plan.as_str(), "starter");
    assert_eq!(
        (d.password_min_length, d.lockout_attempts, d.lockout_minutes),
        (12, 3, 30)
    );
    assert_eq!(d.features.len(), 2);
    assert_eq!(d.features[0].name.as_str(), "beta");
    assert!(d.features[0].default);
    assert_eq!(d.features[1].description.as_deref(), Some("The new editor"));

    // Out of range, or a flag that cannot be a name: the key is named.
    let err = Config::load(None, env(&[("PORTICO_PASSWORD__MIN_LENGTH", "7")])).unwrap_err();
    assert!(err.to_string().contains("password.min_length"), "{err}");
    let err =
        Config::load(None, env(&[("PORTICO_SECURITY__LOCKOUT_MINUTES", "2000")])).unwrap_err();
    assert!(
        err.to_string().contains("security.lockout_minutes"),
        "{err}"
    );
    let bad: Config = toml::from_str("[features]\n\"Not A Name!\" = true\n").unwrap();
    let err = bad.setting_defaults().unwrap_err();
    assert!(err.contains("features."), "{err}");
    // A flag from the environment.
    let c = Config::load(None, env(&[("PORTICO_FEATURES__BETA", "true")])).unwrap();
    assert_eq!(c.features["beta"], FlagConfig::Plain(true));
}
