//! XMPP-Grid (RFC 8600) semantics on top of the session layer: what a
//! Platform does as Provider and Consumer.
//!
//! * `discover` — the pubsub service and its IODEF topics (XEP-0030).
//! * `topic` — create/ensure/purge/delete topics, affiliations (XEP-0060 owner).
//! * `publish` — payload preparation (validation, size, stable item ids), publish, retract.
//! * `subscribe` — subscriptions; `subscription` — the live [`Subscription`]:
//!   notifications → [`GridEvent`]s.
//! * `items` — history retrieval; `retrieve` — one items request (and the
//!   pieces the follower's paged catch-up uses).
//!
//! [`Grid`] ties them to one session and one pubsub service.

mod discover;
mod error;
mod event;
mod inflight;
mod items;
mod notify;
pub mod ns;
mod pending;
mod publish;
mod retrieve;
mod subscribe;
mod subscription;
mod topic;

pub use discover::TopicInfo;
pub use error::{GridError, PayloadError};
pub use event::GridEvent;
pub(crate) use items::{Pager, Plan, Read};
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use notify::fuzz_notification;
pub use publish::{item_id, Payload, DEFAULT_MAX_PAYLOAD};
pub(crate) use retrieve::RawItem;
pub use subscribe::{SubscriptionState, TopicSelection};
pub use subscription::Subscription;
pub use topic::{AccessModel, Affiliation, EnsureOutcome, JidState, TopicOptions};

use tokio_xmpp::jid::Jid;

use crate::config::Config;
use crate::iodef::ValidationLevel;
// For the hand-built requests of the files here (`super::ncname`); it lives
// in the session layer, which builds one element by hand too.
use crate::xmpp::ncname;
use crate::xmpp::Session;

/// A session joined to an XMPP-Grid broker (pubsub service).
#[derive(Debug, Clone)]
pub struct Grid {
    session: Session,
    service: Jid,
    /// Whether subscriptions build IODEF items' RFC 8727 JSON
    /// ([`Grid::without_item_json`]).
    item_json: bool,
}

impl Grid {
    /// Connects (failing fast on bad credentials, certificates or
    /// addresses) and finds the pubsub service unless `config.pubsub` names it.
    pub async fn connect(config: Config) -> Result<Grid, GridError> {
        let session = Session::connect(config).await?;
        Grid::with_session(session).await
    }

    /// Uses an open session.
    pub async fn with_session(session: Session) -> Result<Grid, GridError> {
        let service = match session.config().pubsub.clone() {
            Some(s) => s,
            None => discover::find_pubsub_service(&session).await?,
        };
        tracing::debug!(%service, "pubsub service");
        Ok(Grid {
            session,
            service,
            item_json: true,
        })
    }

    /// This grid, with subscriptions (and followers) that leave the RFC 8727
    /// JSON of live IODEF items unbuilt: [`GridEvent::Item`]'s `iodef` is
    /// `None`. For consumers that keep only the document, such as a bridge
    /// whose one sink is its store: turning each document into JSON is a
    /// good part of a notification's cost. CSAF and CVE items keep their
    /// JSON value, which checking them produces anyway.
    pub fn without_item_json(mut self) -> Grid {
        self.item_json = false;
        self
    }

