//! The feed poller as a source: remote ROLIE/Atom feeds whose new entries
//! are published to grid topics (the poller itself is `rolie::poll`).

use super::{Shutdown, Source};
use crate::rolie::poll::csaf::CsafPoller;
use crate::rolie::poll::Poller;
use crate::sink::BoxFuture;

impl Source for CsafPoller {
    fn name(&self) -> String {
        format!("poll-csaf {}", self.source().display_url())
    }

    fn run(self: Box<Self>, shutdown: Shutdown) -> BoxFuture<'static, ()> {
        Box::pin(CsafPoller::run(*self, shutdown))
    }
}

impl Source for Poller {
    fn name(&self) -> String {
        format!("poll {}", self.source().display_url())
    }

    fn run(self: Box<Self>, shutdown: Shutdown) -> BoxFuture<'static, ()> {
        Box::pin(Poller::run(*self, shutdown))
    }
}
