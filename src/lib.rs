//! zendesk-sso-bridge: the Zendesk JWT remote-login URL for member systems such as iMIS.
//!
//! Reading order for a sign-in, one file a step:
//! [`web::login`] (the HTTP edge: form, CSRF, limits) → [`signin`] (the one pipeline every way in
//! ends in, and its one audit event) → [`members`] (who the member is: iMIS or a members file) →
//! [`policy`] (who may sign in, which claims) → [`zendesk::safety`] (no sign-in takes over
//! another account) → [`zendesk::jwt`] (mint) → [`web::pages`] (deliver).
//! [`startup`] holds the route table and the middleware order; [`config`] reads the environment
//! into each subsystem's settings; [`commands`] are the command-line commands.
//! Over time, [`lifecycle`] (the sync: member facts + policy → desired; Zendesk → observed;
//! diff → plan → apply) keeps what sign-ins told Zendesk true.
//!
//! Modules depend downward only: `web` → `signin` → `lifecycle` → (`members`, `policy`, `zendesk`) →
//! (`upstream`, `mail`, `metrics`, `audit`, `clock`, `ids`, `sealing`).

pub mod audit;
pub mod canonical;
pub mod clock;
pub mod commands;
pub mod config;
pub mod ids;
pub mod lifecycle;
pub mod mail;
pub mod members;
pub mod metrics;
pub mod policy;
pub mod sealing;
pub mod shared;
pub mod signin;
pub mod startup;
pub mod telemetry;
pub mod upstream;
pub mod web;
pub mod zendesk;
