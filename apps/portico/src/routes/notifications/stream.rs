//! `GET /v1/notifications/stream`: Server-Sent Events of the caller's new
//! notifications, from whichever instance created them (see `live`).
//!
//! Each event is `id: <notification id>`, `event: notification`, `data:` the
//! notification as JSON. A comment line goes out every 15 s to keep proxies
//! from closing an idle stream. A client reconnecting with `Last-Event-ID`
//! first gets what it missed (up to 500, oldest first), then live ones; the
//! same catch-up runs after the feed reconnects or the stream falls behind.
//! The stream ends (`event: end`) when its session no longer authenticates:
//! signed out, revoked, its user locked or deleted. It rechecks the session
//! at once when an auth change concerning it is heard (from this instance,
//! or another through the store's change feed), before it delivers what it
//! heard of (so nothing created after a sign-out goes out), and every few
//! seconds in case a change was lost.

#![allow(unreachable_pub)]

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, web};
use domain::NotificationError;
use domain::{AuthChange, Notification, NotificationId, PageRequest, UserId};
use time::OffsetDateTime;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::NotificationView;
use crate::auth::SignedIn;
use crate::live::LiveEvent;
use crate::problem::Problem;
use crate::state::AppState;

/// Keep-alive comment interval.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often an open stream checks that its session still authenticates,
/// whatever it heard: a change the feed lost ends the stream within this
/// time on every instance.
const SESSION_RECHECK: Duration = Duration::from_secs(5);
/// Most notifications sent in one catch-up.
const CATCH_UP_MAX: usize = 500;

/// A point in the user's notification order: (created, id).
type Mark = (OffsetDateTime, Uuid);

fn mark(n: &Notification) -> Mark {
    (n.created_at, n.id.as_uuid())
}

/// The user's notifications after `after`, oldest first, at most [`CATCH_UP_MAX`].
async fn catch_up(
    state: &AppState,
    user: UserId,
    after: Mark,
) -> Result<Vec<Notification>, domain::StoreError> {
    let mut found = Vec::new();
    let mut page = PageRequest::first(100);
    loop {
        let batch = state.notifications.list(user, false, page).await?;
        let mut reached = false;
        for n in batch.items {
            if mark(&n) <= after {
                reached = true;
                break;
            }
            found.push(n);
        }
        match batch.next_cursor {
            Some(cursor) if !reached && found.len() < CATCH_UP_MAX => {
                page = PageRequest::after(100, cursor);
            }
            _ => break,
        }
    }
    found.truncate(CATCH_UP_MAX);
    found.reverse();
    Ok(found)
}

/// Where a `Last-Event-ID` points: the notification's own position, or for
/// one that is gone, the time inside its UUIDv7.
async fn resume_mark(
    state: &AppState,
    user: UserId,
    last_event_id: &str,
) -> Result<Option<Mark>, Problem> {
    let Ok(id) = Uuid::parse_str(last_event_id.trim()) else {
        return Ok(None);
    };
    match state
        .notifications
        .get(user, NotificationId::from_uuid(id))
        .await
    {
        Ok(n) => Ok(Some(mark(&n))),
        Err(NotificationError::NotFound) => Ok(id.get_timestamp().and_then(|ts| {
            let (secs, nanos) = ts.to_unix();
            let at = OffsetDateTime::from_unix_timestamp(i64::try_from(secs).ok()?).ok()?
                + time::Duration::nanoseconds(i64::from(nanos));
            Some((at, id))
        })),
        Err(e) => Err(e.into()),
    }
}

fn event(n: Notification) -> Bytes {
    let id = n.id;
    let json = serde_json::to_string(&NotificationView::from(n)).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!("id: {id}\nevent: notification\ndata: {json}\n\n"))
}

struct Stream {
    state: web::Data<AppState>,
    user: UserId,
    session: domain::AuthSessionId,
    recheck: tokio::time::Interval,
    ended: bool,
    /// Auth changes heard in process, ours and other instances'.
    auth: broadcast::Receiver<AuthChange>,
    live: broadcast::Receiver<LiveEvent>,
    pending: VecDeque<Notification>,
    /// The newest notification sent, for catching up after a gap.
    last: Option<Mark>,
    /// Where the client said it was (`Last-Event-ID`): nothing at or before
    /// it is sent, whatever the feed announces late.
    floor: Option<Mark>,
    /// Ids sent recently, so a notification is not sent twice.
    sent: HashSet<Uuid>,
    keep_alive: tokio::time::Interval,
    opened: bool,
    closing: tokio::sync::watch::Receiver<bool>,
}

impl Stream {
    /// Whether the session still authenticates. A store outage is no sign
    /// of revocation: the stream goes on (and says so in the log).
    async fn session_live(&self) -> bool {
        match self.state.auth.session_is_live(self.session).await {
            Ok(live) => live,
            Err(e) => {
                tracing::warn!(error = %crate::problem::error_chain(&e), "notification stream session check failed");
                true
            }
        }
    }

