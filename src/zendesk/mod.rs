//! Everything Zendesk: the JWT we mint ([`jwt`]) and, for `demo` only, a simulator of
//! Zendesk's `/access/jwt` endpoint ([`simulator`]).

pub mod jwt;
pub mod simulator;
