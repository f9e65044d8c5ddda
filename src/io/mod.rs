//! Transports, and what drivers need around them: the [`transport`] seam
//! (one trait for every byte stream a connection runs over), the plain
//! [`socket`] a connection owns, the host's descriptors ([`stream`]),
//! [`deadline`]s and waiting, and URI parsing and building ([`uri`]).

pub mod deadline;
pub mod socket;
pub mod stream;
pub mod transport;
pub mod uri;
