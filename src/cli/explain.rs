//! Broker refusals in words a user can act on: which topic, what is
//! missing, and the command that fixes it. The library reports the XMPP
//! condition (`GridError::condition`); the advice belongs to the CLI, which
//! knows the commands.

use gridlink::grid::GridError;
use gridlink::Grid;

/// What the refused request was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Creating a topic.
    Create,
    /// Publishing or retracting.
    Publish,
    /// Subscribing or reading items.
    Read,
    /// An owner's operation (configure, purge, delete, affiliations…).
    Own,
    /// Reading a topic's meta-data.
    Info,
}

/// Turns a broker refusal of `action` on `topic` into advice; any other
/// error passes unchanged.
pub fn explain(grid: &Grid, e: GridError, topic: &str, action: Action) -> anyhow::Error {
    match advice(grid, &e, topic, action) {
        Some(text) => anyhow::anyhow!(text),
        None => e.into(),
    }
}

/// [`explain`] as text (for per-document errors).
pub fn explain_text(grid: &Grid, e: &GridError, topic: &str, action: Action) -> String {
    advice(grid, e, topic, action).unwrap_or_else(|| e.to_string())
}

fn advice(grid: &Grid, e: &GridError, topic: &str, action: Action) -> Option<String> {
    let service = grid.service().to_string();
    let me = grid.session().jid().to_bare().to_string();
    let (condition, topic) = match e {
        GridError::NoSuchTopic(t) => ("item-not-found".to_string(), t.as_str()),
        _ => (e.condition()?, topic),
    };
    Some(match (condition.as_str(), action) {
        ("conflict", Action::Create) => format!(
            "topic {topic} already exists at {service} (`gridlink topic ensure {topic}` checks it \
             and succeeds when it is an IODEF topic)"
        ),
        ("item-not-found", _) => {
            format!("no topic {topic} at {service} (`gridlink discover` lists them)")
        }
        ("forbidden", Action::Publish) => format!(
            "{me} may not publish to topic {topic}: that needs the publisher (or owner) \
             affiliation; an owner of the topic grants it with \
             `gridlink topic allow {topic} {me} --as publisher`"
        ),
        ("forbidden" | "not-authorized" | "not-allowed", Action::Read) => format!(
            "{me} may not read topic {topic}: a whitelist topic needs the member (or publisher) \
             affiliation; an owner of the topic grants it with \
             `gridlink topic allow {topic} {me} --as member`"
        ),
        ("forbidden", Action::Own | Action::Create) => format!(
            "{e} — {me} is not an owner of topic {topic}: only an owner (or a pubsub admin) may \
             do this; `gridlink topic affiliations {topic}`, run by an owner, lists them"
        ),
        _ => return None,
    })
}
