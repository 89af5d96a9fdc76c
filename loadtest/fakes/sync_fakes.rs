//! Fake iMIS and Zendesk for the lifecycle sync's load test (`loadtest/sync.sh`) — a test double,
//! never part of the product. `--members N` members, iMIS IDs 100000 + n, each linked to Zendesk
//! end user n with the member tag `imis_m`; every `--lapsed-every K`th member's Paid Through is in
//! the past (K = 0: nobody lapsed). iMIS answers the service account's token and the listing
//! query (`$/Sync/Members`, 100 rows a page); Zendesk lists end users (cursor, 100 a page), shows
//! many by external id, runs `update_many` jobs, ends sessions, and enforces `--zendesk-rpm`
//! requests a minute as Zendesk does (429 with `Retry-After`).
//!
//!   cargo run --release --example sync-fakes -- --listen 127.0.0.1:9200 --members 100000
//!
//! `GET /stats` answers `imis=N zendesk_reads=R zendesk_writes=W rate_limited=L`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

static IMIS: AtomicU64 = AtomicU64::new(0);
static READS: AtomicU64 = AtomicU64::new(0);
static WRITES: AtomicU64 = AtomicU64::new(0);
static LIMITED: AtomicU64 = AtomicU64::new(0);

struct World {
    members: u64,
    lapsed_every: u64,
    /// Tags written by the sync, by user id (the rest keep `imis_m`).
    tags: Mutex<HashMap<u64, Vec<String>>>,
    /// Zendesk's per-minute budget: (minute started, requests in it).
    window: Mutex<(Instant, u64)>,
    rpm: u64,
    jobs: AtomicU64,
}

impl World {
    fn lapsed(&self, n: u64) -> bool {
        self.lapsed_every > 0 && n.is_multiple_of(self.lapsed_every)
    }

    /// Zendesk's rate limit: `Some(seconds to wait)` when this minute's budget is spent.
    fn over_limit(&self) -> Option<u64> {
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if window.0.elapsed().as_secs() >= 60 {
            *window = (Instant::now(), 0);
        }
        window.1 += 1;
        (window.1 > self.rpm).then(|| 60 - window.0.elapsed().as_secs().min(59))
    }

    fn user(&self, n: u64) -> Value {
        let tags = self
            .tags
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&n)
            .cloned()
            .unwrap_or_else(|| vec!["imis_m".to_owned()]);
        json!({"id": n, "name": format!("Member {n}"), "email": format!("m{n}@example.org"),
               "external_id": (100_000 + n).to_string(), "role": "end-user", "suspended": false,
               "tags": tags, "user_fields": {}, "organization_id": null})
    }
}

