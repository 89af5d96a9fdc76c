//! What a directory learns before it has finished reading a member, told as soon as it knows
//! it: the iMIS ID (after the user look-up) and the primary e-mail (after the party record).
//!
//! The sign-in pipeline listens ([`listen`]) and starts the Zendesk look-ups that need only that
//! fact while the directory is still busy (`signin::run`), so a first sign-in waits for the
//! longest chain of look-ups, not for their sum. A directory simply [`tell`]s; without a
//! listener (a `check`, a test) nothing happens.

use std::future::Future;
use std::sync::Arc;

/// One fact about the member being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Early {
    /// The member's id in the directory (Zendesk's external id).
    Id(String),
    /// Their primary e-mail address, as the directory has it.
    Email(String),
}

pub type Listener = Arc<dyn Fn(Early) + Send + Sync>;

tokio::task_local! {
    static LISTENER: Listener;
}

/// Runs `work` with `listener` told every fact a directory learns inside it.
pub async fn listen<F: Future>(listener: Listener, work: F) -> F::Output {
    LISTENER.scope(listener, work).await
}

/// Tells the listener of this sign-in, if there is one.
pub fn tell(fact: Early) {
    let _ = LISTENER.try_with(|listener| listener(fact));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn facts_reach_the_listener_of_their_own_work_only() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = heard.clone();
        let listener: Listener = Arc::new(move |fact| sink.lock().expect("lock").push(fact));
        listen(listener, async { tell(Early::Id("20277".into())) }).await;
        tell(Early::Email("nobody@example.org".into()));
        assert_eq!(
            *heard.lock().expect("lock"),
            vec![Early::Id("20277".into())]
        );
    }
}
