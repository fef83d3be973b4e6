//! AtomPub (RFC 5023) as a source: the ROLIE server's POST and DELETE hand
//! documents to the publisher it was bound with. The same server renders
//! the store's feeds, so one listener serves both directions.

use super::{Shutdown, Source};
use crate::rolie::RolieServer;
use crate::sink::BoxFuture;

impl Source for RolieServer {
    fn name(&self) -> String {
        format!("atompub {}", self.local_addr())
    }

    fn run(self: Box<Self>, mut shutdown: Shutdown) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let stop = async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            };
            if let Err(e) = RolieServer::run(*self, stop).await {
                tracing::error!(error = %e, "HTTP server");
            }
        })
    }
}
