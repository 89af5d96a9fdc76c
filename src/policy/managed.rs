//! What the policy owns in Zendesk: the tags, user fields and organisation it maps. The sync
//! changes and removes only these; every other tag and field belongs to agents and triggers.

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Managed {
    pub tags: TagScope,
    /// The `[claims.user_fields]` keys.
    pub user_fields: Vec<String>,
    /// `[claims.organization]` is mapped: organisations keyed by the iMIS party id.
    pub organization: bool,
    /// The phone is sent (`[claims.phone] send`).
    pub phone: bool,
}

/// Which of a user's tags are the policy's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TagScope {
    /// No tags are mapped.
    #[default]
    None,
    /// Every tag listed in `[claims.tags] allow`.
    Listed(Vec<String>),
    /// Every tag starting with `[claims.tags] prefix`.
    Prefix(String),
    /// Tags are mapped without a prefix or an allow list: which tags are the policy's cannot be
    /// told, so the sync adds member tags but removes none.
    Unknown,
}

impl Managed {
    /// Whether `tag` is one the policy gives and takes away.
    pub fn owns_tag(&self, tag: &str) -> bool {
        match &self.tags {
            TagScope::Listed(list) => list.iter().any(|t| t.eq_ignore_ascii_case(tag)),
            TagScope::Prefix(prefix) => tag.starts_with(prefix.as_str()),
            TagScope::None | TagScope::Unknown => false,
        }
    }

    pub fn owns_field(&self, key: &str) -> bool {
        self.user_fields.iter().any(|k| k == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_policys_own_tags_are_owned() {
        let prefixed = Managed {
            tags: TagScope::Prefix("imis_".into()),
            ..Managed::default()
        };
        assert!(prefixed.owns_tag("imis_m"));
        assert!(!prefixed.owns_tag("vip"));
        let listed = Managed {
            tags: TagScope::Listed(vec!["imis_m".into()]),
            ..Managed::default()
        };
        assert!(listed.owns_tag("imis_m") && !listed.owns_tag("imis_board"));
        let unknown = Managed {
            tags: TagScope::Unknown,
            ..Managed::default()
        };
        assert!(
            !unknown.owns_tag("m"),
            "nothing is removed when ownership is unknown"
        );
    }
}
