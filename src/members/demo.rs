//! The built-in demo directory used by `zendesk-sso-bridge demo`: a few fictional members whose
//! passwords are printed at start-up. Never reachable from `serve`.

use super::file::{FileMember, hash_password};

/// A demo member as shown to the person trying the bridge out.
#[derive(Debug, Clone)]
pub struct DemoMember {
    pub username: &'static str,
    pub password: &'static str,
    pub note: &'static str,
    id: &'static str,
    name: &'static str,
    email: Option<&'static str>,
    phone: Option<&'static str>,
    active: bool,
}

pub const DEMO_MEMBERS: &[DemoMember] = &[
    DemoMember {
        username: "ada",
        password: "lovelace-demo",
        note: "active member with a phone number",
        id: "20277",
        name: "Ada Lovelace",
        email: Some("ada.lovelace@members.example"),
        phone: Some("(310) 388-4000"),
        active: true,
    },
    DemoMember {
        username: "grace",
        password: "hopper-demo",
        note: "active member without a phone number",
        id: "20301",
        name: "Grace Hopper",
        email: Some("grace.hopper@members.example"),
        phone: None,
        active: true,
    },
    DemoMember {
        username: "mary",
        password: "somerville-demo",
        note: "her e-mail belongs to an unlinked Zendesk agent: refused (staff are linked deliberately)",
        id: "20388",
        name: "Mary Somerville",
        email: Some("mary.somerville@members.example"),
        phone: None,
        active: true,
    },
    DemoMember {
        username: "charles",
        password: "babbage-demo",
        note: "lapsed member: sign-in is refused",
        id: "19044",
        name: "Charles Babbage",
        email: Some("charles.babbage@members.example"),
        phone: None,
        active: false,
    },
    DemoMember {
        username: "alan",
        password: "turing-demo",
        note: "member without a primary e-mail: sign-in is refused",
        id: "20412",
        name: "Alan Turing",
        email: None,
        phone: None,
        active: true,
    },
    DemoMember {
        username: "emmy",
        password: "noether-demo",
        note: "her e-mail already has a Zendesk end-user account: she confirms a code from the simulator's mailbox first",
        id: "20455",
        name: "Emmy Noether",
        email: Some("emmy.noether@members.example"),
        phone: None,
        active: true,
    },
];

/// The demo members for the file directory (passwords hashed at start-up).
pub fn demo_members() -> anyhow::Result<Vec<FileMember>> {
    DEMO_MEMBERS
        .iter()
        .map(|d| {
            Ok(FileMember {
                id: d.id.into(),
                username: d.username.into(),
                password_hash: hash_password(d.password)?,
                name: d.name.into(),
                email: d.email.map(Into::into),
                phone: d.phone.map(Into::into),
                active: d.active,
                member_type: Some("M".into()),
                is_member: Some(d.active),
                paid_through: None,
                attributes: Default::default(),
                groups: Vec::new(),
                organization: None,
                organization_id: None,
            })
        })
        .collect()
}
