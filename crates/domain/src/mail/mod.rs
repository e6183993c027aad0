//! Mail: what the domain mails, the durable queue it waits in, and its
//! delivery off the request path with retries.

pub(crate) mod delivery;
mod model;
mod ports;
mod queue;

pub use delivery::{DeliveryFailure, DeliveryReport, MailDelivery, MailPolicy};
pub use model::*;
pub use ports::*;
pub use queue::*;
