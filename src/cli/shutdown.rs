//! The signals that stop a long-running command (`bridge`, `subscribe`, `rid serve`): SIGINT
//! (Ctrl-C) and SIGTERM (what `docker stop`, systemd and Kubernetes send), both ending it the
//! same orderly way.
//!
//! Why a type instead of `tokio::signal::ctrl_c()` where the command waits: tokio hands a signal
//! only to the listeners that exist when it arrives, and `ctrl_c()` registers its listener when
//! first polled. A signal sent between the command saying it is ready and that first poll (a
//! supervisor, a test) was lost — or, where the parent had set SIGINT to "ignore" (a background
//! job of a non-interactive shell), never even killed the process: it ran on for ever. Made
//! before the command reports readiness, [`Shutdown`] has its listeners in place, and one
//! listener per signal lives for the whole command, so none is lost between two waits either.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// SIGINT and SIGTERM, listened to from the moment this is made.
pub struct Shutdown {
    interrupt: Signal,
    terminate: Signal,
}

impl Shutdown {
    /// Registers the listeners (within a tokio runtime).
    pub fn listen() -> std::io::Result<Shutdown> {
        Ok(Shutdown {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for either signal (cancel-safe: usable in `select!` loops).
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
