//! The outbox, delivery cursors and leases on PostgreSQL.
//!
//! Outbox entries are claimed: the replica that accepted a document claims
//! it at once, and `outbox_head` renews its claims and takes entries whose
//! claim ran out (their replica died or lost its broker) with
//! `FOR UPDATE SKIP LOCKED`, so two replicas never take the same entry at
//! the same moment. Delivery cursors are shared rows: a replica that
//! survives another continues from what the other recorded.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{with_client, Pg};
use crate::store::rows::{from_ns, now_ns};
use crate::store::StoreError;

/// One outbox row as PostgreSQL returns it: seq, topic, item id,
/// document, queued (ns), attempts, last error (`Store::outbox_head`
/// makes the `OutboxEntry`).
pub(crate) type OutboxRow = (i64, String, String, String, i64, u32, Option<String>);

/// Now on the database's clock, in nanoseconds: claims and leases compare
/// times written by different machines, so they use one clock.
pub(super) const DB_NOW_NS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000000)::BIGINT";

pub(super) fn ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl Pg {
    /// See `Store::outbox_push`; the entry is claimed by this replica.
    pub(crate) async fn outbox_push(
        &self,
        topic: &str,
        item_id: &str,
        document: &str,
        max: usize,
    ) -> Result<i64, StoreError> {
        let now = now_ns()?;
        let claim = ns(self.opts.outbox_claim);
        let insert = format!(
            "INSERT INTO outbox (topic, item_id, document, queued_ns, claimed_by, \
             claimed_until_ns) VALUES ($1, $2, $3, $4, $5, {DB_NOW_NS} + $6) RETURNING seq"
        );
        let seq: Option<i64> = with_client!(self, c => {
            let len: i64 = c.query_one("SELECT COUNT(*) FROM outbox", &[]).await?.get(0);
            if len as usize >= max {
                return Ok(None);
            }
            let row = c
                .query_one(
                    &insert,
                    &[&topic, &item_id, &document, &now, &self.replica(), &claim],
                )
                .await?;
            Ok(Some(row.get(0)))
        })?;
        seq.ok_or(StoreError::OutboxFull { max })
    }

    /// See `Store::outbox_head`: this replica's entries and the ones whose
    /// claim ran out, oldest first, claimed (again) for `outbox_claim`.
    pub(crate) async fn outbox_head(&self, limit: usize) -> Result<Vec<OutboxRow>, StoreError> {
        let claim = ns(self.opts.outbox_claim);
        let limit = limit as i64;
        let sql = format!(
            "WITH mine AS (SELECT seq FROM outbox \
               WHERE claimed_by = $1 OR claimed_until_ns IS NULL OR claimed_until_ns < {DB_NOW_NS} \
               ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE outbox o SET claimed_by = $1, claimed_until_ns = {DB_NOW_NS} + $3 \
             FROM mine WHERE o.seq = mine.seq \
             RETURNING o.seq, o.topic, o.item_id, o.document, o.queued_ns, o.attempts, \
               o.last_error"
        );
        let mut entries: Vec<OutboxRow> = with_client!(self, c => {
            let rows = c
                .query(&sql, &[&self.replica(), &limit, &claim])
                .await?;
            Ok(rows
                .iter()
                .map(|r| {
                    let attempts = r.get::<_, i32>(5).max(0) as u32;
                    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), attempts, r.get(6))
                })
                .collect())
        })?;
        entries.sort_by_key(|e| e.0);
        Ok(entries)
    }

    /// See `Store::outbox_remove`.
    pub(crate) async fn outbox_remove(&self, seqs: &[i64]) -> Result<(), StoreError> {
        with_client!(self, c => {
            c.execute("DELETE FROM outbox WHERE seq = ANY($1)", &[&seqs]).await?;
            Ok(())
        })
    }

    /// See `Store::outbox_failed`.
    pub(crate) async fn outbox_failed(&self, seq: i64, error: &str) -> Result<(), StoreError> {
        with_client!(self, c => {
            c.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = $1",
                &[&seq, &error],
            )
            .await?;
            Ok(())
        })
    }

    /// See `Store::outbox_len`.
    pub(crate) async fn outbox_len(&self) -> Result<usize, StoreError> {
        with_client!(self, c => {
            let n: i64 = c.query_one("SELECT COUNT(*) FROM outbox", &[]).await?.get(0);
            Ok(n.max(0) as usize)
        })
    }

    /// See `Store::delivered`.
    pub(crate) async fn delivered(
        &self,
        topic: &str,
    ) -> Result<HashMap<String, String>, StoreError> {
        with_client!(self, c => {
            let rows = c
                .query("SELECT item_id, content_hash FROM delivered WHERE topic = $1", &[&topic])
                .await?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// See `Store::last_delivered`.
    pub(crate) async fn last_delivered(
        &self,
        topic: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        with_client!(self, c => {
            let ns: Option<i64> = c
                .query_one("SELECT MAX(delivered_ns) FROM delivered WHERE topic = $1", &[&topic])
                .await?
                .get(0);
            Ok(ns.map(from_ns))
        })
    }

    /// See `Store::mark_delivered` (`kept`: `DELIVERED_KEPT`).
    pub(crate) async fn mark_delivered(
        &self,
        topic: &str,
        item_id: &str,
        hash: &str,
        kept: i64,
    ) -> Result<(), StoreError> {
        let now = now_ns()?;
        let prune = rand::random::<u16>().is_multiple_of(512);
        with_client!(self, c => {
            c.execute(
                "INSERT INTO delivered (topic, item_id, content_hash, delivered_ns) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (topic, item_id) DO UPDATE SET \
                 content_hash = excluded.content_hash, delivered_ns = excluded.delivered_ns",
                &[&topic, &item_id, &hash, &now],
            )
            .await?;
            if prune {
                c.execute(
                    "DELETE FROM delivered WHERE topic = $1 AND item_id NOT IN \
                     (SELECT item_id FROM delivered WHERE topic = $1 \
                      ORDER BY delivered_ns DESC LIMIT $2)",
                    &[&topic, &kept],
                )
                .await?;
            }
            Ok(())
        })
    }

    /// See `Store::forget_delivered`.
    pub(crate) async fn forget_delivered(
        &self,
        topic: &str,
        item_id: Option<&str>,
    ) -> Result<(), StoreError> {
        with_client!(self, c => {
            match item_id {
                Some(i) => c.execute(
                    "DELETE FROM delivered WHERE topic = $1 AND item_id = $2",
                    &[&topic, &i],
                ).await?,
                None => c.execute("DELETE FROM delivered WHERE topic = $1", &[&topic]).await?,
            };
            Ok(())
        })
    }

    /// See `Store::catch_up_unfinished` (`true`) and `catch_up_finished`.
    pub(crate) async fn set_catch_up_unfinished(
        &self,
        topic: &str,
        unfinished: bool,
    ) -> Result<(), StoreError> {
        let now = now_ns()?;
        with_client!(self, c => {
            if unfinished {
                c.execute(
                    "INSERT INTO catch_up_unfinished (topic, since_ns) VALUES ($1, $2) \
                     ON CONFLICT (topic) DO NOTHING",
                    &[&topic, &now],
                )
                .await?;
            } else {
                c.execute("DELETE FROM catch_up_unfinished WHERE topic = $1", &[&topic]).await?;
            }
            Ok(())
        })
    }

    /// See `Store::is_catch_up_unfinished`.
    pub(crate) async fn is_catch_up_unfinished(&self, topic: &str) -> Result<bool, StoreError> {
        with_client!(self, c => {
            let n: i64 = c
                .query_one("SELECT COUNT(*) FROM catch_up_unfinished WHERE topic = $1", &[&topic])
                .await?
                .get(0);
            Ok(n > 0)
        })
    }

    /// Takes or renews the lease `name` for `ttl`; `false` while another
    /// replica holds it.
    pub(crate) async fn lease(&self, name: &str, ttl: Duration) -> Result<bool, StoreError> {
        let ttl = ns(ttl);
        let sql = format!(
            "INSERT INTO leases (name, holder, until_ns) VALUES ($1, $2, {DB_NOW_NS} + $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             until_ns = excluded.until_ns \
             WHERE leases.holder = excluded.holder OR leases.until_ns < {DB_NOW_NS} \
             RETURNING holder"
        );
        with_client!(self, c => {
            let row = c.query_opt(&sql, &[&name, &self.replica(), &ttl]).await?;
            Ok(row.is_some())
        })
    }

    /// Gives the lease `name` up if this replica holds it.
    pub(crate) async fn release(&self, name: &str) -> Result<(), StoreError> {
        with_client!(self, c => {
            c.execute(
                "DELETE FROM leases WHERE name = $1 AND holder = $2",
                &[&name, &self.replica()],
            )
            .await?;
            Ok(())
        })
    }
}
