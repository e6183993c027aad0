//! Devices: what a client's User-Agent says about it (device type, browser,
//! operating system and their versions), parsed once at sign-in by a
//! [`DeviceParser`] and kept with the session and the activity events of
//! that sign-in, and the rule that a sign-in from a device kind the user
//! has not used lately is mailed to them.

mod alerts;
mod device;

pub use alerts::NEW_DEVICE_WINDOW;
pub(crate) use alerts::alert_if_new;
pub use device::*;

#[cfg(test)]
mod tests;
