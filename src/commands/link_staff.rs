//! `zendesk-sso-bridge link-staff`: the deliberate way to link agents and admins to their
//! member records, since a sign-in never links staff (rule `unlinked_staff`).
//!
//! Lists Zendesk agents and admins without an external id, finds each one's member record by
//! primary e-mail (exactly one active record), checks that the iMIS ID is not already used by
//! another Zendesk user, and prints the plan. With `--apply` it sets each `external_id`
//! through the API, waiting out rate limits. End users are never touched; a second run finds
//! nothing left to do.

use std::time::Duration;

use crate::members::{DirectoryError, MemberDirectory};
use crate::zendesk::api::{ApiError, ZendeskApi};

/// The longest a rate-limited write waits before trying again.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
const MAX_WRITE_ATTEMPTS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Link { imis_id: String },
    Skip { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub zendesk_user_id: u64,
    pub name: String,
    pub email: String,
    pub role: String,
    pub action: Action,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub entries: Vec<Entry>,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub linked: usize,
    pub skipped: usize,
    pub failed: Vec<(u64, String)>,
}

/// Works out what would be linked.
pub async fn plan(api: &ZendeskApi, directory: &dyn MemberDirectory) -> anyhow::Result<Plan> {
    let staff = api.staff().await?;
    let mut entries = Vec::new();
    for user in staff.into_iter().filter(|u| u.external_id.is_none()) {
        let role = user.role.as_str().to_owned();
        let Some(email) = user.email.clone() else {
            entries.push(Entry {
                zendesk_user_id: user.id,
                name: user.name,
                email: String::new(),
                role,
                action: Action::Skip {
                    reason: "no e-mail address in Zendesk".into(),
                },
            });
            continue;
        };
        let action = match directory.find_by_primary_email(&email).await {
            Ok(found) if found.len() == 1 => Action::Link {
                imis_id: found[0].id.clone(),
            },
            Ok(found) if found.is_empty() => Action::Skip {
                reason: "no active member record has this primary e-mail".into(),
            },
            Ok(found) => Action::Skip {
                reason: format!(
                    "{} active member records share this primary e-mail",
                    found.len()
                ),
            },
            Err(DirectoryError::Unavailable(e)) => {
                return Err(e.context("reading the member system"));
            }
            Err(e) => return Err(anyhow::anyhow!("reading the member system: {e}")),
        };
        entries.push(Entry {
            zendesk_user_id: user.id,
            name: user.name,
            email,
            role,
            action,
        });
    }

    // An iMIS ID already used by another Zendesk user must not be given to a second one.
    let wanted: Vec<String> = entries
        .iter()
        .filter_map(|e| match &e.action {
            Action::Link { imis_id } => Some(imis_id.clone()),
            Action::Skip { .. } => None,
        })
        .collect();
    if !wanted.is_empty() {
        let taken = api.users_by_external_ids(&wanted).await?;
        for entry in &mut entries {
            if let Action::Link { imis_id } = &entry.action
                && let Some(holder) = taken.iter().find(|u| u.has_external_id(imis_id))
            {
                entry.action = Action::Skip {
                    reason: format!(
                        "iMIS ID {imis_id} is already the external id of Zendesk user {}",
                        holder.id
                    ),
                };
            }
        }
    }
    Ok(Plan { entries })
}

/// Sets the external ids the plan links.
pub async fn apply(api: &ZendeskApi, plan: &Plan) -> Summary {
    let mut summary = Summary::default();
    for entry in &plan.entries {
        let Action::Link { imis_id } = &entry.action else {
            summary.skipped += 1;
            continue;
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match api.set_external_id(entry.zendesk_user_id, imis_id).await {
                Ok(_) => {
                    tracing::info!(
                        target: "audit",
                        event = "staff_linked",
                        zendesk_user_id = entry.zendesk_user_id,
                        member_id = %imis_id,
                        "external id set"
                    );
                    summary.linked += 1;
                }
                Err(ApiError::RateLimited(wait)) if attempt < MAX_WRITE_ATTEMPTS => {
                    tokio::time::sleep(wait.min(MAX_RATE_LIMIT_WAIT)).await;
                    continue;
                }
                Err(e) => summary.failed.push((entry.zendesk_user_id, e.to_string())),
            }
            break;
        }
    }
    summary
}

impl Plan {
    pub fn to_text(&self, applying: bool) -> String {
        if self.entries.is_empty() {
            return "Every Zendesk agent and admin already has an external id: nothing to do.\n"
                .into();
        }
        let mut out = String::from("Zendesk agents and admins without an external id:\n");
        for e in &self.entries {
            let what = match &e.action {
                Action::Link { imis_id } if applying => format!("link to iMIS ID {imis_id}"),
                Action::Link { imis_id } => format!("would link to iMIS ID {imis_id}"),
                Action::Skip { reason } => format!("skip: {reason}"),
            };
            out.push_str(&format!(
                "  {:>12}  {:<6} {:<32} {}\n",
                e.zendesk_user_id, e.role, e.email, what
            ));
        }
        if !applying {
            out.push_str(
                "Dry run: nothing was changed. Run again with --apply to set these external ids.\n",
            );
        }
        out
    }
}

impl Summary {
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Linked {}, skipped {}, failed {}.\n",
            self.linked,
            self.skipped,
            self.failed.len()
        );
        for (id, error) in &self.failed {
            out.push_str(&format!("  Zendesk user {id}: {error}\n"));
        }
        out
    }
}
