//! The "new sign-in" mail: a sign-in from a device kind the user has not
//! signed in from for [`NEW_DEVICE_WINDOW`] tells them, so a session a
//! thief opens with a stolen password does not go unnoticed.

use time::{Duration, OffsetDateTime};

use crate::{
    AccountPolicy, ActivityFilter, ActivityKind, Device, Notice, PageRequest, StoreError, Stores,
    System, User,
};

/// How far back a device kind counts as known.
pub const NEW_DEVICE_WINDOW: Duration = Duration::days(90);

/// At most this many of a user's past sign-ins are compared (the newest):
/// a user with more in the window whose device kind is only among older
/// ones gets a mail they did not need, never the reverse.
const MOST_COMPARED: usize = 1_000;

/// Mails `user` a [`Notice::NewSignIn`] when `device` is a kind none of
/// their successful sign-ins of the last [`NEW_DEVICE_WINDOW`] used.
/// Called before this sign-in's own event is written. The sign-in history
/// is the activity log's `sign_in.succeeded` events (so a retention shorter
/// than the window shortens it). A first sign-in ever (the user record
/// had none) sends nothing: there is nothing to compare with, and the
/// account was just made.
pub(crate) async fn alert_if_new(
    stores: &Stores,
    system: &System,
    policy: &AccountPolicy,
    user: &User,
    device: &Device,
    ip: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    if !policy.settings.current().new_device_alerts || user.last_accessed_at.is_none() {
        return Ok(());
    }
    let filter = ActivityFilter {
        user_id: Some(user.id),
        kind: Some(ActivityKind::SignInSucceeded),
        from: Some(now - NEW_DEVICE_WINDOW),
        ..ActivityFilter::default()
    };
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    let mut compared = 0;
    loop {
        let read = stores.activity.list(&filter, page).await?;
        compared += read.items.len();
        if read
            .items
            .iter()
            .any(|e| e.device.as_ref().is_some_and(|d| d.same_kind(device)))
        {
            return Ok(());
        }
        match read.next_cursor {
            Some(cursor) if compared < MOST_COMPARED => {
                page = PageRequest::after(PageRequest::MAX_LIMIT, cursor);
            }
            _ => break,
        }
    }
    let notice = Notice::NewSignIn {
        device: device.summary(),
        ip: ip.map(str::to_owned),
        at: now,
    };
    crate::mail::delivery::notify(stores, system, &user.email, notice).await
}
