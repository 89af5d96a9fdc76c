//! The reads and writes the lifecycle sync makes: linked end users a page at a time, users
//! changed in bulk (`update_many` jobs, polled through `job_statuses`), Zendesk sessions ended,
//! organisations read and created by external id, a membership removed. Nothing here decides
//! what to change: `crate::lifecycle` does, and the safety rules it keeps.

use std::collections::BTreeMap;

use anyhow::anyhow;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::wire::{PageLinks, PageMeta, lenient_bool, lenient_string};
use super::{ApiError, ZendeskApi, ZendeskRole, read_json, unavailable};

/// A Zendesk user with what the sync compares: tags, user fields, organisation, phone.
#[derive(Debug, Clone, PartialEq)]
pub struct ZendeskProfile {
    pub id: u64,
    pub name: String,
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub role: ZendeskRole,
    pub suspended: bool,
    pub phone: Option<String>,
    pub tags: Vec<String>,
    pub user_fields: BTreeMap<String, Value>,
    /// The user's (default) organisation.
    pub organization_id: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZendeskOrganization {
    pub id: u64,
    pub name: String,
    pub external_id: Option<String>,
}

/// A bulk job's end: which users it changed and which it could not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutcome {
    /// `queued`, `working`, `completed`, `failed` or `killed`.
    pub status: String,
    /// Users the job reports an error for: (user id, index in the request, Zendesk's words).
    pub failed: Vec<(Option<u64>, Option<usize>, String)>,
}

impl JobOutcome {
    pub fn finished(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "failed" | "killed")
    }
}

#[derive(Deserialize)]
struct ProfileWire {
    id: u64,
    #[serde(default, deserialize_with = "lenient_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    email: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    external_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    role: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    suspended: Option<bool>,
    #[serde(default, deserialize_with = "lenient_string")]
    phone: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    user_fields: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    organization_id: Option<u64>,
}

impl From<ProfileWire> for ZendeskProfile {
    fn from(w: ProfileWire) -> Self {
        Self {
            id: w.id,
            name: w.name.unwrap_or_default(),
            email: w.email,
            external_id: w.external_id,
            role: ZendeskRole::parse(w.role.as_deref()),
            suspended: w.suspended.unwrap_or(false),
            phone: w.phone,
            tags: w.tags.unwrap_or_default(),
            user_fields: w.user_fields.unwrap_or_default(),
            organization_id: w.organization_id,
        }
    }
}

#[derive(Deserialize)]
struct ProfilesPage {
    #[serde(default)]
    users: Vec<ProfileWire>,
    #[serde(default)]
    next_page: Option<String>,
    #[serde(default)]
    meta: Option<PageMeta>,
    #[serde(default)]
    links: Option<PageLinks>,
}

#[derive(Deserialize)]
struct OrganizationWire {
    id: u64,
    #[serde(default, deserialize_with = "lenient_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    external_id: Option<String>,
}

impl From<OrganizationWire> for ZendeskOrganization {
    fn from(w: OrganizationWire) -> Self {
        Self {
            id: w.id,
            name: w.name.unwrap_or_default(),
            external_id: w.external_id,
        }
    }
}

#[derive(Deserialize)]
struct OrganizationsPage {
    #[serde(default)]
    organizations: Vec<OrganizationWire>,
}

#[derive(Deserialize)]
struct OrganizationEnvelope {
    organization: OrganizationWire,
}

#[derive(Deserialize)]
struct JobEnvelope {
    job_status: JobWire,
}

#[derive(Deserialize)]
struct JobWire {
    #[serde(deserialize_with = "lenient_string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    status: Option<String>,
    #[serde(default)]
    results: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "lenient_string")]
    message: Option<String>,
}

impl ZendeskApi {
    /// One page of end users (`GET /api/v2/users?role=end-user`, cursor-paged, 100 a page: the
    /// list reads Zendesk's database, not the lagging search index), and the next page's URL.
    pub async fn end_users_page(
        &self,
        page: Option<Url>,
    ) -> Result<(Vec<ZendeskProfile>, Option<Url>), ApiError> {
        let url = page.unwrap_or_else(|| {
            let mut url = self.users_url("/api/v2/users");
            url.query_pairs_mut()
                .append_pair("role", "end-user")
                .append_pair("page[size]", "100");
            url
        });
        let page: ProfilesPage = self.get("users_end_users", url).await?;
        let next = page
            .links
            .as_ref()
            .filter(|_| page.meta.as_ref().is_some_and(|m| m.has_more))
            .and_then(|l| l.next.clone())
            .or(page.next_page.clone());
        let next = self.follow(next)?;
        Ok((
            page.users.into_iter().map(ZendeskProfile::from).collect(),
            next,
        ))
    }

    /// `PUT /api/v2/users/update_many` with each user's own changes (at most 100): the job's id.
    pub async fn update_many(&self, users: &[Value]) -> Result<String, ApiError> {
        let url = self.endpoint("/api/v2/users/update_many");
        let body = json!({ "users": users });
        let response = self
            .call("users_update_many", Method::PUT, url, Some(&body))
            .await?;
        let job: JobEnvelope = read_json(response, "users_update_many").await?;
        job.job_status
            .id
            .ok_or_else(|| unavailable(anyhow!("Zendesk update_many answered without a job id")))
    }

    /// `POST /api/v2/users/create_many` (at most 100 end users): the job's id. Zendesk creates,
    /// never updates: a user whose address another user holds is an error in the job.
    pub async fn create_many(&self, users: &[Value]) -> Result<String, ApiError> {
        let url = self.endpoint("/api/v2/users/create_many");
        let body = json!({ "users": users });
        let response = self
            .call("users_create_many", Method::POST, url, Some(&body))
            .await?;
        let job: JobEnvelope = read_json(response, "users_create_many").await?;
        job.job_status
            .id
            .ok_or_else(|| unavailable(anyhow!("Zendesk create_many answered without a job id")))
    }

