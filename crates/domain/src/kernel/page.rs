//! Cursor pagination shared by every list port: newest first, ordered by
//! `(created_at DESC, id DESC)`, resumed strictly after the cursor's position.

use time::OffsetDateTime;
use uuid::Uuid;

/// Why a page request is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// `limit` outside 1..=[`PageRequest::MAX_LIMIT`].
    #[error("limit must be between 1 and 200")]
    Limit,
    /// The cursor was not produced by Portico.
    #[error("cursor is malformed")]
    Cursor,
}

/// The position of the last item of a page: its creation time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// `created_at` of the last item returned.
    pub at: OffsetDateTime,
    /// Id of the last item returned (breaks ties between equal times).
    pub id: Uuid,
}

impl Cursor {
    /// Opaque text form for clients.
    pub fn encode(&self) -> String {
        let micros = self.at.unix_timestamp_nanos() / 1_000;
        format!("{micros}_{}", self.id.simple())
    }

    /// Parses [`Cursor::encode`]'s output.
    pub fn parse(text: &str) -> Result<Self, PageError> {
        let (micros, id) = text.split_once('_').ok_or(PageError::Cursor)?;
        let micros: i128 = micros.parse().map_err(|_| PageError::Cursor)?;
        let at = OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000)
            .map_err(|_| PageError::Cursor)?;
        let id = Uuid::parse_str(id).map_err(|_| PageError::Cursor)?;
        Ok(Self { at, id })
    }
}

/// What page of a list to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    limit: u32,
    after: Option<Cursor>,
}

impl PageRequest {
    /// Items per page when the client names no limit.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// Most items a page may hold.
    pub const MAX_LIMIT: u32 = 200;

    /// A request from client input: an optional limit and an optional cursor text.
    pub fn new(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, PageError> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(PageError::Limit);
        }
        let after = cursor.map(Cursor::parse).transpose()?;
        Ok(Self { limit, after })
    }

    /// The first page with `limit` items (clamped to 1..=200).
    pub fn first(limit: u32) -> Self {
        Self {
            limit: limit.clamp(1, Self::MAX_LIMIT),
            after: None,
        }
    }

    /// The page after `cursor`.
    pub fn after(limit: u32, cursor: Cursor) -> Self {
        Self {
            limit: limit.clamp(1, Self::MAX_LIMIT),
            after: Some(cursor),
        }
    }

    /// Items wanted.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Resume strictly after this position, if any.
    pub fn cursor(&self) -> Option<Cursor> {
        self.after
    }
}

/// One page of a list and where the next one starts (`None` at the end).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Cursor for the next page, or `None` when this page is the last.
    pub next_cursor: Option<Cursor>,
}

/// A record that listings return newest first: where it stands in them.
pub trait Listed {
    /// Its creation time and id, the cursor that resumes after it.
    fn position(&self) -> Cursor;
}

macro_rules! listed {
    ($($t:ty),*) => {$(
        impl Listed for $t {
            fn position(&self) -> Cursor {
                Cursor {
                    at: self.created_at,
                    id: self.id.as_uuid(),
                }
            }
        }
    )*};
}

listed!(
    crate::User,
    crate::ContentSession,
    crate::Message,
    crate::Notification,
    crate::UploadRequest,
    crate::Payment
);

impl<T: Listed> Page<T> {
    /// Builds a page from up to `limit + 1` items fetched in order: the extra
    /// item, if present, only proves that a next page exists.
    pub fn from_overfetch(mut items: Vec<T>, request: PageRequest) -> Self {
        let limit = request.limit() as usize;
        let more = items.len() > limit;
        items.truncate(limit);
        let next_cursor = if more {
            items.last().map(Listed::position)
        } else {
            None
        };
        Self { items, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn cursor_roundtrips_and_rejects_garbage() {
        let c = Cursor {
            at: datetime!(2024-06-14 19:12:39.676974 UTC),
            id: Uuid::from_u128(42),
        };
        assert_eq!(Cursor::parse(&c.encode()).unwrap(), c);
        assert_eq!(Cursor::parse("nope"), Err(PageError::Cursor));
        assert_eq!(Cursor::parse("12_zz"), Err(PageError::Cursor));
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(PageRequest::new(None, None).unwrap().limit(), 50);
        assert_eq!(PageRequest::new(Some(0), None), Err(PageError::Limit));
        assert_eq!(PageRequest::new(Some(201), None), Err(PageError::Limit));
        assert_eq!(PageRequest::new(Some(200), None).unwrap().limit(), 200);
    }

    #[test]
    fn overfetch_sets_next_cursor_only_when_more_exist() {
        #[derive(Debug, PartialEq)]
        struct Item(u128);
        impl Listed for Item {
            fn position(&self) -> Cursor {
                Cursor {
                    at: OffsetDateTime::UNIX_EPOCH,
                    id: Uuid::from_u128(self.0),
                }
            }
        }
        let page = Page::from_overfetch(vec![Item(3), Item(2), Item(1)], PageRequest::first(2));
        assert_eq!(page.items, vec![Item(3), Item(2)]);
        assert_eq!(page.next_cursor.unwrap().id, Uuid::from_u128(2));
        let last = Page::from_overfetch(vec![Item(1)], PageRequest::first(2));
        assert!(last.next_cursor.is_none());
    }
}
