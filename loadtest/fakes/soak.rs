//! Load/soak driver for loadtest/soak.sh: for a bounded time, `--concurrency` workers run a mix
//! of full sign-ins (60 %), session re-uses (30 %) and attacks (10 %: wrong passwords, open
//! redirects, forged posts) against a running bridge on loopback, then print counts, unexpected
//! answers and p50/p99 latency per kind. A test double, not part of the product.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::Client;

fn client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(4)
        .build()
        .expect("client")
}

fn csrf(page: &str) -> Option<String> {
    let at = page.find("name=\"csrf_token\" value=\"")? + "name=\"csrf_token\" value=\"".len();
    Some(page[at..at + page[at..].find('"')?].to_owned())
}

async fn sign_in(base: &str, client: &Client, user: &str, password: &str) -> Option<u16> {
    let page = client
        .get(format!("{base}/login?return_to=%2Fhc"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let token = csrf(&page)?;
    let response = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str, default: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
            .unwrap_or_else(|| default.to_owned())
    };
    let base = value("--bridge", "http://127.0.0.1:8080");
    let seconds: u64 = value("--seconds", "60").parse().unwrap_or(60);
    let concurrency: usize = value("--concurrency", "16").parse().unwrap_or(16);
    let deadline = Instant::now() + Duration::from_secs(seconds);

    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let base = base.clone();
        workers.push(tokio::spawn(async move {
            let mut results: Vec<(&'static str, Duration, bool)> = Vec::new();
            let session = client();
            let member = format!("member{}", worker + 1);
            let _ = sign_in(&base, &session, &member, "password").await;
            let mut i: u64 = 0;
            while Instant::now() < deadline {
                i += 1;
                let started = Instant::now();
                let (kind, ok) = match i % 10 {
                    0..=5 => {
                        let user = format!("member{}", 1000 + (i * 7919 + worker as u64) % 50_000);
                        (
                            "full sign-in",
                            sign_in(&base, &client(), &user, "password").await == Some(200),
                        )
                    }
                    6..=8 => {
                        let page = session
                            .get(format!("{base}/login?return_to=%2Fhc%2Frequests"))
                            .send()
                            .await;
                        let ok = match page {
                            Ok(r) if r.status() == 200 => {
                                r.text().await.is_ok_and(|b| b.contains("name=\"jwt\""))
                            }
                            _ => false,
                        };
                        ("session re-use", ok)
                    }
                    _ => match (i / 10) % 3 {
                        0 => {
                            let status =
                                sign_in(&base, &client(), &format!("attacker{}", i % 97), "guess")
                                    .await;
                            ("attack: wrong password", matches!(status, Some(401 | 429)))
                        }
                        1 => {
                            let r = client()
                                .get(format!("{base}/login?return_to=%2F%2Fevil.com"))
                                .send()
                                .await;
                            let ok = match r {
                                Ok(r) => {
                                    r.status() == 200
                                        && r.text().await.is_ok_and(|b| !b.contains("evil.com"))
                                }
                                Err(_) => false,
                            };
                            ("attack: open redirect", ok)
                        }
                        _ => {
                            let r = client()
                                .post(format!("{base}/login"))
                                .form(&[("username", "member1"), ("password", "password")])
                                .send()
                                .await;
                            ("attack: forged post", r.is_ok_and(|r| r.status() == 403))
                        }
                    },
                };
                results.push((kind, started.elapsed(), ok));
            }
            results
        }));
    }
    let mut by_kind: BTreeMap<&str, (Vec<Duration>, usize)> = BTreeMap::new();
    for worker in workers {
        for (kind, elapsed, ok) in worker.await.unwrap_or_default() {
            let entry = by_kind.entry(kind).or_default();
            entry.0.push(elapsed);
            if !ok {
                entry.1 += 1;
            }
        }
    }
    println!("| kind | requests | unexpected | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|");
    let mut total_errors = 0;
    for (kind, (mut latencies, errors)) in by_kind {
        latencies.sort();
        let at = |q: f64| {
            latencies[((latencies.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1000.0
        };
        println!(
            "| {kind} | {} | {errors} | {:.2} | {:.2} |",
            latencies.len(),
            at(0.5),
            at(0.99)
        );
        total_errors += errors;
    }
    println!("unexpected answers: {total_errors}");
    std::process::exit(if total_errors == 0 { 0 } else { 1 });
}
