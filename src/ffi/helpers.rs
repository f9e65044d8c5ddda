//! Stateless helpers.
