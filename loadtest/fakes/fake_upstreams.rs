//! Fake iMIS and Zendesk (API and `/access/jwt`) for load tests and benchmarks — a test double,
//! never part of the product. Members are `member1`, `member2`, ... with the password
//! `password` (iMIS ID 100000 + n); everyone else gets `invalid_grant`. Zendesk already links
//! members below `member500000` (they have used the help centre before); from `member500000` on
//! a member is new to Zendesk. `GET /imis/api/query` is an IQA profile query run with the
//! member's own token. Every answer waits `--latency-ms` first.
//!
//!   cargo run --release --example fake-upstreams -- --listen 127.0.0.1:9100 --latency-ms 20
//!   IMIS_BASE_URL=http://127.0.0.1:9100/imis  ZENDESK_URL=http://127.0.0.1:9100
//!
//! `GET /stats` answers `imis=N zendesk=M`: the requests each upstream has had so far, so the
//! load harness can say how many upstream requests a sign-in costs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde::Deserialize;
use serde_json::json;

#[derive(Clone, Copy)]
struct Latency(Duration);

static IMIS_REQUESTS: AtomicU64 = AtomicU64::new(0);
static ZENDESK_REQUESTS: AtomicU64 = AtomicU64::new(0);

async fn stats() -> HttpResponse {
    HttpResponse::Ok().body(format!(
        "imis={} zendesk={}\n",
        IMIS_REQUESTS.load(Ordering::Relaxed),
        ZENDESK_REQUESTS.load(Ordering::Relaxed)
    ))
}

/// Waits the configured latency. A tokio timer has a 1 ms tick and rounds up (20 ms became
/// 21.7 ms here), so the wait sleeps a blocking-pool thread instead: within ~0.1 ms.
async fn pause(latency: &Latency) {
    if !latency.0.is_zero() {
        let wait = latency.0;
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(wait)).await;
    }
}

#[derive(Deserialize)]
struct Grant {
    username: String,
    password: String,
}

fn member_number(username: &str) -> Option<u64> {
    username.strip_prefix("member")?.parse().ok()
}

async fn token(latency: web::Data<Latency>, form: web::Form<Grant>) -> HttpResponse {
    pause(&latency).await;
    match (member_number(&form.username), form.password.as_str()) {
        (Some(_), "password") => HttpResponse::Ok().json(json!({
            "access_token": format!("t-{}", form.username), "token_type": "bearer",
            "expires_in": 1199, "userName": form.username})),
        _ => HttpResponse::BadRequest().json(json!({"error": "invalid_grant",
            "error_description": "The user name or password is incorrect."})),
    }
}

#[derive(Deserialize)]
struct UserQuery {
    #[serde(rename = "UserName")]
    user_name: String,
}

async fn user(latency: web::Data<Latency>, query: web::Query<UserQuery>) -> HttpResponse {
    pause(&latency).await;
    let items: Vec<_> = member_number(&query.user_name)
        .map(|n| json!({"UserId": (100_000 + n).to_string(), "UserName": query.user_name}))
        .into_iter()
        .collect();
    HttpResponse::Ok().json(json!({"Items": {"$values": items}, "Count": items.len()}))
}

fn person(id: u64) -> serde_json::Value {
    json!({
        "$type": "Asi.Soa.Membership.DataContracts.PersonData, Asi.Contracts",
        "PartyId": id.to_string(), "Id": id.to_string(),
        "PersonName": {"FullName": format!("Member {id}")},
        "Status": {"PartyStatusId": "A"},
        "Emails": {"$values": [{"Address": format!("member{}@members.example", id - 100_000), "EmailType": "_Primary", "IsPrimary": true}]},
        "Phones": {"$values": [{"Number": "(310) 388-4000", "PhoneType": "_Work Phone"}]},
    })
}

async fn party(latency: web::Data<Latency>, id: web::Path<u64>) -> HttpResponse {
    pause(&latency).await;
    HttpResponse::Ok().json(person(id.into_inner()))
}

async fn parties(latency: web::Data<Latency>, req: HttpRequest) -> HttpResponse {
    pause(&latency).await;
    let n = req
        .query_string()
        .split("member")
        .nth(1)
        .and_then(|rest| rest.split('%').next())
        .and_then(|n| n.parse::<u64>().ok());
    let items: Vec<_> = n.map(|n| person(100_000 + n)).into_iter().collect();
    HttpResponse::Ok().json(json!({"Items": {"$values": items}}))
}

async fn remote_authentications(latency: web::Data<Latency>) -> HttpResponse {
    pause(&latency).await;
    HttpResponse::Ok().json(
        json!({"remote_authentications": [{"id": 1, "name": "Members", "auth_mode": 3,
        "auth_mode_name": "jwt", "is_active": true, "end_user": true, "agent": false,
        "update_external_ids": false, "ip_ranges": ""}], "count": 1, "next_page": null}),
    )
}

