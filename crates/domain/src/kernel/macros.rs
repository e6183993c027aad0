//! Small macros the features share for their error enums.

/// `From<StoreError>` for per-operation error enums: a failed store call is
/// their `Unexpected`.
macro_rules! unexpected_from_store {
    ($($error:ident),+ $(,)?) => {$(
        impl From<$crate::StoreError> for $error {
            fn from(e: $crate::StoreError) -> Self {
                Self::Unexpected(e)
            }
        }
    )+};
}

/// `From<Source>` for per-operation error enums with `NotFound` and
/// `Unexpected`, where `Source` says not-found and failed with the two
/// variants named: a narrower check (or a row-level write) an operation
/// starts with fails it the same way.
macro_rules! narrows {
    ($source:ident :: { $found:ident, $failed:ident } => $($error:ident),+ $(,)?) => {$(
        impl From<$source> for $error {
            fn from(e: $source) -> Self {
                match e {
                    $source::$found => Self::NotFound,
                    $source::$failed(e) => Self::Unexpected(e),
                }
            }
        }
    )+};
}
