//! Transport-side helpers that are not protocol logic.

pub mod uri;
