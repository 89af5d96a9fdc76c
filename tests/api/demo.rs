//! `zendesk-sso-bridge demo`: the whole flow with no configuration, through the built-in
//! Zendesk simulator; and the simulator can never be reached from `serve`.

use zendesk_sso_bridge::startup::Application;

use crate::helpers::{
    attempt_sign_in, browser, delivery, input_value, page_text, select, spawn_app,
};

async fn spawn_demo() -> String {
    let app = Application::build_demo(
        "127.0.0.1:0".parse().expect("addr"),
        None,
        Default::default(),
    )
    .await
    .expect("demo builds");
    let base = format!("http://{}", app.address());
    tokio::spawn(app.run_until_stopped());
    base
}

fn link_href(html: &str, text: &str) -> String {
    select(html, "a")
        .into_iter()
        .find(|a| a.text().collect::<String>().contains(text))
        .and_then(|a| a.value().attr("href").map(str::to_owned))
        .unwrap_or_else(|| panic!("no link `{text}`"))
}

#[tokio::test]
async fn a_visitor_walks_the_whole_demo_flow() {
    let base = spawn_demo().await;
    let client = browser();

    let landing = client
        .get(&base)
        .send()
        .await
        .expect("GET /")
        .text()
        .await
        .expect("body");
    assert!(
        page_text(&landing).contains("lovelace-demo"),
        "demo passwords are shown"
    );

    // Zendesk's help centre sends the visitor to the remote login URL.
    let help_centre = link_href(&landing, "simulated help centre");
    let hc = client
        .get(&help_centre)
        .send()
        .await
        .expect("GET hc")
        .text()
        .await
        .expect("body");
    let login_url = link_href(&hc, "Sign in");
    assert!(login_url.starts_with(&format!("{base}/login?return_to=")));
    let delivered = attempt_sign_in(&client, &login_url, "ada", "lovelace-demo", None).await;
    assert_eq!(delivered.status(), 200);
    let d = delivery(&delivered.text().await.expect("body"));
    assert_eq!(d.action, format!("{base}/_simulator/access/jwt"));

    // The browser posts the form; the simulator verifies the token like Zendesk.
    let mut fields = vec![("jwt", d.jwt.clone())];
    fields.extend(d.return_to.clone().map(|r| ("return_to", r)));
    let signed_in = client
        .post(&d.action)
        .form(&fields)
        .send()
        .await
        .expect("POST jwt");
    assert_eq!(signed_in.status(), 200);
    let signed_in = signed_in.text().await.expect("body");
    let text = page_text(&signed_in);
    assert!(text.contains("Signed in to Zendesk"), "{text}");
    assert!(text.contains("external_id 20277"), "{text}");
    assert!(text.contains("phone +13103884000"), "{text}");
    assert!(!text.contains("role"), "{text}");
    assert!(
        text.contains(&format!("{base}/_simulator/hc/requests")),
        "return_to honoured: {text}"
    );

    // Replaying the same token fails the way Zendesk fails: via the remote logout URL.
    let replay = client
        .post(&d.action)
        .form(&fields)
        .send()
        .await
        .expect("POST jwt");
    assert_eq!(replay.status(), 302);
    let location = replay.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(
        location.starts_with(&format!("{base}/logout?kind=error")),
        "{location}"
    );
    let error_page = client
        .get(&location)
        .send()
        .await
        .expect("GET logout")
        .text()
        .await
        .expect("body");
    assert!(page_text(&error_page).contains("jti has already been used"));
}

