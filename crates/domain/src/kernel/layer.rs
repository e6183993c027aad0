//! Call layers: something that runs around every call of a port (timing,
//! a deadline, a circuit breaker), written once for every port.
//!
//! A repository trait marked `#[port("name")]` gets an implementation for
//! [`Layered<dyn Trait, L>`](Layered) that forwards each method to the
//! inner port through [`CallLayer::call`], and an implementation of
//! [`Port`]; [`Stores::layered`](crate::Stores::layered) wraps every
//! layered port of a [`Stores`](crate::Stores) with it. A new port needs no
//! forwarding written by hand.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::StoreError;

/// A port call on its way to the store, as the layer receives it.
pub type PortCall<'a, R> = Pin<Box<dyn Future<Output = R> + Send + 'a>>;

/// Runs around every call of a layered port.
pub trait CallLayer: Send + Sync + 'static {
    /// Runs `call`, the call of `operation` on `port` (`"users"`,
    /// `"find_by_email"`), and returns its result, or a result of the same
    /// type made with [`PortResult::unreached`] when the layer does not let
    /// it reach the store.
    fn call<'a, R: PortResult + Send + 'a>(
        &'a self,
        port: &'static str,
        operation: &'static str,
        call: PortCall<'a, R>,
    ) -> impl Future<Output = R> + Send + 'a;
}

/// A port whose every call goes through a [`CallLayer`].
pub struct Layered<P: ?Sized, L> {
    /// The port the calls go to.
    pub(crate) inner: Arc<P>,
    /// What runs around each of them.
    pub(crate) layer: L,
}

impl<P: ?Sized, L> Layered<P, L> {
    /// `inner`, with `layer` around each call.
    pub fn new(inner: Arc<P>, layer: L) -> Self {
        Self { inner, layer }
    }
}

/// A repository port (`dyn Trait` of a trait marked `#[port]`).
pub trait Port {
    /// Its name, the `port` a layer is told (`"users"`).
    const NAME: &'static str;
    /// `inner` with `layer` around each of its calls.
    fn layered<L: CallLayer>(inner: Arc<Self>, layer: L) -> Arc<Self>;
}

/// The result type of a port's methods, as a layer sees it.
pub trait PortResult: Sized {
    /// The result of a call that did not reach its store: `error`.
    fn unreached(error: StoreError) -> Self;
    /// The store failure inside, when the call failed at its store.
    fn store_error(&self) -> Option<&StoreError>;
    /// Whether the call succeeded (any error, a not-found included, is not
    /// a success).
    fn is_ok(&self) -> bool;
}

/// An error type of a port: it can hold a [`StoreError`], and says when it
/// does.
pub trait StoreFailure: From<StoreError> {
    /// The store failure, when that is what this error is.
    fn store_failure(&self) -> Option<&StoreError>;
}

impl StoreFailure for StoreError {
    fn store_failure(&self) -> Option<&StoreError> {
        Some(self)
    }
}

impl<T, E: StoreFailure> PortResult for Result<T, E> {
    fn unreached(error: StoreError) -> Self {
        Err(error.into())
    }

    fn store_error(&self) -> Option<&StoreError> {
        self.as_ref().err().and_then(StoreFailure::store_failure)
    }

    fn is_ok(&self) -> bool {
        Result::is_ok(self)
    }
}

/// [`StoreFailure`] for port errors whose store failure is their `Store`
/// variant.
macro_rules! store_failure {
    ($($error:ty),+ $(,)?) => {$(
        impl $crate::StoreFailure for $error {
            fn store_failure(&self) -> Option<&$crate::StoreError> {
                match self {
                    Self::Store(e) => Some(e),
                    _ => None,
                }
            }
        }
    )+};
}

store_failure!(crate::WriteError, crate::InsertError);
