//! Backing off clients that present wrong bearer tokens.
//!
//! Without it a client could try tens of thousands of tokens a second. Each
//! client address (an IPv6 client by its /64, which one host usually
//! holds whole) gets [`FREE_FAILURES`] wrong tokens; after that, every
//! further failure locks the address out for twice as long as the last
//! one, from one second up to [`MAX_LOCK`]: while locked, its requests that
//! carry credentials are answered 429 with `Retry-After` (see `observe.rs`)
//! and never reach a token comparison. An address is forgotten
//! [`FORGET_AFTER`] after its last failure. A success does not clear the
//! record: a client holding one valid token (a scoped reader) could
//! otherwise interleave it to keep guessing others.
//!
//! The table is bounded ([`MAX_TRACKED`] addresses): when full, forgotten
//! and then non-locked addresses are dropped first, so a flood from many
//! addresses costs memory it cannot grow.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Wrong tokens an address may present before it is locked out.
pub(crate) const FREE_FAILURES: u32 = 10;
/// The longest lock-out.
pub(crate) const MAX_LOCK: Duration = Duration::from_secs(300);
/// How long an address's failures are remembered.
pub(crate) const FORGET_AFTER: Duration = Duration::from_secs(900);
/// Most addresses tracked at once.
const MAX_TRACKED: usize = 4096;

/// One address's record.
#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Failed authentications by client address (one per server).
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    /// Read-locked by every request with credentials once any address
    /// has failed, write-locked only by failures.
    records: RwLock<HashMap<IpAddr, Record>>,
    /// How many addresses are tracked: 0 (the usual case) makes
    /// [`locked`](Self::locked) free of any lock.
    tracked: AtomicUsize,
    failures: AtomicU64,
    refused: AtomicU64,
}

/// The key an address is tracked by: IPv4 as is (IPv4-mapped IPv6 too),
/// IPv6 by its /64.
pub(crate) fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6([s[0], s[1], s[2], s[3], 0, 0, 0, 0].into())
            }
        },
    }
}

impl Throttle {
    /// Whether any address is tracked (one atomic load: the per-request
    /// check that keeps the usual case free of header lookups and locks).
    pub(crate) fn active(&self) -> bool {
        self.tracked.load(Ordering::Relaxed) > 0
    }

    /// How long `ip` must still wait, if it is locked out now; counts the
    /// refusal.
    pub(crate) fn locked(&self, ip: IpAddr) -> Option<Duration> {
        if self.tracked.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let now = Instant::now();
        let records = self.records.read().ok()?;
        let until = records.get(&client_key(ip))?.locked_until?;
        let wait = until.checked_duration_since(now).filter(|d| !d.is_zero())?;
        self.refused.fetch_add(1, Ordering::Relaxed);
        Some(wait)
    }

    /// Records a wrong token from `ip`.
    pub(crate) fn failed(&self, ip: IpAddr) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let Ok(mut records) = self.records.write() else {
            return;
        };
        let key = client_key(ip);
        if !records.contains_key(&key) && records.len() >= MAX_TRACKED {
            records.retain(|_, r| now.duration_since(r.last) < FORGET_AFTER);
            if records.len() >= MAX_TRACKED {
                records.retain(|_, r| r.locked_until.is_some_and(|u| u > now));
            }
            if records.len() >= MAX_TRACKED {
                records.clear();
            }
        }
        let r = records.entry(key).or_insert(Record {
            failures: 0,
            last: now,
            locked_until: None,
        });
        if now.duration_since(r.last) >= FORGET_AFTER {
            r.failures = 0;
        }
        r.failures = r.failures.saturating_add(1);
        r.last = now;
        if let Some(over) = r.failures.checked_sub(FREE_FAILURES + 1) {
            r.locked_until = Some(now + lock_for(over));
        }
        self.tracked.store(records.len(), Ordering::Relaxed);
    }

    /// Wrong tokens presented since start.
    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Requests refused (429) because their address was locked out.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// The lock-out after the `over`-th failure beyond the free ones (0-based):
/// 1 s, 2 s, 4 s, … up to [`MAX_LOCK`].
fn lock_for(over: u32) -> Duration {
    Duration::from_secs(1u64 << over.min(20)).min(MAX_LOCK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_after_the_free_failures_and_doubles() {
        let t = Throttle::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        assert_eq!(t.locked(ip), None);
        for _ in 0..FREE_FAILURES {
            t.failed(ip);
            assert_eq!(t.locked(ip), None);
        }
        t.failed(ip);
        let wait = t.locked(ip).expect("locked");
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        t.failed(ip);
        assert!(t.locked(ip).expect("locked") > Duration::from_secs(1));
        assert_eq!(t.locked(other), None, "per address");
        assert_eq!(t.failures(), u64::from(FREE_FAILURES) + 2);
        assert_eq!(t.refused(), 2);
        assert_eq!(lock_for(0), Duration::from_secs(1));
        assert_eq!(lock_for(3), Duration::from_secs(8));
        assert_eq!(lock_for(40), MAX_LOCK);
    }

    #[test]
    fn ipv6_by_its_64_and_mapped_v4_as_v4() {
        let a: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        let m: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(client_key(m), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_table_stays_bounded() {
        let t = Throttle::default();
        for i in 0..(MAX_TRACKED as u32 + 10) {
            t.failed(IpAddr::V4(i.into()));
        }
        assert!(t.tracked.load(Ordering::Relaxed) <= MAX_TRACKED);
    }
}
