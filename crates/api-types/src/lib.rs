//! Portico's wire types: every request body, query, response view and
//! page the HTTP API takes or gives, with their OpenAPI schemas, and the
//! conversions from the domain's records. No web framework here (the
//! crates.io `crates_io_api_types` model): a client, a test or another
//! server can use the types without actix, and route modules import them
//! from one leaf instead of from each other.
//!
//! One module per part of the API; every type is also at the crate root.
//! Times are RFC 3339 UTC, ids UUIDs.

/// A page of `$view`s: `{items, next_cursor}`, from a domain page of
/// anything `$view` converts from.
macro_rules! page_of {
    ($name:ident, $view:ty, $what:literal) => {
        #[doc = concat!("A page of ", $what, ".")]
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            /// Items, newest first.
            pub items: Vec<$view>,
            /// Pass as `?cursor=` for the next page; null at the end.
            pub next_cursor: Option<String>,
        }

        impl<T> From<domain::Page<T>> for $name
        where
            $view: From<T>,
        {
            fn from(p: domain::Page<T>) -> Self {
                Self {
                    items: p.items.into_iter().map(<$view>::from).collect(),
                    next_cursor: p.next_cursor.map(|c| c.encode()),
                }
            }
        }
    };
}

pub mod accounts;
pub mod activity;
pub mod admin;
pub mod api_keys;
pub mod backups;
pub mod content;
pub mod conversations;
pub mod export;
pub mod me;
pub mod mfa;
pub mod notifications;
pub mod oauth;
pub mod ops;
pub mod page;
pub mod passkeys;
pub mod payments;
pub mod plans;
pub mod profiles;
pub mod schema;
pub mod sessions;
pub mod settings;
pub mod stats;
pub mod uploads;
pub mod users;
pub mod webhooks;

pub use accounts::*;
pub use activity::*;
pub use admin::*;
pub use api_keys::*;
pub use backups::*;
pub use content::*;
pub use conversations::*;
pub use export::*;
pub use me::*;
pub use mfa::*;
pub use notifications::*;
pub use oauth::*;
pub use ops::*;
pub use page::PageQuery;
pub use passkeys::*;
pub use payments::*;
pub use plans::*;
pub use profiles::*;
pub use sessions::*;
pub use settings::*;
pub use stats::*;
pub use uploads::*;
pub use users::*;
pub use webhooks::*;
