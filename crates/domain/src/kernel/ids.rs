//! Typed identifiers. Every id is a UUID (v7 from the production generator, any
//! version parses), wrapped so a `UserId` cannot be passed where a `PaymentId` is due.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// Identifies a [`crate::User`].
    UserId
);
id_type!(
    /// Identifies an [`crate::ActivityEvent`].
    ActivityEventId
);
id_type!(
    /// Identifies an [`crate::AuthSession`]; also names the family of its refresh tokens.
    AuthSessionId
);
id_type!(
    /// Identifies a [`crate::RefreshToken`].
    RefreshTokenId
);
id_type!(
    /// Identifies a [`crate::ContentSession`].
    ContentSessionId
);
id_type!(
    /// Identifies a [`crate::Message`] of a content session, or a
    /// [`crate::ConversationMessage`].
    MessageId
);
id_type!(
    /// Identifies a [`crate::Conversation`] between users.
    ConversationId
);
id_type!(
    /// Identifies a [`crate::Notification`].
    NotificationId
);
id_type!(
    /// Identifies an [`crate::UploadRequest`].
    UploadId
);
id_type!(
    /// Identifies a [`crate::Payment`].
    PaymentId
);
id_type!(
    /// Identifies an [`crate::QueuedMail`].
    QueuedMailId
);
id_type!(
    /// Identifies an [`crate::MfaFactor`]: a new one each enrolment, so a
    /// write meant for a replaced factor cannot land on its successor.
    MfaFactorId
);
id_type!(
    /// Identifies an API key.
    ApiKeyId
);
id_type!(
    /// Identifies a [`crate::Passkey`].
    PasskeyId
);
id_type!(
    /// Identifies a [`crate::PasskeyChallenge`]: the `challenge_id` a client
    /// sends back to finish a ceremony.
    PasskeyChallengeId
);
id_type!(
    /// Identifies a [`crate::WebhookEndpoint`].
    WebhookId
);
id_type!(
    /// Identifies an event sent to webhook endpoints: its `webhook-id`
    /// (`msg_` and the id in hex), the same for every endpoint and on every
    /// retry, so receivers can drop what they have already seen.
    WebhookEventId
);
id_type!(
    /// Identifies a [`crate::WebhookDelivery`]: one event for one endpoint.
    WebhookDeliveryId
);
