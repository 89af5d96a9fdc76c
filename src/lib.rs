//! zendesk-sso-bridge: the Zendesk JWT remote-login URL for member systems such as iMIS.
//!
//! Reading order for a sign-in: [`web::login`] → [`members`] (authenticate, profile) →
//! [`zendesk::jwt`] (mint) → [`web::pages`] (deliver). [`startup`] holds the route table.

pub mod audit;
pub mod clock;
pub mod commands;
pub mod config;
pub mod ids;
pub mod mail;
pub mod members;
pub mod metrics;
pub mod policy;
pub mod signin;
pub mod startup;
pub mod telemetry;
pub mod upstream;
pub mod web;
pub mod zendesk;