/// Members below this number are already linked in Zendesk.
const FIRST_NEW_TO_ZENDESK: u64 = 500_000;

/// The Zendesk user of `member{n}`, if Zendesk knows them.
fn zendesk_user(n: u64) -> Option<serde_json::Value> {
    (n < FIRST_NEW_TO_ZENDESK).then(|| {
        json!({"id": n, "name": format!("Member {n}"), "email": format!("member{n}@members.example"),
            "external_id": (100_000 + n).to_string(), "role": "end-user", "suspended": false})
    })
}

#[derive(Deserialize)]
struct UsersSearch {
    external_id: Option<String>,
    query: Option<String>,
    include: Option<String>,
}

async fn users_search(
    latency: web::Data<Latency>,
    search: web::Query<UsersSearch>,
) -> HttpResponse {
    pause(&latency).await;
    let by_id = search
        .external_id
        .as_deref()
        .and_then(|id| id.parse::<u64>().ok())
        .and_then(|id| id.checked_sub(100_000));
    let by_email = search.query.as_deref().and_then(|q| {
        q.strip_prefix("email:")?
            .strip_prefix("member")?
            .split('@')
            .next()?
            .parse::<u64>()
            .ok()
    });
    let users: Vec<_> = by_id
        .or(by_email)
        .and_then(zendesk_user)
        .into_iter()
        .collect();
    let mut page = json!({"count": users.len(), "users": users, "next_page": null});
    if search.include.as_deref() == Some("identities") {
        // As Zendesk side-loads them: each user's e-mail identities.
        page["identities"] = users
            .iter()
            .map(|u| json!({"user_id": u["id"], "type": "email", "value": u["email"], "primary": true}))
            .collect();
    }
    HttpResponse::Ok().json(page)
}

/// `GET /api/v2/brands`: one brand, no brand separation.
async fn brands() -> HttpResponse {
    HttpResponse::Ok().json(json!({"brands": [{"id": 1, "user_separation": "account"}],
        "next_page": null}))
}

/// `GET /api/v2/users?role[]=agent&role[]=admin`: this Zendesk has no staff.
async fn staff(latency: web::Data<Latency>) -> HttpResponse {
    pause(&latency).await;
    HttpResponse::Ok().json(
        json!({"users": [], "identities": [], "meta": {"has_more": false},
        "links": {"next": null}}),
    )
}

/// `GET /imis/api/query?QueryName=…` with the member's token (`t-member{n}`): their row.
async fn profile_query(latency: web::Data<Latency>, req: HttpRequest) -> HttpResponse {
    pause(&latency).await;
    let n = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer t-member"))
        .and_then(|n| n.parse::<u64>().ok());
    let rows: Vec<_> = n
        .map(|n| {
            json!({"ID": (100_000 + n).to_string(), "UserName": format!("member{n}"),
                "FullName": format!("Member {n}"),
                "Email": format!("member{n}@members.example"), "Status": "A",
                "Phone": "(310) 388-4000", "OtherRecordsWithEmail": 0})
        })
        .into_iter()
        .collect();
    HttpResponse::Ok().json(json!({"Items": {"$values": rows}, "Count": rows.len()}))
}

async fn access_jwt() -> HttpResponse {
    HttpResponse::Ok().body("signed in")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str, default: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
            .unwrap_or_else(|| default.to_owned())
    };
    let listen = value("--listen", "127.0.0.1:9100");
    let latency = Latency(Duration::from_millis(
        value("--latency-ms", "0").parse().unwrap_or(0),
    ));
    let workers = value("--workers", "1").parse().unwrap_or(1);
    println!(
        "fake upstreams on http://{listen} (latency {} ms)",
        latency.0.as_millis()
    );
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(latency))
            .wrap_fn(|req, srv| {
                let path = req.path();
                if path.starts_with("/imis/") {
                    IMIS_REQUESTS.fetch_add(1, Ordering::Relaxed);
                } else if path.starts_with("/api/") {
                    ZENDESK_REQUESTS.fetch_add(1, Ordering::Relaxed);
                }
                actix_web::dev::Service::call(srv, req)
            })
            .route("/stats", web::get().to(stats))
            .route("/imis/token", web::post().to(token))
            .route("/imis/api/User", web::get().to(user))
            .route("/imis/api/Party", web::get().to(parties))
            .route("/imis/api/Party/{id}", web::get().to(party))
            .route("/imis/api/query", web::get().to(profile_query))
            .route(
                "/api/v2/remote_authentications",
                web::get().to(remote_authentications),
            )
            .route("/api/v2/users/search", web::get().to(users_search))
            .route("/api/v2/users", web::get().to(staff))
            .route("/api/v2/brands", web::get().to(brands))
            .route("/access/jwt", web::post().to(access_jwt))
    })
    .workers(workers)
    .bind(listen)?
    .run()
    .await
}
