//! Which end of a connection this is.

/// Which end of the connection this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends masked frames, receives unmasked ones.
    Client,
    /// Receives masked frames, sends unmasked ones.
    Server,
}
