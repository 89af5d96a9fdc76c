//! A Zendesk that keeps its state, for the lifecycle sync: users (tags, user fields,
//! organisation, suspension), organisations, open sessions and bulk jobs, answered as Zendesk's
//! API reference documents them (cursor pages, `update_many` jobs polled through
//! `job_statuses`, 429 with `Retry-After`). It sits on a wiremock server beside the safe Zendesk's
//! configuration answers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::given_a_safe_zendesk;

#[derive(Default)]
pub struct State {
    pub users: BTreeMap<u64, Value>,
    pub organizations: BTreeMap<u64, Value>,
    /// Users with an open help-centre session.
    pub sessions: BTreeSet<u64>,
    jobs: BTreeMap<String, (u32, Value)>,
    next_id: u64,
    /// Answer this many more `update_many` calls with 429 `Retry-After: 1`.
    pub rate_limit_writes: u32,
    /// Users per page of `GET /api/v2/users` (small, so that paging is exercised).
    pub page_size: usize,
}

#[derive(Clone)]
pub struct FakeZendesk {
    pub server: Arc<MockServer>,
    state: Arc<Mutex<State>>,
}

impl FakeZendesk {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            next_id: 9000,
            page_size: 2,
            ..State::default()
        }));
        let fake = Self {
            server: Arc::new(server),
            state,
        };
        fake.mount().await;
        given_a_safe_zendesk(&fake.server).await;
        fake
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a user (a users API JSON object); with `session`, they are signed in to the help centre.
    pub fn given_user(&self, user: Value, session: bool) {
        let mut state = self.state();
        let id = user["id"].as_u64().expect("a user id");
        if session {
            state.sessions.insert(id);
        }
        state.users.insert(id, user);
    }

    pub fn user(&self, id: u64) -> Value {
        self.state().users[&id].clone()
    }

    pub fn tags(&self, id: u64) -> Vec<String> {
        serde_json::from_value(self.user(id)["tags"].clone()).unwrap_or_default()
    }

    /// The methods and paths of every write Zendesk received.
    pub async fn writes(&self) -> Vec<String> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.method.as_str() != "GET")
            .filter(|r| r.url.path() != "/oauth/tokens")
            .map(|r| format!("{} {}", r.method, r.url.path()))
            .collect()
    }

    async fn mount(&self) {
        let s = self.state.clone();
        let base = self.server.uri();
        self.on("GET", "^/api/v2/users$", move |r| list_users(&s, &base, r))
            .await;
        let s = self.state.clone();
        self.on("GET", "^/api/v2/users/show_many$", move |r| {
            let state = lock(&s);
            let wanted: Vec<String> = query(r, "external_ids")
                .first()
                .map(|v| v.split(',').map(str::to_owned).collect())
                .unwrap_or_default();
            let found: Vec<&Value> = state
                .users
                .values()
                .filter(|u| {
                    u["external_id"]
                        .as_str()
                        .is_some_and(|e| wanted.iter().any(|w| w == e))
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({"users": found}))
        })
        .await;
        let s = self.state.clone();
        self.on("GET", "^/api/v2/users/search$", move |r| {
            search_users(&s, r)
        })
        .await;
        let s = self.state.clone();
        self.on("PUT", r"^/api/v2/users/\d+$", move |r| {
            let id = segment(r, 4);
            let change = serde_json::from_slice::<Value>(&r.body).unwrap_or_default();
            let mut state = lock(&s);
            match state.users.get_mut(&id) {
                Some(user) => {
                    merge(user, &change["user"]);
                    ResponseTemplate::new(200).set_body_json(json!({"user": user}))
                }
                None => ResponseTemplate::new(404),
            }
        })
        .await;
        let s = self.state.clone();
        self.on("PUT", "^/api/v2/users/update_many$", move |r| {
            update_many(&s, r)
        })
        .await;
        let s = self.state.clone();
        self.on("POST", "^/api/v2/users/create_many$", move |r| {
            create_many(&s, r)
        })
        .await;
        let s = self.state.clone();
        self.on("GET", r"^/api/v2/job_statuses/[^/]+$", move |r| {
            job_status(&s, r)
        })
        .await;
        let s = self.state.clone();
        self.on("DELETE", r"^/api/v2/users/\d+/sessions$", move |r| {
            let id = segment(r, 4);
            lock(&s).sessions.remove(&id);
            ResponseTemplate::new(204)
        })
        .await;
        let s = self.state.clone();
        self.on(
            "DELETE",
            r"^/api/v2/users/\d+/organizations/\d+$",
            move |r| {
                let (user, org) = (segment(r, 4), segment(r, 6));
                let mut state = lock(&s);
                match state.users.get_mut(&user) {
                    Some(u) if u["organization_id"] == json!(org) => {
                        u["organization_id"] = Value::Null;
                        ResponseTemplate::new(204)
                    }
                    _ => ResponseTemplate::new(404),
                }
            },
        )
        .await;
        let s = self.state.clone();
        self.on("GET", "^/api/v2/organizations/show_many$", move |r| {
            show_organizations(&s, r)
        })
        .await;
        let s = self.state.clone();
        self.on(
            "POST",
            "^/api/v2/organizations/create_or_update$",
            move |r| create_or_update_organization(&s, r),
        )
        .await;
        // A token allowed to write users and organisations.
        Mock::given(method("GET"))
            .and(path("/api/v2/oauth/tokens/current"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"token": {"id": 1, "scopes": ["read", "write"], "expires_at": null}}),
            ))
            .with_priority(5)
            .mount(&self.server)
            .await;
    }

    async fn on<F>(&self, verb: &str, route: &str, respond: F)
    where
        F: Fn(&Request) -> ResponseTemplate + Send + Sync + 'static,
    {
        Mock::given(method(verb))
            .and(path_regex(route))
            .respond_with(respond)
            .with_priority(1)
            .mount(&self.server)
            .await;
    }
}

