//! Cursor paging of every list: `?limit=&cursor=`.

use serde::Deserialize;

/// Query parameters of every paged list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The domain page request.
    pub fn request(&self) -> Result<domain::PageRequest, domain::PageError> {
        domain::PageRequest::new(self.limit, self.cursor.as_deref())
    }
}