    /// Whether IODEF items get their RFC 8727 JSON ([`Grid::without_item_json`] says not): the
    /// catch-up path follows the live path's choice.
    pub(crate) fn item_json(&self) -> bool {
        self.item_json
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Closes the session cleanly.
    pub async fn close(&self) {
        self.session.close().await
    }

    /// The pubsub service JID.
    pub fn service(&self) -> &Jid {
        &self.service
    }

    /// Lists IODEF topics (all nodes with `include_untyped`).
    pub async fn discover(&self, include_untyped: bool) -> Result<Vec<TopicInfo>, GridError> {
        discover::discover(&self.session, &self.service, include_untyped).await
    }

    /// Meta-data of one topic.
    pub async fn topic_info(&self, topic: &str) -> Result<TopicInfo, GridError> {
        discover::topic_info(&self.session, &self.service, topic).await
    }

    /// Creates an IODEF topic; returns notes on values the server made us change.
    pub async fn create_topic(
        &self,
        topic: &str,
        opts: &TopicOptions,
    ) -> Result<Vec<String>, GridError> {
        topic::create(&self.session, &self.service, topic, opts).await
    }

    /// Creates the topic if missing, else reports how it differs.
    pub async fn ensure_topic(
        &self,
        topic: &str,
        opts: &TopicOptions,
    ) -> Result<EnsureOutcome, GridError> {
        topic::ensure(&self.session, &self.service, topic, opts).await
    }

    /// The topic's node configuration (owner only), `var → value`.
    pub async fn topic_config(
        &self,
        topic: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, GridError> {
        topic::configuration(&self.session, &self.service, topic).await
    }

    /// Deletes a topic.
    pub async fn delete_topic(&self, topic: &str) -> Result<(), GridError> {
        topic::delete(&self.session, &self.service, topic).await
    }

    /// Removes every item of a topic (owner only); the topic stays.
    pub async fn purge_topic(&self, topic: &str) -> Result<(), GridError> {
        topic::purge(&self.session, &self.service, topic).await
    }

    /// Sets a JID's affiliation with a topic (e.g. `member` on a whitelist topic).
    pub async fn set_affiliation(
        &self,
        topic: &str,
        jid: &Jid,
        affiliation: Affiliation,
    ) -> Result<(), GridError> {
        topic::set_affiliation(&self.session, &self.service, topic, jid, affiliation).await
    }

    /// As a topic's owner, approves a pending subscription of `jid` (or,
    /// with `approve` false, refuses or ends it); the subscriber is told.
    pub async fn set_subscription(
        &self,
        topic: &str,
        jid: &Jid,
        approve: bool,
    ) -> Result<(), GridError> {
        topic::set_subscription(&self.session, &self.service, topic, jid, approve).await
    }

    /// As a topic's owner, lists its subscriptions (pending requests only
    /// where the service lists them, not on ejabberd 23.01:
    /// [`Grid::pending_subscriptions`] finds them).
    pub async fn subscriptions(&self, topic: &str) -> Result<Vec<JidState>, GridError> {
        topic::subscriptions(&self.session, &self.service, topic).await
    }

    /// As a topic's owner, lists the JIDs whose subscription waits for
    /// approval (XEP-0060 §8.7, the `get-pending` command; empty where the
    /// service has none). Reads the session's messages: call it on a
    /// `Grid` that has no [`Subscription`] running.
    pub async fn pending_subscriptions(&self, topic: &str) -> Result<Vec<String>, GridError> {
        pending::pending_requests(&self.session, &self.service, topic).await
    }

    /// As a topic's owner, lists its affiliations (owners, publishers,
    /// members, outcasts).
    pub async fn affiliations(&self, topic: &str) -> Result<Vec<JidState>, GridError> {
        topic::affiliations(&self.session, &self.service, topic).await
    }

    /// Publishes a prepared payload; returns the confirmed item id.
    pub async fn publish(&self, topic: &str, payload: &Payload) -> Result<String, GridError> {
        publish::publish(&self.session, &self.service, topic, payload).await
    }

    /// Retracts an item.
    pub async fn retract(&self, topic: &str, item_id: &str) -> Result<(), GridError> {
        publish::retract(&self.session, &self.service, topic, item_id).await
    }

    /// Retrieves items the broker keeps: the newest `max`, oldest first
    /// (everything when `None`), or one by id.
    pub async fn items(
        &self,
        topic: &str,
        max: Option<u32>,
        id: Option<&str>,
        level: ValidationLevel,
    ) -> Result<Vec<GridEvent>, GridError> {
        items::items(&self.session, &self.service, topic, max, id, level).await
    }

    /// Every item a topic keeps, oldest first, fetched `page` per request and
    /// handed to `each` page by page, so memory stays bounded however much
    /// the topic keeps (see [`items`](Self::items) for one request). Stops
    /// early when `each` returns `false`; returns how many were handed over.
    pub async fn for_each_item(
        &self,
        topic: &str,
        page: u32,
        level: ValidationLevel,
        each: impl FnMut(GridEvent) -> bool,
    ) -> Result<usize, GridError> {
        items::for_each_item(&self.session, &self.service, topic, page, level, each).await
    }

    /// Fetches `topic`'s newest `page` items and plans reading the rest,
    /// oldest first (the follower's paged catch-up; see `items.rs`), with
    /// the ids listed even on a service that pages with RSM; with
    /// `list_early`, together with the newest page (one round trip less).
    pub(crate) async fn plan_pages(
        &self,
        topic: &str,
        page: u32,
        list_early: bool,
    ) -> Result<Plan, GridError> {
        items::plan(&self.session, &self.service, topic, page, true, list_early).await
    }

    /// The next page of a [`Pager`] (one request).
    pub(crate) async fn next_page(&self, pager: &mut Pager) -> Result<Vec<RawItem>, GridError> {
        pager.next(&self.session, &self.service).await
    }

    /// Subscribes and streams events; resubscribes after every new session.
    pub async fn subscribe(
        &self,
        topics: TopicSelection,
        level: ValidationLevel,
    ) -> Result<Subscription, GridError> {
        let json = self.item_json;
        subscription::start(
            self.session.clone(),
            self.service.clone(),
            topics,
            level,
            json,
        )
        .await
    }
}
