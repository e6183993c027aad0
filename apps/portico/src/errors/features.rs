//! Problems of the feature areas: content sessions, notifications, uploads
//! and payments. Exhaustive like the rest of the mapping.

use domain::{
    CompleteUploadError, ContentSessionError, CreatePaymentError, CreateSessionError, DataKeyError,
    DownloadError, NotificationError, PaymentStatusError, PostError, PrepareUploadError,
    PutDataError, PutError, RenameError, UploadError,
};

use crate::problem::{Fields, Kind, Problem};

fn field(name: &str, message: impl Into<String>) -> Problem {
    let mut f = Fields::default();
    f.add(name, message);
    f.into_problem()
}

fn no_session() -> Problem {
    Problem::new(Kind::NotFound).detail("No such content session.")
}

impl From<ContentSessionError> for Problem {
    fn from(e: ContentSessionError) -> Self {
        match e {
            ContentSessionError::NotFound => no_session(),
            ContentSessionError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<CreateSessionError> for Problem {
    fn from(e: CreateSessionError) -> Self {
        match e {
            CreateSessionError::NameTooLong { max } => {
                field("name", format!("is longer than {max} characters"))
            }
            CreateSessionError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<RenameError> for Problem {
    fn from(e: RenameError) -> Self {
        match e {
            RenameError::NotFound => no_session(),
            RenameError::NameTooLong { max } => {
                field("name", format!("is longer than {max} characters"))
            }
            RenameError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<PutDataError> for Problem {
    fn from(e: PutDataError) -> Self {
        match e {
            PutDataError::NotFound => no_session(),
            PutDataError::ValueTooLarge { max } => Problem::new(Kind::PayloadTooLarge)
                .detail(format!("Values are at most {max} bytes of JSON.")),
            PutDataError::KeyLimit { max } => Problem::new(Kind::LimitReached).detail(format!(
                "The session holds the most storage keys allowed ({max}); delete one first."
            )),
            PutDataError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<DataKeyError> for Problem {
    fn from(e: DataKeyError) -> Self {
        match e {
            DataKeyError::NotFound => no_session(),
            DataKeyError::KeyNotFound => {
                Problem::new(Kind::NotFound).detail("No such storage key in this session.")
            }
            DataKeyError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<PostError> for Problem {
    fn from(e: PostError) -> Self {
        match e {
            PostError::Forbidden(d) => d.into(),
            PostError::NotFound => no_session(),
            PostError::Empty => field("content", "must not be empty"),
            PostError::TooLong { max } => {
                field("content", format!("is longer than {max} characters"))
            }
            PostError::ParentNotFound => {
                field("parent_id", "is not a message of this content session")
            }
            PostError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<NotificationError> for Problem {
    fn from(e: NotificationError) -> Self {
        match e {
            NotificationError::Forbidden(d) => d.into(),
            NotificationError::NotFound => {
                Problem::new(Kind::NotFound).detail("No such notification.")
            }
            NotificationError::UserNotFound => Problem::new(Kind::NotFound).detail("No such user."),
            NotificationError::Invalid(what) => field(what, "is invalid"),
            NotificationError::Unexpected(e) => Problem::internal(e),
        }
    }
}

fn no_upload() -> Problem {
    Problem::new(Kind::NotFound).detail("No such upload.")
}

impl From<UploadError> for Problem {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::NotFound => no_upload(),
            UploadError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<PrepareUploadError> for Problem {
    fn from(e: PrepareUploadError) -> Self {
        match e {
            PrepareUploadError::TooLarge { max } => {
                Problem::new(Kind::PayloadTooLarge).detail(format!("Uploads are 1 to {max} bytes."))
            }
            PrepareUploadError::InvalidContentType => field(
                "content_type",
                "is not a media type of the form type/subtype",
            ),
            PrepareUploadError::Empty => field("size", "must be at least 1 byte"),
            PrepareUploadError::ContentTypeNotAllowed => Problem::new(Kind::UnsupportedMediaType)
                .detail("This content type is not accepted for uploads."),
            PrepareUploadError::KeyTaken => {
                Problem::new(Kind::AlreadyExists).detail("Another upload uses this object key.")
            }
            PrepareUploadError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<PutError> for Problem {
    fn from(e: PutError) -> Self {
        match e {
            PutError::AlreadyUploaded => Problem::new(Kind::Conflict)
                .detail("This upload URL was already used; prepare a new upload."),
            PutError::NoLongerPending => {
                Problem::new(Kind::Gone).detail("The upload request was cancelled or has expired.")
            }
            PutError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<CompleteUploadError> for Problem {
    fn from(e: CompleteUploadError) -> Self {
        match e {
            CompleteUploadError::NotFound => no_upload(),
            CompleteUploadError::Expired => {
                Problem::new(Kind::Gone).detail("The upload request expired; prepare a new one.")
            }
            CompleteUploadError::ObjectMissing => Problem::new(Kind::Conflict)
                .detail("Nothing has been uploaded to this request's URL yet."),
            CompleteUploadError::SizeMismatch => Problem::new(Kind::Conflict)
                .detail("The uploaded object is larger than the size declared."),
            CompleteUploadError::TypeMismatch => Problem::new(Kind::Conflict)
                .detail("The uploaded object has another content type than declared."),
            CompleteUploadError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<DownloadError> for Problem {
    fn from(e: DownloadError) -> Self {
        match e {
            DownloadError::NotFound => no_upload(),
            DownloadError::NotCompleted => {
                Problem::new(Kind::Conflict).detail("The upload is not completed.")
            }
            DownloadError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<CreatePaymentError> for Problem {
    fn from(e: CreatePaymentError) -> Self {
        match e {
            CreatePaymentError::BeneficiaryCount => {
                field("beneficiaries", "must list 1 to 100 users")
            }
            CreatePaymentError::NonPositiveShare => {
                field("beneficiaries", "every amount must be positive")
            }
            CreatePaymentError::DuplicateBeneficiary => {
                field("beneficiaries", "a user appears more than once")
            }
            CreatePaymentError::SplitMismatch { sum, amount } => field(
                "beneficiaries",
                format!("amounts sum to {sum}, not to the payment's {amount}"),
            ),
            CreatePaymentError::UnknownBeneficiary(id) => {
                field("beneficiaries", format!("user {id} does not exist"))
            }
            CreatePaymentError::DescriptionTooLong => {
                field("description", "is longer than 500 characters")
            }
            CreatePaymentError::IdempotencyKeyReused => Problem::new(Kind::IdempotencyKeyReused)
                .detail("This Idempotency-Key was used for a payment with another body."),
            CreatePaymentError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<PaymentStatusError> for Problem {
    fn from(e: PaymentStatusError) -> Self {
        match e {
            PaymentStatusError::NotFound => Problem::new(Kind::NotFound).detail("No such payment."),
            PaymentStatusError::InvalidTransition(status) => {
                Problem::new(Kind::Conflict).detail(format!("The payment is {}.", status.as_str()))
            }
            PaymentStatusError::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<domain::ConversationError> for Problem {
    fn from(e: domain::ConversationError) -> Self {
        use domain::ConversationError as E;
        match e {
            E::NotFound => Problem::new(Kind::NotFound).detail("No such conversation."),
            E::MessageNotFound => Problem::new(Kind::NotFound).detail("No such message."),
            E::UserNotFound(id) => Problem::new(Kind::NotFound).detail(format!("No user {id}.")),
            E::Invalid { field, reason } => {
                let mut f = crate::problem::Fields::default();
                f.add(field, reason);
                f.into_problem()
            }
            E::Blocked => Problem::new(Kind::Blocked)
                .detail("The other participant does not accept your messages."),
            E::Forbidden(e) => e.into(),
            E::RateLimited { retry_after } => {
                Problem::rate_limited(crate::problem::RateInfo::retry_after(retry_after))
                    .detail("Too many messages: wait before posting again.")
            }
            E::Unexpected(e) => Problem::internal(e),
        }
    }
}
