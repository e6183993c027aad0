//! Unit tests of the uploads service.

use std::sync::Arc;

use super::*;
use crate::test_support::*;
use crate::{MockObjectStore, MockUploadRepository, ObjectMeta};
use futures::executor::block_on;

fn pending(expires_at: OffsetDateTime) -> UploadRequest {
    UploadRequest {
        id: UploadId::from_uuid(uuid::Uuid::from_u128(1)),
        user_id: sample_user(1).id,
        object_key: ObjectKey::parse("users/1/a.png").unwrap(),
        content_type: "image/png".into(),
        max_size: 100,
        status: UploadStatus::Pending,
        created_at: T0 - Duration::hours(2),
        expires_at,
        completed_at: None,
        size: None,
    }
}

#[test]
fn media_types_are_type_slash_subtype_without_parameters_or_controls() {
    assert_eq!(media_type("Image/PNG").as_deref(), Some("image/png"));
    assert_eq!(
        media_type("application/vnd.api+json").as_deref(),
        Some("application/vnd.api+json")
    );
    for bad in [
        "image/svg+xml\r\nX-Evil: 1",
        "image/<script>",
        "image/png; charset=utf-8",
        "image/ png",
        "image/",
        "/png",
        "image",
        "image/png/x",
        "image/p\0ng",
    ] {
        assert_eq!(media_type(bad), None, "{bad:?}");
    }
}

#[test]
fn content_type_policy_matches_exact_and_family() {
    let p = UploadPolicy::default();
    assert!(p.allows("image/png"));
    assert!(p.allows("IMAGE/JPEG; q=1"));
    assert!(p.allows("application/pdf"));
    assert!(!p.allows("application/x-msdownload"));
    assert!(!p.allows("image"));
}

#[test]
fn create_enforces_size_and_type_and_sets_one_hour_expiry() {
    let h = Harness::new();
    let svc = Uploads::new(h.stores, h.system, UploadPolicy::default());
    let actor = &crate::kernel::principal::testing::principal(1, &[]);
    assert!(matches!(
        block_on(svc.create(actor, None, "image/png", 0)),
        Err(PrepareUploadError::Empty)
    ));
    let too_big = 25 * 1024 * 1024 + 1;
    assert!(matches!(
        block_on(svc.create(actor, None, "image/png", too_big)),
        Err(PrepareUploadError::TooLarge { .. })
    ));
    assert!(matches!(
        block_on(svc.create(actor, None, "application/x-sh", 10)),
        Err(PrepareUploadError::ContentTypeNotAllowed)
    ));

    let mut h = Harness::new();
    let mut repo = MockUploadRepository::new();
    repo.expect_create()
        .withf(|r| {
            r.expires_at == T0 + Duration::hours(1) && r.object_key.as_str().starts_with("users/")
        })
        .returning(|_| Ok(()));
    let mut objects = MockObjectStore::new();
    objects.expect_presign_put().returning(|_, _, _, _| {
        Ok(UploadTarget {
            url: "http://x".into(),
            method: "PUT".into(),
            headers: vec![],
        })
    });
    h.stores.uploads = Arc::new(repo);
    h.system.objects = Arc::new(objects);
    let svc = Uploads::new(h.stores, h.system, UploadPolicy::default());
    let (req, target) = block_on(svc.create(actor, None, "image/png", 10)).unwrap();
    assert_eq!(req.status, UploadStatus::Pending);
    assert_eq!(target.method, "PUT");
}

/// Expiry, the stored object (size, type) and the check on the error.
type Case = (
    OffsetDateTime,
    Option<(u64, &'static str)>,
    fn(&CompleteUploadError) -> bool,
);

#[test]
fn completion_checks_expiry_presence_size_and_type() {
    let cases: Vec<Case> = vec![
        (T0, Some((10, "image/png")), |e| {
            matches!(e, CompleteUploadError::Expired)
        }),
        (T0 + Duration::minutes(1), None, |e| {
            matches!(e, CompleteUploadError::ObjectMissing)
        }),
        (T0 + Duration::minutes(1), Some((101, "image/png")), |e| {
            matches!(e, CompleteUploadError::SizeMismatch)
        }),
        (T0 + Duration::minutes(1), Some((10, "text/plain")), |e| {
            matches!(e, CompleteUploadError::TypeMismatch)
        }),
    ];
    for (expires_at, object, check) in cases {
        let mut h = Harness::new();
        let mut repo = MockUploadRepository::new();
        repo.expect_get()
            .returning(move |_| Ok(Some(pending(expires_at))));
        repo.expect_complete().never();
        let mut objects = MockObjectStore::new();
        objects.expect_head().returning(move |k| {
            Ok(object.map(|(size, ct)| ObjectMeta {
                key: k.clone(),
                size,
                content_type: Some(ct.into()),
                last_modified: T0,
            }))
        });
        h.stores.uploads = Arc::new(repo);
        h.system.objects = Arc::new(objects);
        let svc = Uploads::new(h.stores, h.system, UploadPolicy::default());
        let err = block_on(svc.complete(
            &crate::kernel::principal::testing::principal(1, &[]),
            pending(T0).id,
        ))
        .unwrap_err();
        assert!(check(&err), "unexpected {err:?}");
    }
}

#[test]
fn sweep_removes_expired_requests_and_old_dangling_objects_only() {
    let mut h = Harness::new();
    let mut repo = MockUploadRepository::new();
    let mut served = false;
    repo.expect_list_expired().returning(move |_, _| {
        if served {
            Ok(vec![])
        } else {
            served = true;
            Ok(vec![pending(T0 - Duration::minutes(1))])
        }
    });
    repo.expect_delete().times(1).returning(|_| Ok(()));
    repo.expect_references()
        .returning(|k| Ok(k.as_str() == "users/1/kept.png"));
    let mut objects = MockObjectStore::new();
    objects
        .expect_delete()
        .withf(|k| k.as_str() == "users/1/a.png")
        .times(1)
        .returning(|_| Ok(()));
    objects
        .expect_delete()
        .withf(|k| k.as_str() == "users/1/old.bin")
        .times(1)
        .returning(|_| Ok(()));
    let mut listed = false;
    objects.expect_list().returning(move |_, _| {
        if listed {
            return Ok(vec![]);
        }
        listed = true;
        let meta = |k: &str, age: Duration| ObjectMeta {
            key: ObjectKey::parse(k).unwrap(),
            size: 1,
            content_type: None,
            last_modified: T0 - age,
        };
        Ok(vec![
            meta("users/1/kept.png", Duration::hours(3)),
            meta("users/1/old.bin", Duration::hours(3)),
            meta("users/1/new.bin", Duration::minutes(5)),
        ])
    });
    h.stores.uploads = Arc::new(repo);
    h.system.objects = Arc::new(objects);
    let svc = Uploads::new(h.stores, h.system, UploadPolicy::default());
    let report = block_on(svc.sweep()).unwrap();
    assert_eq!(
        report,
        SweepReport {
            expired_requests: 1,
            dangling_objects: 1
        }
    );
}
