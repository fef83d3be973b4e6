//! Section 3: catch-up. A topic of 1 000 (issue 22's row) or 10 000 items
//! is caught up by the raw client's one items request (the ceiling), by a
//! raw client making the paged follower's own requests (the broker's floor
//! for bounded memory), by gridlink's one request and by its paged
//! follower with a new cursor.

use std::time::Instant;

use anyhow::bail;
use futures::stream::{self, StreamExt, TryStreamExt};

use gridlink::lab::Storage;

use crate::fetch;
use crate::lab::{lab, names, Lab};
use crate::measure::gl_config;
use crate::payloads::Item;
use crate::report::{thousands, Report};
use crate::settings::Settings;

/// Section 3: catch-up of `node`'s `n` items (published while `late` was
/// offline): the raw client's one items request, gridlink's, and gridlink's
/// paged follower with a new cursor.
async fn catch_up(
    lab: &Lab,
    node: &str,
    n: usize,
    st: &str,
    stn: &str,
    report: &mut Report,
) -> anyhow::Result<()> {
    let sec3 = format!("3 catch-up of {n} ({st})");
    let acc = lab.account("late");
    let t0 = Instant::now();
    let rn = fetch::raw_catch_up(&acc, node).await?;
    let raw_s = t0.elapsed().as_secs_f64();
    let page = gridlink::durable::CATCH_UP_PAGE as usize;
    let t0 = Instant::now();
    let pn = fetch::raw_paged_catch_up(&acc, node, page).await?;
    let paged_s = t0.elapsed().as_secs_f64();
    let cfg = gl_config(lab.prosody.c2s_port, &lab.prosody.ca.ca_pem, "late")?;
    let (one_s, on) = fetch::gl_catch_up(cfg.clone(), node, n, false).await?;
    let (gl_s, gn) = fetch::gl_catch_up(cfg, node, n, true).await?;
    if rn != n || gn != n || on != n || pn != n {
        bail!(
            "catch-up got {gn} (gridlink) / {on} (one request) / {rn} (raw) / {pn} (raw paged) \
             items, expected {n}"
        );
    }
    report.add(
        &sec3,
        "raw ceiling: one items request",
        format!("{raw_s:.2} s"),
    );
    report
        .add(
            &sec3,
            &format!(
                "raw, the follower's requests: newest {page} + id listing, then older by id \
                 ({page} a request, 3 in flight) — the broker's cost of bounded memory"
            ),
            format!("{paged_s:.2} s"),
        )
        .ceiling(paged_s / raw_s);
    report.print_last();
    report
        .add(
            &sec3,
            "gridlink, one items request (memory grows with the topic)",
            format!("{one_s:.2} s"),
        )
        .ceiling(one_s / raw_s);
    report.print_last();
    report
        .add(
            &sec3,
            &format!(
                "gridlink follower, new cursor: connect, subscribe, fetch {} per request, check all",
                gridlink::durable::CATCH_UP_PAGE
            ),
            format!("{gl_s:.2} s"),
        )
        .ceiling(gl_s / raw_s)
        // × peer: against the raw client making the same requests, i.e.
        // what gridlink itself adds to the broker's paging.
        .peer(gl_s / paged_s)
        .target("≤ 1.2× one raw items request", gl_s <= 1.2 * raw_s)
        .headline(
            format!("catch-up of {} items, new cursor, {stn}", thousands(n)),
            format!("{gl_s:.2} s (paged follower)"),
            format!(
                "raw ceiling, one items request {raw_s:.2} s; raw with the follower's requests \
                 {:.2}×",
                paged_s / raw_s
            ),
            Some(gl_s / raw_s),
        );
    report.print_last();

    Ok(())
}

/// Section 3 for each of `s.catchup_items`: a topic of that many items,
/// filled by the owner, caught up, then deleted (with memory storage
/// Prosody's heap would otherwise carry it into every later run).
pub async fn catch_ups(
    lab: &Lab,
    s: &Settings,
    prepared: &[Item],
    st: &str,
    stn: &str,
    report: &mut Report,
) -> anyhow::Result<()> {
    for &n in &s.catchup_items {
        let node = format!("catch-up-{n}");
        fill(lab, &node, &prepared[..n]).await?;
        catch_up(lab, &node, n, st, stn, report).await?;
        lab.drop_topic(&node).await?;
    }
    Ok(())
}

/// `--only catchup`: section 3 alone (a quicker way to measure catch-up
/// changes).
pub async fn catch_up_only(
    s: &Settings,
    storage: Storage,
    prepared: &[Item],
    report: &mut Report,
) -> anyhow::Result<()> {
    let (st, stn) = names(storage);
    let lab = lab(storage, 0, 100_000).await?;
    catch_ups(&lab, s, prepared, st, stn, report).await?;
    lab.owner.close().await;
    Ok(())
}

/// Creates `node` and publishes `items` to it as the owner, in order (the
/// follower's order is the publication order), 32 in flight.
async fn fill(lab: &Lab, node: &str, items: &[Item]) -> anyhow::Result<()> {
    lab.topic(node).await?;
    let payloads: Vec<gridlink::grid::Payload> = items
        .iter()
        .map(|it| {
            gridlink::grid::Payload::prepare(
                it.xml.as_bytes(),
                gridlink::iodef::ValidationLevel::Basic,
                gridlink::grid::DEFAULT_MAX_PAYLOAD,
            )
        })
        .collect::<Result<_, _>>()?;
    stream::iter(payloads.iter())
        .map(|p| lab.owner.publish(node, p))
        .buffered(32)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}
