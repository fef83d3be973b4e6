//! The follower's in-memory view of its delivery cursor: per topic, which
//! item ids were delivered (or handed out) with which content.
//!
//! A bridge following 100 topics holds 100 000 and more of these for as long
//! as it runs, so each is two 128-bit numbers, not two strings (an entry of
//! `String` id and 64-hex-digit `String` hash cost ~200 bytes with its
//! allocations; this costs ~40): the id through two keyed SipHashes with
//! keys drawn per process, the content hash as the first 16 bytes of its
//! SHA-256. Two different ids of one topic taking the same 128-bit key, or
//! two contents of one id the same 128-bit digest, is not a practical
//! concern, and the keys are unknown to whoever chooses item ids.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

/// See the module documentation.
pub(super) struct Seen {
    keys: (RandomState, RandomState),
    topics: HashMap<String, HashMap<u128, u128>>,
}

/// A content hash in memory: the store's hex SHA-256 as its first 16 bytes
/// (any other value, i.e. the "rejected" marker, through SHA-256 of its
/// text).
pub(super) fn digest(hash: &str) -> u128 {
    let hex = hash.as_bytes();
    if hex.len() == 64 && hex.iter().all(u8::is_ascii_hexdigit) {
        if let Ok(v) = u128::from_str_radix(&hash[..32], 16) {
            return v;
        }
    }
    use sha2::Digest as _;
    let full = sha2::Sha256::digest(hash.as_bytes());
    let mut first = [0u8; 16];
    first.copy_from_slice(&full[..16]);
    u128::from_be_bytes(first)
}

impl Seen {
    pub(super) fn new() -> Seen {
        Seen {
            keys: (RandomState::new(), RandomState::new()),
            topics: HashMap::new(),
        }
    }

    fn key(&self, id: &str) -> u128 {
        (u128::from(self.keys.0.hash_one(id)) << 64) | u128::from(self.keys.1.hash_one(id))
    }

    /// Whether `topic`'s cursor was loaded from the store.
    pub(super) fn is_loaded(&self, topic: &str) -> bool {
        self.topics.contains_key(topic)
    }

    /// Takes `topic`'s cursor as the store has it (id → hex hash).
    pub(super) fn load(&mut self, topic: &str, delivered: HashMap<String, String>) {
        let map = delivered
            .iter()
            .map(|(id, hash)| (self.key(id), digest(hash)))
            .collect();
        self.topics.insert(topic.to_string(), map);
    }

    /// Whether anything was delivered on `topic`.
    pub(super) fn followed_before(&self, topic: &str) -> bool {
        self.topics.get(topic).is_some_and(|m| !m.is_empty())
    }

    /// How many items were delivered on `topic` (as far as loaded).
    pub(super) fn count(&self, topic: &str) -> usize {
        self.topics.get(topic).map_or(0, HashMap::len)
    }

    /// Whether `id` was delivered on `topic` (with whatever content).
    pub(super) fn knows(&self, topic: &str, id: &str) -> bool {
        self.topics
            .get(topic)
            .is_some_and(|m| m.contains_key(&self.key(id)))
    }

    /// The digest `id` was delivered with on `topic`.
    #[cfg(test)]
    pub(super) fn digest_of(&self, topic: &str, id: &str) -> Option<u128> {
        self.topics.get(topic)?.get(&self.key(id)).copied()
    }

    /// Records `id` with content `hash`; `false` when it was recorded with
    /// that very content already.
    pub(super) fn mark(&mut self, topic: &str, id: &str, hash: &str) -> bool {
        let (key, d) = (self.key(id), digest(hash));
        let map = self.topics.entry(topic.to_string()).or_default();
        map.insert(key, d) != Some(d)
    }

    /// Forgets one id (retracted).
    pub(super) fn forget(&mut self, topic: &str, id: &str) {
        let key = self.key(id);
        if let Some(m) = self.topics.get_mut(topic) {
            m.remove(&key);
        }
    }

    /// Forgets a whole topic (purged or deleted); it stays loaded.
    pub(super) fn clear(&mut self, topic: &str) {
        if let Some(m) = self.topics.get_mut(topic) {
            m.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::content_hash;

    #[test]
    fn digest_is_the_hash_prefix_and_tells_apart_what_differs() {
        let h = content_hash("<doc/>");
        assert_eq!(format!("{:032x}", digest(&h)), h[..32]);
        assert_ne!(digest("rejected"), digest(&h));
        assert_ne!(digest(&content_hash("<doc2/>")), digest(&h));
        // Not hex: hashed, not zero.
        assert_ne!(digest(&"z".repeat(64)), 0);
        assert_ne!(digest(&"z".repeat(64)), digest(&"y".repeat(64)));
    }

    #[test]
    fn marks_knows_forgets() {
        let mut s = Seen::new();
        assert!(!s.is_loaded("t"));
        s.load("t", HashMap::from([("a".to_string(), content_hash("1"))]));
        assert!(s.is_loaded("t") && s.followed_before("t"));
        assert!(s.knows("t", "a") && !s.knows("t", "b") && !s.knows("u", "a"));
        assert!(!s.mark("t", "a", &content_hash("1")), "same content again");
        assert!(s.mark("t", "a", &content_hash("2")), "updated content");
        assert_eq!(s.digest_of("t", "a"), Some(digest(&content_hash("2"))));
        assert!(s.mark("t", "b", "rejected"));
        s.forget("t", "a");
        assert!(!s.knows("t", "a") && s.knows("t", "b"));
        s.clear("t");
        assert!(s.is_loaded("t") && !s.followed_before("t"));
    }
}
