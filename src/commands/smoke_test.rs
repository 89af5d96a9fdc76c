//! `healthcheck` and `smoke-test`: the binary probing a running bridge, for images without a
//! shell (Docker `HEALTHCHECK`) and for the Helm chart's test pod.

use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::redirect::Policy;
use url::Url;

use crate::members::demo::DEMO_MEMBERS;

fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(Policy::none())
        .build()
        .context("building the HTTP client")
}

/// `GET {base}/healthz` must answer 200.
pub async fn healthcheck(base: &Url) -> anyhow::Result<()> {
    let url = base.join("/healthz")?;
    let response = client()?
        .get(url.clone())
        .send()
        .await
        .with_context(|| format!("{url} did not answer"))?;
    if !response.status().is_success() {
        bail!("{url} answered {}", response.status());
    }
    Ok(())
}

/// Against a normal install: `/readyz` answers 200. Against `demo`: a demo member signs in
/// through the login form and the simulator accepts the token.
pub async fn smoke_test(base: &Url, demo: bool) -> anyhow::Result<String> {
    let http = client()?;
    if !demo {
        let url = base.join("/readyz")?;
        let response = http
            .get(url.clone())
            .send()
            .await
            .with_context(|| format!("{url} did not answer"))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("{url} answered {status}: {body}");
        }
        return Ok(format!("{url} is ready: {body}"));
    }

    let member = DEMO_MEMBERS.first().context("no demo member")?;
    let login = base.join("/login")?;
    let form = http
        .get(login.clone())
        .send()
        .await
        .with_context(|| format!("{login} did not answer"))?;
    let cookies: Vec<String> = form
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next().map(str::to_owned))
        .collect();
    let page = form.text().await?;
    let token = attribute_after(&page, "name=\"csrf_token\"", "value")
        .context("the sign-in form has no CSRF token")?;
    let delivered = http
        .post(login.clone())
        .header(COOKIE, cookies.join("; "))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", member.username),
            ("password", member.password),
        ])
        .send()
        .await?;
    if delivered.status() != 200 {
        bail!(
            "signing in as `{}` answered {}",
            member.username,
            delivered.status()
        );
    }
    let page = delivered.text().await?;
    let action = attribute_after(&page, "id=\"deliver\"", "action").context("no delivery form")?;
    let jwt =
        attribute_after(&page, "name=\"jwt\"", "value").context("no token in the delivery form")?;
    // The simulator is this same server: reach it the way this probe reached the bridge.
    let mut action = Url::parse(&action)?;
    action.set_scheme(base.scheme()).ok();
    action.set_host(base.host_str()).ok();
    action.set_port(base.port_or_known_default()).ok();
    let signed_in = http
        .post(action.clone())
        .form(&[("jwt", jwt.as_str())])
        .send()
        .await?;
    let status = signed_in.status();
    let body = signed_in.text().await.unwrap_or_default();
    if status != 200 || !body.contains("Signed in to Zendesk") {
        bail!("the simulator refused the token ({status})");
    }
    Ok(format!(
        "`{}` signed in through {login} and the simulator accepted the token",
        member.username
    ))
}

/// The value of `attribute` in the tag that contains `marker`, HTML entities decoded.
fn attribute_after(html: &str, marker: &str, attribute: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let key = format!("{attribute}=\"");
    let value_start = tag.find(&key)? + key.len();
    let value_end = value_start + tag[value_start..].find('"')?;
    Some(
        tag[value_start..value_end]
            .replace("&#34;", "\"")
            .replace("&#39;", "'")
            .replace("&#60;", "<")
            .replace("&#62;", ">")
            .replace("&#38;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_found_in_the_tag_of_their_marker() {
        let html = r#"<form id="deliver" method="post" action="http://a/x?b=1&#38;c=2"><input type="hidden" name="jwt" value="t.o.k">"#;
        assert_eq!(
            attribute_after(html, "id=\"deliver\"", "action").as_deref(),
            Some("http://a/x?b=1&c=2")
        );
        assert_eq!(
            attribute_after(html, "name=\"jwt\"", "value").as_deref(),
            Some("t.o.k")
        );
        assert_eq!(attribute_after(html, "name=\"nope\"", "value"), None);
    }
}