fn query(req: &HttpRequest, key: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn imis(req: HttpRequest, world: web::Data<World>) -> HttpResponse {
    IMIS.fetch_add(1, Ordering::Relaxed);
    let path = req.path().trim_start_matches("/imis");
    if path == "/token" {
        return HttpResponse::Ok().json(json!({"access_token": "svc", "token_type": "bearer",
            "expires_in": 1199, "userName": "svc"}));
    }
    if path != "/api/query" {
        return HttpResponse::NotFound().finish();
    }
    let offset: u64 = query(&req, "offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let end = (offset + 100).min(world.members);
    let rows: Vec<Value> = (offset + 1..=end)
        .map(|n| {
            let paid = if world.lapsed(n) { "2001-01-31" } else { "2999-12-31" };
            json!({"Properties": {"$values": [
                {"Name": "ID", "Value": (100_000 + n).to_string()},
                {"Name": "FullName", "Value": format!("Member {n}")},
                {"Name": "Email", "Value": format!("m{n}@example.org")},
                {"Name": "Status", "Value": "A"}, {"Name": "MemberType", "Value": "M"},
                {"Name": "PaidThrough", "Value": {"$type": "System.DateTime", "$value": format!("{paid}T00:00:00")}}]}})
        })
        .collect();
    let has_next = end < world.members;
    HttpResponse::Ok().json(
        json!({"Items": {"$values": rows}, "Offset": offset, "Limit": 100,
        "Count": end - offset, "TotalCount": world.members, "HasNext": has_next,
        "NextOffset": if has_next { end } else { 0 }}),
    )
}

async fn zendesk(req: HttpRequest, body: web::Bytes, world: web::Data<World>) -> HttpResponse {
    let write = req.method() != actix_web::http::Method::GET;
    if let Some(wait) = world.over_limit() {
        LIMITED.fetch_add(1, Ordering::Relaxed);
        return HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", wait.to_string()))
            .finish();
    }
    let counter = if write { &WRITES } else { &READS };
    counter.fetch_add(1, Ordering::Relaxed);
    let path = req.path();
    match (req.method().as_str(), path) {
        ("GET", "/api/v2/oauth/tokens/current") => HttpResponse::Ok()
            .json(json!({"token": {"scopes": ["read", "write"], "expires_at": null}})),
        ("GET", "/api/v2/brands") => HttpResponse::Ok().json(json!({"brands": [{"id": 1,
            "default": true, "active": true, "user_separation": "account"}], "next_page": null})),
        ("GET", "/api/v2/remote_authentications") => HttpResponse::Ok().json(json!({
            "remote_authentications": [{"id": 1, "auth_mode": 3, "is_active": true,
            "end_user": true, "agent": false, "update_external_ids": false, "priority": 1,
            "remote_login_url": "http://127.0.0.1/login", "ip_ranges": ""}], "next_page": null})),
        ("GET", "/api/v2/users") => {
            let after: u64 = query(&req, "page[after]")
                .and_then(|a| a.parse().ok())
                .unwrap_or(0);
            let end = (after + 100).min(world.members);
            let users: Vec<Value> = (after + 1..=end).map(|n| world.user(n)).collect();
            let has_more = end < world.members;
            let host = req.connection_info().host().to_owned();
            let next = format!(
                "http://{host}/api/v2/users?role=end-user&page%5Bsize%5D=100&page%5Bafter%5D={end}"
            );
            HttpResponse::Ok().json(json!({"users": users, "meta": {"has_more": has_more},
                "links": {"next": if has_more { json!(next) } else { Value::Null }}}))
        }
        ("GET", "/api/v2/users/show_many") => {
            let users: Vec<Value> = query(&req, "external_ids")
                .unwrap_or_default()
                .split(',')
                .filter_map(|id| id.parse::<u64>().ok())
                .filter_map(|id| id.checked_sub(100_000))
                .filter(|n| (1..=world.members).contains(n))
                .map(|n| world.user(n))
                .collect();
            HttpResponse::Ok().json(json!({"users": users}))
        }
        ("PUT", "/api/v2/users/update_many") => {
            let body: Value = serde_json::from_slice(&body).unwrap_or_default();
            let mut tags = world.tags.lock().unwrap_or_else(|e| e.into_inner());
            let mut results = Vec::new();
            for user in body["users"].as_array().into_iter().flatten() {
                let id = user["id"].as_u64().unwrap_or_default();
                if let Some(t) = user["tags"].as_array() {
                    tags.insert(
                        id,
                        t.iter()
                            .filter_map(|t| t.as_str().map(str::to_owned))
                            .collect(),
                    );
                }
                results.push(json!({"id": id, "status": "Updated", "success": true}));
            }
            let job = world.jobs.fetch_add(1, Ordering::Relaxed);
            HttpResponse::Ok().json(json!({"job_status": {"id": format!("j{job}"), "status": "completed", "results": results}}))
        }
        ("GET", p) if p.starts_with("/api/v2/job_statuses/") => HttpResponse::Ok().json(json!({
            "job_status": {"id": p.rsplit('/').next(), "status": "completed", "results": []}})),
        ("DELETE", p) if p.ends_with("/sessions") => HttpResponse::NoContent().finish(),
        _ => HttpResponse::NotFound().finish(),
    }
}

async fn stats() -> HttpResponse {
    HttpResponse::Ok().body(format!(
        "imis={} zendesk_reads={} zendesk_writes={} rate_limited={}\n",
        IMIS.load(Ordering::Relaxed),
        READS.load(Ordering::Relaxed),
        WRITES.load(Ordering::Relaxed),
        LIMITED.load(Ordering::Relaxed)
    ))
}

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listen = arg("--listen", "127.0.0.1:9200");
    let world = web::Data::new(World {
        members: arg("--members", "100000").parse().unwrap_or(100_000),
        lapsed_every: arg("--lapsed-every", "0").parse().unwrap_or(0),
        tags: Mutex::new(HashMap::new()),
        window: Mutex::new((Instant::now(), 0)),
        rpm: arg("--zendesk-rpm", "2500").parse().unwrap_or(2500),
        jobs: AtomicU64::new(0),
    });
    HttpServer::new(move || {
        App::new()
            .app_data(world.clone())
            .route("/stats", web::get().to(stats))
            .route("/imis/{tail:.*}", web::route().to(imis))
            .default_service(web::route().to(zendesk))
    })
    .workers(1)
    .bind(listen)?
    .run()
    .await
}
