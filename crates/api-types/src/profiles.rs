//! Public profiles: what other users see of a user who made theirs public.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A public profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicProfileView {
    /// The user.
    pub user_id: Uuid,
    /// The username.
    #[schema(example = "ada")]
    pub username: String,
    /// Full name.
    #[schema(example = "Ada Lovelace")]
    pub full_name: Option<String>,
    /// Avatar URL or object key.
    #[schema(example = "https://cdn.example.org/avatars/ada.png")]
    pub avatar: Option<String>,
    /// Biography.
    #[schema(example = "Writes about engines.")]
    pub bio: Option<String>,
    /// A web site.
    #[schema(example = "https://ada.example.org")]
    pub website: Option<String>,
    /// Where the user is.
    #[schema(example = "London")]
    pub location: Option<String>,
}

impl From<domain::PublicProfile> for PublicProfileView {
    fn from(p: domain::PublicProfile) -> Self {
        Self {
            user_id: p.user_id.as_uuid(),
            username: p.username.as_str().to_owned(),
            full_name: p.full_name,
            avatar: p.avatar,
            bio: p.bio,
            website: p.website,
            location: p.location,
        }
    }
}

/// Public profiles found.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicProfileList {
    /// The profiles, newest accounts first.
    pub items: Vec<PublicProfileView>,
}
