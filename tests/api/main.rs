//! Black-box tests: the bridge is started on a free port against wiremock stand-ins for iMIS and
//! Zendesk, and driven over HTTP as a browser would. One file per capability.

mod fake_zendesk;
mod helpers;
mod redis_server;
mod smtp_sink;

mod abuse;
mod access_log;
mod access_policy;
mod account_safety;
mod admin_commands;
mod command_line;
mod crawlers;
mod csrf;
mod demo;
mod documentation;
mod first_link;
mod health;
mod imis_client;
mod logout;
mod member_pages;
mod member_site_sso;
mod member_system_errors;
mod membership_lifecycle;
mod process;
mod properties;
mod request_limits;
mod return_to;
mod secrets_in_logs;
mod session;
mod shared_state;
mod sign_in;
mod startup_check;
mod throttling;
mod upstream_faults;
mod zendesk_client;
