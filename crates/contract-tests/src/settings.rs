//! `SettingsRepository` contracts: one record, read back as saved, replaced
//! only from the version it was read at.

use crate::contract;
use domain::*;

use crate::fixtures::*;

fn record(version: u64, body: &str) -> StoredSettings {
    StoredSettings {
        version,
        body: body.to_owned(),
    }
}

/// Nothing before the first save; afterwards `load` returns what the last
/// save wrote, version and body byte for byte.
#[contract]
pub async fn load_reads_back_exactly_what_the_last_save_wrote(s: Stores) {
    assert_eq!(s.settings.load().await.unwrap(), None);
    let first = record(
        1,
        r#"{"features.beta":{"value":true,"at":1,"by":null},"note":"ünïcode \"quoted\" \\ {}"}"#,
    );
    s.settings.save(0, &first).await.unwrap();
    assert_eq!(s.settings.load().await.unwrap(), Some(first));
    let second = record(2, &format!("{{\"big\":\"{}\"}}", "x".repeat(64 * 1024)));
    s.settings.save(1, &second).await.unwrap();
    assert_eq!(s.settings.load().await.unwrap(), Some(second));
}

/// A save from any version but the stored one is `Stale` and changes
/// nothing: before the first save too, and a second "first" save.
#[contract]
pub async fn a_save_from_another_version_is_stale_and_changes_nothing(s: Stores) {
    assert!(matches!(
        s.settings.save(3, &record(4, "{}")).await,
        Err(SaveSettingsError::Stale)
    ));
    assert_eq!(s.settings.load().await.unwrap(), None);
    let first = record(1, r#"{"a":1}"#);
    s.settings.save(0, &first).await.unwrap();
    for expected in [0, 2, 7] {
        assert!(
            matches!(
                s.settings.save(expected, &record(expected + 1, "{}")).await,
                Err(SaveSettingsError::Stale)
            ),
            "from version {expected}"
        );
    }
    assert_eq!(s.settings.load().await.unwrap(), Some(first));
}

/// Of 16 concurrent saves from one version (the first save, then a later
/// one), exactly one succeeds, and its record is the one stored.
#[contract]
pub async fn of_concurrent_saves_from_one_version_exactly_one_wins(s: Stores) {
    for expected in [0_u64, 1] {
        let outcomes = concurrently(16, |i| {
            let s = s.clone();
            async move {
                let next = record(expected + 1, &format!("{{\"writer\":{i}}}"));
                s.settings.save(expected, &next).await.map(|()| next)
            }
        })
        .await;
        let mut winners = Vec::new();
        for outcome in outcomes {
            match outcome {
                Ok(next) => winners.push(next),
                Err(SaveSettingsError::Stale) => {}
                Err(SaveSettingsError::Store(e)) => panic!("store failed: {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "from version {expected}");
        assert_eq!(s.settings.load().await.unwrap(), winners.pop());
    }
}
