//! The simulated Zendesk as the lifecycle sync sees it: end users listed, changed in bulk
//! (`update_many`, its job already completed), sessions ended; and the demo's "let this
//! membership lapse" button. Every change is written to the help centre page's activity list.

use actix_web::{HttpResponse, http::header, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{SimUser, Simulator, users_page};

/// The activity list keeps this many lines.
const ACTIVITY_LINES: usize = 20;

impl Simulator {
    /// Where the demo directory reads which memberships lapsed.
    pub fn lapses(&self) -> std::sync::Arc<crate::members::demo_lapses::Lapses> {
        self.lapses.clone()
    }

    fn note(&self, line: String) {
        if let Ok(mut activity) = self.activity.lock() {
            activity.insert(0, line);
            activity.truncate(ACTIVITY_LINES);
        }
    }

    /// The end users linked to members, for the help centre page.
    pub(super) fn members_shown(&self) -> Vec<(String, String, String, bool, bool)> {
        let users = self.users.lock().map(|u| u.clone()).unwrap_or_default();
        users
            .iter()
            .filter(|u| u.role == "end-user")
            .filter_map(|u| {
                let id = u.external_id.clone()?;
                let lapsed = self.lapses.is_lapsed(&id);
                Some((u.name.clone(), id, u.tags.join(" "), u.signed_in, lapsed))
            })
            .collect()
    }
}

#[derive(Deserialize)]
pub struct RoleQuery {
    #[serde(default)]
    role: Option<String>,
}

/// `GET /api/v2/users`: end users with `role=end-user`, else the staff (`role[]=agent&…`).
pub async fn list_users(sim: web::Data<Simulator>, query: web::Query<RoleQuery>) -> HttpResponse {
    let end_users = query.role.as_deref() == Some("end-user");
    users_page(sim.users_where(|u| (u.role == "end-user") == end_users))
}

/// `PUT /api/v2/users/update_many`: applied at once; the job is already completed.
pub async fn update_many(sim: web::Data<Simulator>, body: web::Json<Value>) -> HttpResponse {
    let mut results = Vec::new();
    let mut notes = Vec::new();
    if let Ok(mut users) = sim.users.lock() {
        for change in body["users"].as_array().into_iter().flatten() {
            let id = change["id"].as_u64().unwrap_or_default();
            let Some(user) = users.iter_mut().find(|u| u.id == id) else {
                results.push(json!({"id": id, "error": "RecordNotFound"}));
                continue;
            };
            notes.push(apply_change(user, change));
            results
                .push(json!({"id": id, "action": "update", "status": "Updated", "success": true}));
        }
    }
    for note in notes {
        sim.note(note);
    }
    HttpResponse::Ok().json(
        json!({"job_status": {"id": "demo-job", "status": "completed",
        "results": results}}),
    )
}

/// One user's changes as Zendesk applies them; what changed, in words.
fn apply_change(user: &mut SimUser, change: &Value) -> String {
    let mut what = Vec::new();
    if let Some(tags) = change["tags"].as_array() {
        let tags: Vec<String> = tags
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect();
        what.push(format!(
            "tags [{}] → [{}]",
            user.tags.join(" "),
            tags.join(" ")
        ));
        user.tags = tags;
    }
    if let Some(name) = change["name"].as_str() {
        what.push(format!("name → {name}"));
        user.name = name.to_owned();
    }
    if let Some(phone) = change["phone"].as_str() {
        what.push("phone".to_owned());
        user.phone = Some(phone.to_owned());
    }
    format!("sync: {} — {}", user.name, what.join(", "))
}

pub async fn job_status(id: web::Path<String>) -> HttpResponse {
    HttpResponse::Ok().json(
        json!({"job_status": {"id": id.into_inner(), "status": "completed",
        "results": []}}),
    )
}

/// `DELETE /api/v2/users/{id}/sessions`: the user is signed out of the help centre.
pub async fn end_sessions(sim: web::Data<Simulator>, id: web::Path<u64>) -> HttpResponse {
    let id = id.into_inner();
    let name = sim.users.lock().ok().and_then(|mut users| {
        let user = users.iter_mut().find(|u| u.id == id)?;
        user.signed_in = false;
        Some(user.name.clone())
    });
    match name {
        Some(name) => {
            sim.note(format!("sync: {name} — help-centre session ended"));
            HttpResponse::NoContent().finish()
        }
        None => HttpResponse::NotFound().json(json!({"error": "RecordNotFound"})),
    }
}

/// The demo's API token may read and write everything.
pub async fn token_current() -> HttpResponse {
    HttpResponse::Ok().json(json!({"token": {"id": 1, "scopes": ["read", "write"],
        "expires_at": null}}))
}

#[derive(Deserialize)]
pub struct LapseForm {
    member_id: String,
}

/// `POST /_simulator/lapse`: the demo member's membership lapses (as staff would record in
/// iMIS); the next sweep downgrades them.
pub async fn lapse(sim: web::Data<Simulator>, form: web::Form<LapseForm>) -> HttpResponse {
    let id = form.into_inner().member_id;
    sim.lapses.lapse(&id);
    sim.note(format!("iMIS: the membership of iMIS ID {id} lapsed"));
    let back = format!("{}/hc", sim.base.as_str().trim_end_matches('/'));
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, back))
        .finish()
}
