//! Everything Zendesk: the JWT we mint ([`jwt`]), the API client ([`api`]), the account-safety
//! rules ([`safety`]) and, for `demo` only, a simulator of Zendesk ([`simulator`]).

pub mod api;
pub mod jwt;
pub mod safety;
pub mod simulator;
pub mod sso_config;