    /// The last event: the session ended.
    fn end(&mut self) -> Bytes {
        self.ended = true;
        self.pending.clear();
        Bytes::from_static(b"event: end\ndata: {\"reason\":\"session-ended\"}\n\n")
    }

    fn take_pending(&mut self) -> Option<Bytes> {
        while let Some(n) = self.pending.pop_front() {
            if self.floor.is_some_and(|floor| mark(&n) <= floor) {
                continue;
            }
            if self.sent.insert(n.id.as_uuid()) {
                if self.sent.len() > 4 * CATCH_UP_MAX {
                    self.sent.clear();
                    self.sent.insert(n.id.as_uuid());
                }
                self.last = Some(self.last.map_or(mark(&n), |l| l.max(mark(&n))));
                return Some(event(n));
            }
        }
        None
    }

    /// The next chunk to send, or `None` when the stream should end.
    async fn next_chunk(&mut self) -> Option<Result<Bytes, actix_web::Error>> {
        if !self.opened {
            self.opened = true;
            return Some(Ok(Bytes::from_static(b": connected\nretry: 3000\n\n")));
        }
        if self.ended {
            return None;
        }
        loop {
            if let Some(chunk) = self.take_pending() {
                return Some(Ok(chunk));
            }
            if *self.closing.borrow() {
                return None;
            }
            tokio::select! {
                // Auth changes first: one made before a notification was
                // created is handled before that notification is.
                biased;
                _ = self.closing.changed() => return None,
                change = self.auth.recv() => {
                    let concerns = match change {
                        Ok(AuthChange::Session(id)) => id == self.session,
                        Ok(AuthChange::User(id)) => id == self.user,
                        Ok(AuthChange::Everyone) | Err(broadcast::error::RecvError::Lagged(_)) => true,
                        Ok(AuthChange::Settings) => false,
                        Err(broadcast::error::RecvError::Closed) => false,
                    };
                    if concerns && !self.session_live().await {
                        return Some(Ok(self.end()));
                    }
                }
                _ = self.recheck.tick() => {
                    if !self.session_live().await {
                        return Some(Ok(self.end()));
                    }
                }
                _ = self.keep_alive.tick() => {
                    return Some(Ok(Bytes::from_static(b": keep-alive\n\n")));
                }
                heard = self.live.recv() => match heard {
                    Ok(LiveEvent::New(e)) if e.user_id == self.user => {
                        if self.sent.contains(&e.id.as_uuid()) {
                            continue;
                        }
                        // Read after it was created: a session revoked
                        // before then shows here, wherever it was revoked.
                        if !self.session_live().await {
                            return Some(Ok(self.end()));
                        }
                        match self.state.notifications.get(self.user, e.id).await {
                            Ok(n) => self.pending.push_back(n),
                            // Dismissed or expired before we read it.
                            Err(NotificationError::NotFound) => {}
                            Err(e) => {
                                tracing::warn!(error = %crate::problem::error_chain(&e), "notification stream read failed");
                            }
                        }
                    }
                    Ok(LiveEvent::New(_)) => {}
                    Ok(LiveEvent::Gap) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        if !self.session_live().await {
                            return Some(Ok(self.end()));
                        }
                        if let Some(after) = self.last {
                            match catch_up(&self.state, self.user, after).await {
                                Ok(missed) => self.pending.extend(missed),
                                Err(e) => tracing::warn!(error = %crate::problem::error_chain(&e), "notification stream catch-up failed"),
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    }
}

/// Streams the caller's new notifications as Server-Sent Events
/// (`text/event-stream`). Send `Last-Event-ID` to resume after a disconnect.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = []), ("cookie" = [])),
    params(("Last-Event-ID" = Option<String>, Header, description = "Id of the last notification received; the stream first sends what came after it")),
    responses(
        (status = 200, description = "An endless event stream", content_type = "text/event-stream", body = String),
    )
)]
#[get("/v1/notifications/stream", name = "/v1/notifications/stream")]
pub async fn stream(
    state: web::Data<AppState>,
    me: SignedIn,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let user = me.user().id;
    // Listen before reading the backlog, so nothing falls in between.
    let auth = state.principals.changes();
    let live = state.live.receiver();
    let resume = match req
        .headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok())
    {
        Some(last) => resume_mark(&state, user, last).await?,
        None => None,
    };
    let pending = match resume {
        Some(after) => catch_up(&state, user, after).await?.into(),
        None => VecDeque::new(),
    };
    let closing = state.live.closing();
    let stream = Stream {
        state,
        user,
        session: me.session().id,
        recheck: tokio::time::interval_at(
            tokio::time::Instant::now() + SESSION_RECHECK,
            SESSION_RECHECK,
        ),
        ended: false,
        auth,
        live,
        pending,
        last: resume,
        floor: resume,
        sent: HashSet::new(),
        keep_alive: tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE),
        opened: false,
        closing,
    };
    let body = futures::stream::unfold(stream, |mut s| async move {
        s.next_chunk().await.map(|chunk| (chunk, s))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}