    /// `GET /api/v2/job_statuses/{id}`.
    pub async fn job_status(&self, id: &str) -> Result<JobOutcome, ApiError> {
        let mut url = self.endpoint("/api/v2/job_statuses");
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push(id);
        }
        let job: JobEnvelope = self.get("job_status", url).await?;
        let failed = job
            .job_status
            .results
            .unwrap_or_default()
            .iter()
            .filter(|r| {
                r.get("error").is_some() || r.get("success").and_then(Value::as_bool) == Some(false)
            })
            .map(|r| {
                let why = ["details", "error", "status"]
                    .iter()
                    .find_map(|k| r.get(*k).and_then(Value::as_str))
                    .unwrap_or("failed");
                (
                    r.get("id").and_then(Value::as_u64),
                    r.get("index").and_then(Value::as_u64).map(|i| i as usize),
                    why.to_owned(),
                )
            })
            .collect();
        let mut status = job.job_status.status.unwrap_or_default();
        if status == "failed" && job.job_status.message.is_some() {
            status = format!("failed: {}", job.job_status.message.unwrap_or_default());
        }
        Ok(JobOutcome { status, failed })
    }

    /// `DELETE /api/v2/users/{id}/sessions`: every Zendesk session of the user ends.
    pub async fn end_sessions(&self, user_id: u64) -> Result<(), ApiError> {
        let url = self.endpoint(&format!("/api/v2/users/{user_id}/sessions"));
        self.call("users_end_sessions", Method::DELETE, url, None)
            .await
            .map(drop)
    }

    /// `DELETE /api/v2/users/{user_id}/organizations/{organization_id}`: the user leaves it.
    pub async fn leave_organization(&self, user_id: u64, org_id: u64) -> Result<(), ApiError> {
        let url = self.endpoint(&format!("/api/v2/users/{user_id}/organizations/{org_id}"));
        match self
            .call("users_leave_organization", Method::DELETE, url, None)
            .await
        {
            // Already not a member: what was wanted.
            Ok(_) | Err(ApiError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `GET /api/v2/organizations/show_many?external_ids=` (100 at a time).
    pub async fn organizations_by_external_ids(
        &self,
        ids: &[String],
    ) -> Result<Vec<ZendeskOrganization>, ApiError> {
        self.organizations_by("external_ids", ids).await
    }

    /// `GET /api/v2/organizations/show_many?ids=` (100 at a time).
    pub async fn organizations_by_ids(
        &self,
        ids: &[u64],
    ) -> Result<Vec<ZendeskOrganization>, ApiError> {
        let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
        self.organizations_by("ids", &ids).await
    }

    async fn organizations_by(
        &self,
        key: &str,
        ids: &[String],
    ) -> Result<Vec<ZendeskOrganization>, ApiError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(100) {
            let mut url = self.endpoint("/api/v2/organizations/show_many");
            url.query_pairs_mut().append_pair(key, &chunk.join(","));
            let page: OrganizationsPage = self.get("organizations_show_many", url).await?;
            found.extend(
                page.organizations
                    .into_iter()
                    .map(ZendeskOrganization::from),
            );
        }
        Ok(found)
    }

    /// `POST /api/v2/organizations/create_or_update`, matched by `external_id`.
    pub async fn create_or_update_organization(
        &self,
        external_id: &str,
        name: &str,
    ) -> Result<ZendeskOrganization, ApiError> {
        let url = self.endpoint("/api/v2/organizations/create_or_update");
        let body = json!({"organization": {"external_id": external_id, "name": name}});
        let response = self
            .call(
                "organizations_create_or_update",
                Method::POST,
                url,
                Some(&body),
            )
            .await?;
        let envelope: OrganizationEnvelope =
            read_json(response, "organizations_create_or_update").await?;
        Ok(envelope.organization.into())
    }
}

impl ZendeskApi {
    /// Every user with this external id, as the sync compares them
    /// (`GET /api/v2/users/search?external_id=`; every brand's with brand separation on).
    pub async fn profiles_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Vec<ZendeskProfile>, ApiError> {
        let mut url = self.users_url("/api/v2/users/search");
        url.query_pairs_mut()
            .append_pair("external_id", external_id);
        let page: ProfilesPage = self.get("users_by_external_id", url).await?;
        Ok(page
            .users
            .into_iter()
            .map(ZendeskProfile::from)
            .filter(|u| {
                u.external_id
                    .as_deref()
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case(external_id.trim()))
            })
            .collect())
    }

    /// `PUT /api/v2/users/{id}` with `changes` (one user, at once).
    pub async fn update_user(&self, user_id: u64, changes: &Value) -> Result<(), ApiError> {
        let url = self.endpoint(&format!("/api/v2/users/{user_id}"));
        let body = json!({ "user": changes });
        self.call("users_update", Method::PUT, url, Some(&body))
            .await
            .map(drop)
    }
}

impl ZendeskApi {
    /// The users with these external ids (`GET /api/v2/users/show_many?external_ids=`, 100 a
    /// call; every brand's with brand separation on), as the sync compares them.
    pub async fn profiles_by_external_ids(
        &self,
        ids: &[String],
    ) -> Result<Vec<ZendeskProfile>, ApiError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(100) {
            let mut url = self.users_url("/api/v2/users/show_many");
            url.query_pairs_mut()
                .append_pair("external_ids", &chunk.join(","));
            let page: ProfilesPage = self.get("users_show_many", url).await?;
            found.extend(page.users.into_iter().map(ZendeskProfile::from));
        }
        Ok(found)
    }
}
