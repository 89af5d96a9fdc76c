//! What a directory learns before it has finished reading a member, told as soon as it knows
//! it: the iMIS ID (after the user look-up) and the primary e-mail (after the party record).
//!
//! The sign-in pipeline listens ([`listen`]) and starts the Zendesk look-ups that need only that
//! fact while the directory is still busy (`signin::run`), so a first sign-in waits for the
//! longest chain of look-ups, not for their sum. A directory [`tell`]s, and asks
//! [`already_linked`] before it searches for copies of the member's address: when Zendesk
//! already links the member to it, the search cannot change the decision and is skipped.
//! Without a listener (a `check`, a test) nothing is told and nothing is vouched for.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One fact about the member being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Early {
    /// The member's id in the directory (Zendesk's external id).
    Id(String),
    /// Their primary e-mail address, as the directory has it.
    Email(String),
}

pub type Vouching<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

/// Who hears what a directory learns: the sign-in pipeline's account-safety guard.
pub trait Listener: Send + Sync {
    /// A fact, as soon as the directory has it (the listener may keep itself to act on it
    /// later, hence the `Arc`).
    fn heard(self: Arc<Self>, fact: Early);
    /// Whether the help desk already links the member `id` to `email`; `false` when unsure.
    fn links<'a>(&'a self, id: &'a str, email: &'a str) -> Vouching<'a>;
}

tokio::task_local! {
    static LISTENER: Arc<dyn Listener>;
}

/// Runs `work` with `listener` told every fact a directory learns inside it.
pub async fn listen<F: Future>(listener: Arc<dyn Listener>, work: F) -> F::Output {
    LISTENER.scope(listener, work).await
}

/// Tells the listener of this sign-in, if there is one.
pub fn tell(fact: Early) {
    let _ = LISTENER.try_with(|listener| Arc::clone(listener).heard(fact));
}

/// Whether the listener of this sign-in vouches that `id` is already linked to `email`.
pub async fn already_linked(id: &str, email: &str) -> bool {
    match LISTENER.try_with(Arc::clone) {
        Ok(listener) => listener.links(id, email).await,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Early>>);

    impl Listener for Recorder {
        fn heard(self: Arc<Self>, fact: Early) {
            self.0.lock().expect("lock").push(fact);
        }
        fn links<'a>(&'a self, id: &'a str, _email: &'a str) -> Vouching<'a> {
            Box::pin(async move { id == "20277" })
        }
    }

    #[tokio::test]
    async fn facts_reach_the_listener_of_their_own_work_only() {
        let recorder = Arc::new(Recorder::default());
        let vouched = listen(recorder.clone(), async {
            tell(Early::Id("20277".into()));
            already_linked("20277", "art@example.org").await
        })
        .await;
        tell(Early::Email("nobody@example.org".into()));
        assert!(vouched);
        assert!(
            !already_linked("20277", "art@example.org").await,
            "no listener, no vouching"
        );
        assert_eq!(
            *recorder.0.lock().expect("lock"),
            vec![Early::Id("20277".into())]
        );
    }
}
