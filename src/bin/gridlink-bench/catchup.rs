//! Section 3: catch-up. A topic of 1 000 (issue 22's row) or 10 000 items
//! is caught up by the raw client's one items request (the ceiling), by a
//! raw client making the paged follower's own requests (the broker's floor
//! for bounded memory), by gridlink's one request and by its paged
//! follower with a new cursor; for 1 000, in rounds of alternating order
//! (`Settings::flow_rounds`), each ratio the median of the rounds'.

use std::time::Instant;

use anyhow::bail;
use futures::stream::{self, StreamExt, TryStreamExt};

use gridlink::lab::Storage;

use crate::fetch;
use crate::flow::fmt_ratios;
use crate::lab::{lab, names, Lab};
use crate::measure::{gl_config, median};
use crate::payloads::Item;
use crate::report::{thousands, Report};
use crate::settings::Settings;

/// One round of section 3: how long each way of catching the topic up took.
struct Round {
    /// The raw client's one items request (the ceiling).
    raw: f64,
    /// The raw client making the paged follower's requests.
    paged: f64,
    /// gridlink's one items request.
    one: f64,
    /// gridlink's paged follower with a new cursor.
    follower: f64,
}

/// Runs the four catch-ups of `node`'s `n` items once, in this order or
/// (`reversed`) the other way round, so that whatever drifts in the broker
/// over the rounds (its heap and garbage collector on memory storage: the
/// raw request alone swung 1.10–1.66 s between runs in a fixed order) does
/// not fall on one side of the ratios (as section 1's pairs do).
async fn round(lab: &Lab, node: &str, n: usize, reversed: bool) -> anyhow::Result<Round> {
    let acc = lab.account("late");
    let cfg = gl_config(lab.prosody.c2s_port, &lab.prosody.ca.ca_pem, "late")?;
    let page = gridlink::durable::CATCH_UP_PAGE as usize;
    // Seconds per way, in `Round`'s field order.
    let mut secs = [0.0; 4];
    let mut order = [0, 1, 2, 3];
    if reversed {
        order.reverse();
    }
    for way in order {
        let t0 = Instant::now();
        // The raw client's time is the call's; gridlink's is the one
        // `gl_catch_up` measures (connect to last item, not the close).
        let (got, what, took) = match way {
            0 => (fetch::raw_catch_up(&acc, node).await?, "raw", None),
            1 => (
                fetch::raw_paged_catch_up(&acc, node, page).await?,
                "raw paged",
                None,
            ),
            _ => {
                let paged = way == 3;
                let (s, got) = fetch::gl_catch_up(cfg.clone(), node, n, paged).await?;
                (got, if paged { "gridlink" } else { "one request" }, Some(s))
            }
        };
        if got != n {
            bail!("catch-up ({what}) got {got} items, expected {n}");
        }
        secs[way] = took.unwrap_or_else(|| t0.elapsed().as_secs_f64());
    }
    let [raw, paged, one, follower] = secs;
    Ok(Round {
        raw,
        paged,
        one,
        follower,
    })
}

/// Section 3: catch-up of `node`'s `n` items (published while `late` was
/// offline), `rounds` times in alternating order: the raw client's one
/// items request, the raw client making the follower's requests, gridlink's
/// one request, and gridlink's paged follower with a new cursor. The ratios
/// are the medians of the rounds' ratios; the times shown are the median
/// round's (by the follower's ratio).
async fn catch_up(
    lab: &Lab,
    node: &str,
    n: usize,
    rounds: usize,
    st: &str,
    stn: &str,
    report: &mut Report,
) -> anyhow::Result<()> {
    let sec3 = format!("3 catch-up of {n} ({st})");
    let page = gridlink::durable::CATCH_UP_PAGE as usize;
    let mut runs = Vec::new();
    for i in 0..rounds.max(1) {
        runs.push(round(lab, node, n, i % 2 == 1).await?);
    }
    let ratios = |f: &dyn Fn(&Round) -> f64| runs.iter().map(f).collect::<Vec<f64>>();
    let follower = ratios(&|r| r.follower / r.raw);
    let (paged_x, one_x, follower_x, peer_x) = (
        median(&mut ratios(&|r| r.paged / r.raw)),
        median(&mut ratios(&|r| r.one / r.raw)),
        median(&mut follower.clone()),
        median(&mut ratios(&|r| r.follower / r.paged)),
    );
    // The median round, by the follower's ratio, for the times shown.
    let mut by_ratio: Vec<&Round> = runs.iter().collect();
    by_ratio.sort_by(|a, b| (a.follower / a.raw).total_cmp(&(b.follower / b.raw)));
    let m = by_ratio[by_ratio.len() / 2];
    let (raw_s, paged_s, one_s, gl_s) = (m.raw, m.paged, m.one, m.follower);
    if runs.len() > 1 {
        report.add(
            &sec3,
            "gridlink follower ÷ one raw items request, each round (alternating order)",
            fmt_ratios(&follower),
        );
        report.print_last();
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
        .ceiling(paged_x);
    report.print_last();
    report
        .add(
            &sec3,
            "gridlink, one items request (memory grows with the topic)",
            format!("{one_s:.2} s"),
        )
        .ceiling(one_x);
    report.print_last();
    report
        .add(
            &sec3,
            &format!(
                "gridlink follower, new cursor: connect, subscribe, fetch {page} per request, check all"
            ),
            format!("{gl_s:.2} s"),
        )
        .ceiling(follower_x)
        // × peer: against the raw client making the same requests, i.e.
        // what gridlink itself adds to the broker's paging.
        .peer(peer_x)
        .target("≤ 1.2× one raw items request", follower_x <= 1.2)
        .headline(
            format!("catch-up of {} items, new cursor, {stn}", thousands(n)),
            format!("{gl_s:.2} s (paged follower)"),
            format!(
                "raw ceiling, one items request {raw_s:.2} s; raw with the follower's requests \
                 {paged_x:.2}×"
            ),
            Some(follower_x),
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
        // Alternated rounds where a round is short; one for the long
        // 10 000-item catch-up.
        let rounds = if n <= 1_000 { s.flow_rounds } else { 1 };
        catch_up(lab, &node, n, rounds, st, stn, report).await?;
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