fn lock(state: &Arc<Mutex<State>>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `n`th path segment as a number (`/api/v2/users/12/sessions`: 4 → 12).
fn segment(r: &Request, n: usize) -> u64 {
    r.url
        .path()
        .split('/')
        .nth(n)
        .and_then(|s| s.parse().ok())
        .unwrap_or_default()
}

fn query(r: &Request, key: &str) -> Vec<String> {
    r.url
        .query_pairs()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// `GET /api/v2/users?role=…` (or `role[]=…`), cursor-paged with `page[after]`.
fn list_users(s: &Arc<Mutex<State>>, base: &str, r: &Request) -> ResponseTemplate {
    let state = lock(s);
    let roles: Vec<String> = query(r, "role")
        .into_iter()
        .chain(query(r, "role[]"))
        .collect();
    let after: u64 = query(r, "page[after]")
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or_default();
    let matching: Vec<&Value> = state
        .users
        .values()
        .filter(|u| roles.is_empty() || roles.iter().any(|role| u["role"] == json!(role)))
        .filter(|u| u["id"].as_u64().unwrap_or_default() > after)
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .take(state.page_size)
        .map(|u| (*u).clone())
        .collect();
    let has_more = matching.len() > page.len();
    let last = page
        .last()
        .and_then(|u| u["id"].as_u64())
        .unwrap_or_default();
    let mut next = url::Url::parse(&format!("{base}{}", r.url.path())).expect("url");
    for (k, v) in r.url.query_pairs().filter(|(k, _)| k != "page[after]") {
        next.query_pairs_mut().append_pair(&k, &v);
    }
    next.query_pairs_mut()
        .append_pair("page[after]", &last.to_string());
    ResponseTemplate::new(200).set_body_json(json!({
        "users": page, "identities": [],
        "meta": {"has_more": has_more, "after_cursor": last.to_string()},
        "links": {"next": if has_more { json!(next.as_str()) } else { Value::Null }}
    }))
}

/// `PUT /api/v2/users/update_many` with `{"users": [{"id": …, …}]}`: applied as a job would,
/// its status `queued` at the first poll and `completed` at the next.
fn update_many(s: &Arc<Mutex<State>>, r: &Request) -> ResponseTemplate {
    let mut state = lock(s);
    if state.rate_limit_writes > 0 {
        state.rate_limit_writes -= 1;
        return ResponseTemplate::new(429).insert_header("Retry-After", "1");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&r.body) else {
        return ResponseTemplate::new(400);
    };
    let changes = body["users"].as_array().cloned().unwrap_or_default();
    if changes.len() > 100 {
        return ResponseTemplate::new(400);
    }
    let mut results = Vec::new();
    for change in changes {
        let id = change["id"].as_u64().unwrap_or_default();
        let Some(user) = state.users.get_mut(&id) else {
            results.push(json!({"id": id, "error": "UserNotFound", "details": "no such user"}));
            continue;
        };
        merge(user, &change);
        results.push(json!({"id": id, "action": "update", "status": "Updated", "success": true}));
    }
    state.next_id += 1;
    let job = format!("job{}", state.next_id);
    state.jobs.insert(job.clone(), (0, json!(results)));
    ResponseTemplate::new(200)
        .set_body_json(json!({"job_status": {"id": job, "status": "queued", "results": null}}))
}

/// `POST /api/v2/users/create_many`: creates, never updates; an address another user holds is
/// an error for that user (by its index), as Zendesk reports it.
fn create_many(s: &Arc<Mutex<State>>, r: &Request) -> ResponseTemplate {
    let mut state = lock(s);
    let Ok(body) = serde_json::from_slice::<Value>(&r.body) else {
        return ResponseTemplate::new(400);
    };
    let mut results = Vec::new();
    for (index, new) in body["users"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let email = new["email"].as_str().unwrap_or_default().to_lowercase();
        let taken = state
            .users
            .values()
            .any(|u| u["email"].as_str().map(str::to_lowercase) == Some(email.clone()));
        if taken {
            results.push(json!({"index": index, "error": "DuplicateValue",
                "details": format!("Email {email} is already being used by another user")}));
            continue;
        }
        state.next_id += 1;
        let id = state.next_id;
        let mut user = json!({"id": id, "suspended": false, "tags": [], "user_fields": {},
            "organization_id": null});
        merge(&mut user, &new);
        state.users.insert(id, user);
        results.push(json!({"index": index, "id": id, "action": "create", "status": "Created", "success": true}));
    }
    state.next_id += 1;
    let job = format!("job{}", state.next_id);
    state.jobs.insert(job.clone(), (0, json!(results)));
    ResponseTemplate::new(200)
        .set_body_json(json!({"job_status": {"id": job, "status": "queued", "results": null}}))
}

/// A user's changes as Zendesk applies them: `tags` replace, `user_fields` merge.
fn merge(user: &mut Value, change: &Value) {
    for (key, value) in change.as_object().into_iter().flatten() {
        match key.as_str() {
            "id" => {}
            "user_fields" => {
                for (field, v) in value.as_object().into_iter().flatten() {
                    user["user_fields"][field] = v.clone();
                }
            }
            _ => user[key] = value.clone(),
        }
    }
}

/// `GET /api/v2/users/search?external_id=` (exact) or `?query=email:` (the address).
fn search_users(s: &Arc<Mutex<State>>, r: &Request) -> ResponseTemplate {
    let state = lock(s);
    let external = query(r, "external_id").into_iter().next();
    let email = query(r, "query")
        .into_iter()
        .next()
        .and_then(|q| q.strip_prefix("email:").map(str::to_lowercase));
    let found: Vec<&Value> = state
        .users
        .values()
        .filter(|u| match (&external, &email) {
            (Some(id), _) => u["external_id"].as_str() == Some(id.as_str()),
            (None, Some(email)) => {
                u["email"].as_str().map(str::to_lowercase).as_ref() == Some(email)
            }
            (None, None) => false,
        })
        .collect();
    ResponseTemplate::new(200).set_body_json(
        json!({"users": found, "identities": [], "count": found.len(), "next_page": null}),
    )
}

fn job_status(s: &Arc<Mutex<State>>, r: &Request) -> ResponseTemplate {
    let mut state = lock(s);
    let id = r
        .url
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let Some((polls, results)) = state.jobs.get_mut(&id) else {
        return ResponseTemplate::new(404);
    };
    *polls += 1;
    let body = match *polls {
        1 => json!({"job_status": {"id": id, "status": "working", "results": null}}),
        _ => json!({"job_status": {"id": id, "status": "completed", "results": results.clone()}}),
    };
    ResponseTemplate::new(200).set_body_json(body)
}

fn show_organizations(s: &Arc<Mutex<State>>, r: &Request) -> ResponseTemplate {
    let state = lock(s);
    let wanted = |key: &str| -> Vec<String> {
        query(r, key)
            .first()
            .map(|v| v.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let (ids, external) = (wanted("ids"), wanted("external_ids"));
    let found: Vec<&Value> = state
        .organizations
        .values()
        .filter(|o| {
            ids.contains(&o["id"].to_string())
                || o["external_id"]
                    .as_str()
                    .is_some_and(|e| external.iter().any(|x| x == e))
        })
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({"organizations": found}))
}

fn create_or_update_organization(s: &Arc<Mutex<State>>, r: &Request) -> ResponseTemplate {
    let mut state = lock(s);
    let Ok(body) = serde_json::from_slice::<Value>(&r.body) else {
        return ResponseTemplate::new(400);
    };
    let org = &body["organization"];
    let existing = state
        .organizations
        .values_mut()
        .find(|o| o["external_id"] == org["external_id"]);
    if let Some(existing) = existing {
        existing["name"] = org["name"].clone();
        return ResponseTemplate::new(200).set_body_json(json!({"organization": existing}));
    }
    state.next_id += 1;
    let id = state.next_id;
    let created =
        json!({"id": id, "name": org["name"], "external_id": org["external_id"], "tags": []});
    state.organizations.insert(id, created.clone());
    ResponseTemplate::new(201).set_body_json(json!({"organization": created}))
}
