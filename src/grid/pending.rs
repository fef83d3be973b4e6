//! XEP-0060 §8.7: the subscription requests waiting for a topic owner's
//! approval. A service is not bound to list them with the subscriptions
//! (ejabberd 23.01 does not); §8.7 has the owner run the
//! `pubsub#get-pending` ad-hoc command (XEP-0050): pick the node from the
//! form, submit, and the service sends the §8.6 authorization request
//! message for each waiting subscriber. The `<command/>` is built and read
//! by hand (xmpp-parsers 0.23 has no XEP-0050 type); the forms inside it
//! are xmpp-parsers' `DataForm`.

use std::collections::BTreeSet;

use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::data_forms::{DataForm, DataFormType, Field};

use super::notify::notification;
use super::{ns, GridError, GridEvent};
use crate::iodef::ValidationLevel;
use crate::xmpp::{Session, SessionEvent};

/// XEP-0050 ad-hoc commands.
const COMMANDS: &str = "http://jabber.org/protocol/commands";
/// The XEP-0060 §8.7 command node.
const GET_PENDING: &str = "http://jabber.org/protocol/pubsub#get-pending";

/// The JIDs whose subscription to `node` waits for approval, oldest request
/// first as the service sends them. Empty when none wait, and when the
/// service has no `get-pending` command (Prosody 0.12, which has no
/// pending subscriptions either).
///
/// The requests arrive as messages, so this reads the session's event
/// stream: on a session whose events a [`Subscription`](super::Subscription)
/// took, it fails and says so.
pub(crate) async fn pending_requests(
    session: &Session,
    service: &Jid,
    node: &str,
) -> Result<Vec<String>, GridError> {
    let op = format!("list the pending subscriptions to topic {node:?}");
    let Some(mut events) = session.take_events() else {
        return Err(GridError::Protocol {
            op,
            message: "this session's messages go to a subscription; ask on a session of its own"
                .into(),
        });
    };
    let result = ask(session, service, node, &op).await;
    // The service sends the request messages while it handles the submit,
    // before its answer: the stream's order puts them first, so once the
    // answer is in they are all here.
    let mut jids = Vec::new();
    if let Ok(true) = result {
        let topics: BTreeSet<String> = [node.to_string()].into();
        while let Some(ev) = events.try_recv() {
            let SessionEvent::Message(m) = ev else {
                continue;
            };
            for ev in notification(*m, service, &topics, ValidationLevel::Off, false) {
                if let GridEvent::SubscriptionRequest { jid, .. } = ev {
                    if !jids.contains(&jid) {
                        jids.push(jid);
                    }
                }
            }
        }
    }
    session.return_events(events);
    result.map(|_| jids)
}

/// Runs the command for `node`; `false` when the service has no such
/// command or nothing waits on `node` (it is not among the form's choices).
async fn ask(session: &Session, service: &Jid, node: &str, op: &str) -> Result<bool, GridError> {
    let execute = Element::builder("command", COMMANDS)
        .attr(super::ncname("node"), GET_PENDING)
        .attr(super::ncname("action"), "execute")
        .build();
    let answer = match session.set(Some(service.clone()), execute).await {
        Ok(a) => a,
        // Not offered: nothing can be pending there (XEP-0060 §8.7 is
        // optional, and Prosody 0.12 has no `authorize` model).
        Err(e)
            if matches!(
                e.condition().as_deref(),
                Some("feature-not-implemented" | "service-unavailable" | "item-not-found")
            ) =>
        {
            return Ok(false)
        }
        Err(e) => return Err(GridError::request(op)(e)),
    };
    let protocol = |message: &str| GridError::Protocol {
        op: op.to_string(),
        message: message.to_string(),
    };
    let command = answer
        .filter(|c| c.is("command", COMMANDS))
        .ok_or_else(|| protocol("no <command/> in the answer to get-pending"))?;
    let sessionid = command
        .attr("sessionid")
        .ok_or_else(|| protocol("the get-pending command has no sessionid"))?;
    // The nodes with waiting requests are the choices of the form's
    // `pubsub#node` field.
    let offered = command
        .get_child("x", ns::DATA_FORMS)
        .and_then(|x| DataForm::try_from(x.clone()).ok())
        .is_some_and(|form| {
            form.fields
                .iter()
                .filter(|f| f.var.as_deref() == Some("pubsub#node"))
                .flat_map(|f| &f.options)
                .any(|o| o.value.trim() == node)
        });
    if !offered {
        return Ok(false);
    }
    let form = DataForm::new(
        DataFormType::Submit,
        ns::SUBSCRIBE_AUTHORIZATION,
        vec![Field::text_single("pubsub#node", node)],
    );
    let submit = Element::builder("command", COMMANDS)
        .attr(super::ncname("node"), GET_PENDING)
        .attr(super::ncname("sessionid"), sessionid)
        .append(Element::from(form))
        .build();
    session
        .set(Some(service.clone()), submit)
        .await
        .map_err(GridError::request(op))?;
    Ok(true)
}