#[tokio::test]
async fn the_demo_refuses_the_lapsed_member() {
    let base = spawn_demo().await;
    let client = browser();
    let response = attempt_sign_in(
        &client,
        &format!("{base}/login"),
        "charles",
        "babbage-demo",
        None,
    )
    .await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn serve_mode_has_no_simulator() {
    let app = spawn_app().await;
    assert_eq!(app.get("/_simulator/hc").await.status(), 404);
    let post = app
        .client
        .post(app.url("/_simulator/access/jwt"))
        .form(&[("jwt", "x")])
        .send()
        .await
        .expect("POST");
    assert_eq!(post.status(), 404);
}

#[tokio::test]
async fn the_demo_shows_a_first_link_confirmed_by_a_code_from_its_mailbox() {
    let base = spawn_demo().await;
    let client = browser();
    let asked = attempt_sign_in(
        &client,
        &format!("{base}/login?return_to=%2Fhc"),
        "emmy",
        "noether-demo",
        None,
    )
    .await
    .text()
    .await
    .expect("body");
    assert!(
        page_text(&asked).contains("Confirm your e-mail address"),
        "{}",
        page_text(&asked)
    );

    let mailbox = client
        .get(format!("{base}/_simulator/mailbox"))
        .send()
        .await
        .expect("GET mailbox")
        .text()
        .await
        .expect("body");
    let text = page_text(&mailbox);
    assert!(text.contains("emmy.noether@members.example"), "{text}");
    let code: String = text
        .split("Your code is ")
        .nth(1)
        .expect("a code in the mail")
        .chars()
        .take(6)
        .collect();
    let confirm = input_value(&asked, "csrf_token").expect("token");
    let delivered = client
        .post(format!("{base}/login/verify"))
        .form(&[("csrf_token", confirm.as_str()), ("code", code.as_str())])
        .send()
        .await
        .expect("POST /login/verify")
        .text()
        .await
        .expect("body");
    assert!(delivery(&delivered).jwt.starts_with("eyJ"));
}

#[tokio::test]
async fn the_demo_walks_the_member_site_hops_to_a_signed_in_help_centre() {
    let base = spawn_demo().await;
    let client = browser();
    let start = client
        .get(format!("{base}/login/sso"))
        .send()
        .await
        .expect("GET /login/sso");
    assert_eq!(start.status(), 303);
    let member_site = start.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(
        member_site.starts_with("http://localhost:") && member_site.ends_with("/_member_site/sso"),
        "another site than the bridge: {member_site}"
    );
    // The journey cookie is Secure: a browser keeps it for http://127.0.0.1; here it is sent by hand.
    let journey = start
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("zsb_sso="))
        .and_then(|c| c.split(';').next())
        .expect("journey cookie")
        .to_owned();
    let to_sign_in = client.get(&member_site).send().await.expect("GET sso page");
    assert_eq!(
        to_sign_in.status(),
        303,
        "not signed in to the member site yet"
    );
    let site_root = member_site.trim_end_matches("/_member_site/sso").to_owned();
    let signed_in = client
        .post(format!("{site_root}/_member_site/signin"))
        .form(&[("username", "ada"), ("password", "lovelace-demo")])
        .send()
        .await
        .expect("POST member-site sign-in");
    assert_eq!(signed_in.status(), 303);
    let sso_page = client
        .get(&member_site)
        .send()
        .await
        .expect("GET sso page")
        .text()
        .await
        .expect("body");
    let action = select(&sso_page, "form#deliver")
        .first()
        .and_then(|f| f.value().attr("action").map(str::to_owned))
        .expect("the content item's form");
    assert_eq!(action, format!("{base}/imis/sso"));
    let refresh = input_value(&sso_page, "refresh_token").expect("a refresh token");
    let delivered = client
        .post(&action)
        .header("Cookie", journey)
        .form(&[("refresh_token", refresh.as_str())])
        .send()
        .await
        .expect("POST /imis/sso")
        .text()
        .await
        .expect("body");
    assert!(
        delivery(&delivered).jwt.starts_with("eyJ"),
        "{}",
        page_text(&delivered)
    );
}

#[tokio::test]
async fn in_the_demo_a_lapsed_membership_loses_the_member_tag_and_the_help_centre_session() {
    let base = spawn_demo().await;
    let client = browser();
    // Ada signs in to the simulated help centre.
    let delivered = attempt_sign_in(
        &client,
        &format!("{base}/login"),
        "ada",
        "lovelace-demo",
        None,
    )
    .await;
    let d = delivery(&delivered.text().await.expect("body"));
    assert!(d.jwt.len() > 20);
    let posted = client
        .post(&d.action)
        .form(&[("jwt", d.jwt.clone())])
        .send()
        .await
        .expect("POST jwt");
    assert_eq!(posted.status(), 200);
    let hc = |client: reqwest::Client| {
        let url = format!("{base}/_simulator/hc");
        async move {
            page_text(
                &client
                    .get(url)
                    .send()
                    .await
                    .expect("GET hc")
                    .text()
                    .await
                    .expect("body"),
            )
        }
    };
    let before = hc(client.clone()).await;
    assert!(
        before.contains("Ada Lovelace 20277 imis_m signed in"),
        "{before}"
    );

    // Staff record the lapse in the (simulated) member system.
    let lapsed = client
        .post(format!("{base}/_simulator/lapse"))
        .form(&[("member_id", "20277")])
        .send()
        .await
        .expect("POST lapse");
    assert_eq!(lapsed.status(), 303);
    let mut after = String::new();
    for _ in 0..80 {
        after = hc(client.clone()).await;
        if after.contains("help-centre session ended") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        after.contains("Ada Lovelace 20277 signed out lapsed"),
        "{after}"
    );
    assert!(
        after.contains("sync: Ada Lovelace — tags [imis_m] → []"),
        "{after}"
    );
    assert!(
        after.contains("sync: Ada Lovelace — help-centre session ended"),
        "{after}"
    );

    // And she cannot sign in again: the membership is not active.
    let again = attempt_sign_in(
        &browser(),
        &format!("{base}/login"),
        "ada",
        "lovelace-demo",
        None,
    )
    .await;
    assert_eq!(again.status(), 403);
}
