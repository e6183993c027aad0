//! The mail templates: built-in rendering, overrides, refusals.

use super::*;

fn context<'a>(link: &'a str) -> MailContext<'a> {
    MailContext {
        username: "ada",
        link,
        expires_in: "24 hours",
        provider: "",
        device: "",
        ip: "",
        at: "",
        code: "",
    }
}

fn folder(files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portico-mail-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("folder");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("template");
    }
    dir
}

#[test]
fn built_in_templates_render_text_html_and_a_one_line_subject() {
    let t = MailTemplates::load(None).expect("built-in templates");
    let link = "https://app.example/verify?a=1&token=ab12";
    let r = t
        .render(MailKind::VerifyEmail, &context(link))
        .expect("render");
    assert_eq!(r.subject, "Confirm your email address");
    assert!(r.text.starts_with("Hello ada,\n"), "{}", r.text);
    assert!(r.text.contains(link) && r.text.contains("expires in 24 hours."));
    assert!(r.text.ends_with('\n'));
    // HTML escapes what it inserts: the `&` of the link becomes `&amp;`.
    assert!(
        r.html
            .contains("href=\"https:&#x2f;&#x2f;app.example&#x2f;verify?a=1&amp;token=ab12\""),
        "{}",
        r.html
    );
    assert!(r.html.starts_with("<!DOCTYPE html>"));
    for kind in [MailKind::ResetPassword, MailKind::ConfirmDeletion] {
        let r = t.render(kind, &context(link)).expect("render");
        assert!(r.text.contains(link) && r.html.contains("token=ab12"));
        assert!(!r.subject.is_empty() && !r.subject.contains('\n'));
    }
}

#[test]
fn the_new_sign_in_notice_names_device_ip_and_time_escaped_in_html() {
    let t = MailTemplates::load(None).expect("built-in templates");
    let c = MailContext {
        device: "Firefox <133> on Linux (desktop)",
        ip: "203.0.113.9",
        at: "2026-12-06T17:00:00Z",
        ..context("")
    };
    let r = t.render(MailKind::NewSignIn, &c).expect("render");
    assert_eq!(r.subject, "New sign-in to your account");
    for part in [
        "Device: Firefox <133> on Linux (desktop)",
        "IP address: 203.0.113.9",
        "Time: 2026-12-06T17:00:00Z",
    ] {
        assert!(r.text.contains(part), "{}", r.text);
    }
    assert!(
        r.html.contains("Firefox &lt;133&gt; on Linux"),
        "{}",
        r.html
    );
    assert!(r.html.contains("203.0.113.9"));
}

#[test]
fn a_folder_replaces_templates_by_name_and_keeps_the_others() {
    let dir = folder(&[
        (
            "verify-email.subject.txt",
            "Welcome to Acme, {{ username }}\n\n",
        ),
        (
            "layout.html",
            "<main>{% block content %}{% endblock %}</main>",
        ),
        (".hidden", "ignored"),
    ]);
    let t = MailTemplates::load(Some(&dir)).expect("templates");
    let r = t
        .render(
            MailKind::VerifyEmail,
            &context("https://x.example/?token=1"),
        )
        .expect("render");
    assert_eq!(r.subject, "Welcome to Acme, ada");
    assert!(
        r.html.starts_with("<main>"),
        "the layout is replaced: {}",
        r.html
    );
    assert!(
        r.text.starts_with("Hello ada,"),
        "the text part is built in"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_broken_or_unknown_template_is_refused_with_its_file_and_line() {
    let dir = folder(&[("reset-password.txt", "Hello,\n\n{{ link }\n")]);
    let err = MailTemplates::load(Some(&dir))
        .err()
        .expect("a syntax error");
    let text = err.to_string();
    assert!(text.contains("reset-password.txt"), "{text}");
    assert!(text.contains("line 3") || text.contains(":3"), "{text}");
    std::fs::remove_dir_all(dir).ok();

    // A misspelt variable would render as nothing; it is an error instead.
    let dir = folder(&[("confirm-deletion.txt", "Open {{ lnk }}\n")]);
    let text = MailTemplates::load(Some(&dir))
        .err()
        .expect("undefined")
        .to_string();
    assert!(
        text.contains("confirm-deletion.txt") && text.contains("undefined"),
        "{text}"
    );
    std::fs::remove_dir_all(dir).ok();

    let dir = folder(&[("verify.txt", "Hello")]);
    let text = MailTemplates::load(Some(&dir))
        .err()
        .expect("unknown")
        .to_string();
    assert!(text.contains("verify.txt: not a mail template"), "{text}");
    assert!(
        text.contains("verify-email.txt"),
        "the known names are listed: {text}"
    );
    std::fs::remove_dir_all(dir).ok();

    let missing = std::env::temp_dir().join("portico-no-such-templates");
    let text = MailTemplates::load(Some(&missing))
        .err()
        .expect("missing")
        .to_string();
    assert!(text.contains("cannot read mail.templates_dir"), "{text}");
}

#[test]
fn durations_in_words() {
    assert_eq!(in_words(time::Duration::hours(24)), "24 hours");
    assert_eq!(in_words(time::Duration::hours(1)), "1 hour");
    assert_eq!(in_words(time::Duration::days(3)), "3 days");
    assert_eq!(in_words(time::Duration::minutes(90)), "90 minutes");
    assert_eq!(in_words(time::Duration::seconds(30)), "30 seconds");
}
