//! Sections 1–4: publish→notify, fan-out, catch-up, discovery, each against
//! one Prosody (SQL or memory storage), for gridlink, slixmpp, the raw
//! ceiling and (section 1) the tokio-xmpp floor; section 3's catch-up
//! itself is in `catchup.rs`.

use std::time::Instant;

use anyhow::bail;
use futures::stream::{self, StreamExt, TryStreamExt};

use gridlink::grid::{AccessModel, Grid, TopicOptions};
use gridlink::lab::Storage;

use crate::fetch;
use crate::flow::{flow, fmt_ratios, Client, Flow, Paired};
use crate::lab::{lab, names, Ctx, Lab};
use crate::measure::{gl_config, median};
use crate::payloads::{self, Item};
use crate::report::{thousands, Report};
use crate::settings::Settings;

fn fmt_flow(f: &Flow) -> String {
    format!("{:.0} items/s", f.rate)
}

/// Sections 1–4 on one storage.
pub async fn run(
    ctx: &Ctx,
    s: &Settings,
    storage: Storage,
    prepared: &[Item],
    report: &mut Report,
) -> anyhow::Result<()> {
    // How sections and the first-screen table name the storage.
    let (st, stn) = names(storage);
    let items = &prepared[..s.items];
    let lab = lab(storage, s.fanout_subs.max(1), 100_000).await?;
    let all = ctx.dir.join("items.jsonl");
    let fan = ctx.dir.join("fanout.jsonl");
    payloads::save(items, &all)?;
    payloads::save(&items[..s.fanout_items.min(items.len())], &fan)?;
    let n = items.len();
    let sec1 = format!("1 publish→notify ({st})");

    let pairs = Paired::run(ctx, &lab, &all, n, s.flow_rounds).await?;
    let (rawf, glf) = pairs.median_pair();
    let (rawf, glf) = (rawf.clone(), glf.clone());
    let (rates, brokers) = (pairs.rate_ratios(), pairs.broker_ratios());
    let (rate, broker) = (median(&mut rates.clone()), median(&mut brokers.clone()));
    report.add(&sec1, "raw ceiling: throughput", fmt_flow(&rawf));
    report.print_last();
    let flf = flow(ctx, &lab, Client::Floor, "floor-full", &all, n, 0.0, 1).await?;
    let slf = flow(ctx, &lab, Client::Slixmpp, "slix-full", &all, n, 0.0, 1).await?;
    let rounds = format!("raw and gridlink alternated, {} pairs", rates.len());
    report.add(
        &sec1,
        &format!("gridlink ÷ raw throughput, each pair ({rounds})"),
        fmt_ratios(&rates),
    );
    report.add(
        &sec1,
        "gridlink ÷ raw Prosody CPU per item, each pair",
        fmt_ratios(&brokers),
    );
    report.print_last();
    report
        .add(&sec1, "tokio-xmpp floor: throughput", fmt_flow(&flf))
        .ceiling(flf.rate / rawf.rate);
    report.print_last();
    report
        .add(&sec1, "gridlink: throughput", fmt_flow(&glf))
        .ceiling(rate)
        .peer(glf.rate / slf.rate)
        .target("≥ 0.95× ceiling", rate >= 0.95)
        .headline(
            format!("publish→notify throughput, {stn}"),
            format!(
                "{} (median pair; pairs {})",
                fmt_flow(&glf),
                fmt_ratios(&rates)
            ),
            format!("raw ceiling {}", fmt_flow(&rawf)),
            Some(rate),
        );
    report.print_last();
    report
        .add(&sec1, "slixmpp: throughput", fmt_flow(&slf))
        .ceiling(slf.rate / rawf.rate);
    report.print_last();
    for (who, f) in [
        ("raw ceiling", &rawf),
        ("tokio-xmpp floor", &flf),
        ("gridlink", &glf),
        ("slixmpp", &slf),
    ] {
        report.add(
            &sec1,
            &format!("{who}: latency at full load (window 32)"),
            format!("p50 {:.1} ms, p99 {:.1} ms", f.p50, f.p99),
        );
    }
    let half = rawf.rate / 2.0;
    let rawh = flow(ctx, &lab, Client::Raw, "raw-half", &all, n, half, 1).await?;
    let glh = flow(ctx, &lab, Client::Gridlink, "gl-half", &all, n, half, 1).await?;
    report.add(
        &sec1,
        &format!("raw ceiling: latency at half load ({half:.0}/s)"),
        format!("p50 {:.2} ms, p99 {:.2} ms", rawh.p50, rawh.p99),
    );
    report
        .add(
            &sec1,
            &format!("gridlink: latency at half load ({half:.0}/s)"),
            format!("p50 {:.2} ms, p99 {:.2} ms", glh.p50, glh.p99),
        )
        .ceiling(glh.p99 / rawh.p99)
        .target("p99 ≤ 1.5× ceiling", glh.p99 <= 1.5 * rawh.p99)
        .headline(
            format!("p99 latency at half load, {stn}"),
            format!("{:.2} ms", glh.p99),
            format!("raw ceiling {:.2} ms", rawh.p99),
            Some(glh.p99 / rawh.p99),
        );
    report.print_last();
    for (stretch, p50, p99) in glh.hops.iter().filter(|h| h.1.is_finite()) {
        report.add(
            &sec1,
            &format!("gridlink at half load, {stretch}"),
            format!("p50 {p50:.2} ms, p99 {p99:.2} ms"),
        );
        report.print_last();
    }
    let gl_cpu = glf.pub_cpu + glf.sub_cpu;
    let sl_cpu = slf.pub_cpu + slf.sub_cpu;
    report
        .add(
            &sec1,
            "gridlink: client CPU per item",
            format!(
                "{gl_cpu:.0} µs (publisher {:.0} + subscriber {:.0})",
                glf.pub_cpu, glf.sub_cpu
            ),
        )
        .peer(gl_cpu / sl_cpu)
        .target("≤ 0.1× slixmpp", gl_cpu <= 0.1 * sl_cpu)
        .headline(
            format!("client CPU per item, publisher + subscriber, {stn}"),
            format!("{gl_cpu:.0} µs"),
            format!("slixmpp {sl_cpu:.0} µs"),
            Some(gl_cpu / sl_cpu),
        );
    report.print_last();
    report.add(
        &sec1,
        "slixmpp: client CPU per item",
        format!(
            "{sl_cpu:.0} µs (publisher {:.0} + subscriber {:.0})",
            slf.pub_cpu, slf.sub_cpu
        ),
    );
    let fl_cpu = flf.pub_cpu + flf.sub_cpu;
    report
        .add(
            &sec1,
            "tokio-xmpp floor: client CPU per item",
            format!(
                "{fl_cpu:.0} µs (publisher {:.0} + subscriber {:.0})",
                flf.pub_cpu, flf.sub_cpu
            ),
        )
        .peer(fl_cpu / sl_cpu);
    report.print_last();
    report.add(
        &sec1,
        "raw ceiling: client CPU per item",
        format!(
            "{:.0} µs (publisher {:.0} + reader {:.0})",
            rawf.pub_cpu + rawf.sub_cpu,
            rawf.pub_cpu,
            rawf.sub_cpu
        ),
    );
    report.add(
        &sec1,
        "Prosody CPU per item (raw / floor / gridlink / slixmpp runs)",
        format!(
            "{:.0} / {:.0} / {:.0} / {:.0} µs",
            rawf.broker_cpu, flf.broker_cpu, glf.broker_cpu, slf.broker_cpu
        ),
    );
    // Issue 22: the work gridlink's sessions make the broker do, per item,
    // against the raw client's (Prosody's utime + stime from /proc/PID/stat
    // over each run, `flow::proc_cpu`).
    report
        .add(
            &sec1,
            "gridlink: Prosody CPU per item",
            format!("{:.0} µs", glf.broker_cpu),
        )
        .ceiling(broker)
        .target("≤ 1.05× ceiling", broker <= 1.05)
        .headline(
            format!("broker (Prosody) CPU per item, gridlink's sessions, {stn}"),
            format!(
                "{:.0} µs (median pair; pairs {})",
                glf.broker_cpu,
                fmt_ratios(&brokers)
            ),
            format!("raw client {:.0} µs", rawf.broker_cpu),
            Some(broker),
        );
    report.print_last();

    if s.fanout_subs > 0 {
        let fi = s.fanout_items.min(n);
        fan_out(ctx, s, &lab, (&fan, fi), st, stn, report).await?;
    }

    crate::catchup::catch_ups(&lab, s, prepared, st, stn, report).await?;

    // 4. Discovery.
    let sec4 = format!("4 discovery of {} topics ({st})", s.topics);
    let owner = &lab.owner;
    let opts = TopicOptions {
        access_model: AccessModel::Open,
        ..Default::default()
    };
    let names: Vec<String> = (0..s.topics).map(|i| format!("d{i:05}")).collect();
    stream::iter(names.iter())
        .map(|t| owner.create_topic(t, &opts))
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    let (raw_s, raw_n) = fetch::raw_discover(&lab.account("late"), 16).await?;
    let grid = Grid::connect(gl_config(
        lab.prosody.c2s_port,
        &lab.prosody.ca.ca_pem,
        "sub0",
    )?)
    .await?;
    let t0 = Instant::now();
    let found = grid.discover(false).await?;
    let gl_s = t0.elapsed().as_secs_f64();
    grid.close().await;
    if found.len() < s.topics || raw_n < s.topics {
        bail!(
            "discovery found {} (gridlink) / {raw_n} (raw) topics, expected ≥ {}",
            found.len(),
            s.topics
        );
    }
    report.add(
        &sec4,
        "raw ceiling: disco#items + disco#info each (16 in flight)",
        format!("{raw_s:.2} s ({raw_n} nodes)"),
    );
    report
        .add(
            &sec4,
            "gridlink: discover()",
            format!("{gl_s:.2} s ({} IODEF topics)", found.len()),
        )
        .ceiling(gl_s / raw_s)
        .headline(
            format!("discovery of {} topics, {stn}", thousands(s.topics)),
            format!("{gl_s:.2} s"),
            format!("raw ceiling {raw_s:.2} s"),
            Some(gl_s / raw_s),
        );
    report.print_last();
    lab.owner.close().await;
    Ok(())
}

/// Section 2: one publisher, `s.fanout_subs` subscriber sessions in one
/// process, raw readers against gridlink's.
async fn fan_out(
    ctx: &Ctx,
    s: &Settings,
    lab: &Lab,
    (fan, fi): (&std::path::Path, usize),
    st: &str,
    stn: &str,
    report: &mut Report,
) -> anyhow::Result<()> {
    let sec2 = format!("2 fan-out 1→{} ({st})", s.fanout_subs);
    let rf = flow(
        ctx,
        lab,
        Client::Raw,
        "fan-raw",
        fan,
        fi,
        0.0,
        s.fanout_subs,
    )
    .await?;
    let gf = flow(
        ctx,
        lab,
        Client::Gridlink,
        "fan-gl",
        fan,
        fi,
        0.0,
        s.fanout_subs,
    )
    .await?;
    report.add(
        &sec2,
        &format!("raw ceiling: notifications/s ({fi} items)"),
        format!(
            "{:.0}/s, p50 {:.0} ms, p99 {:.0} ms",
            rf.rate, rf.p50, rf.p99
        ),
    );
    report
        .add(
            &sec2,
            &format!("gridlink: notifications/s ({fi} items)"),
            format!(
                "{:.0}/s, p50 {:.0} ms, p99 {:.0} ms",
                gf.rate, gf.p50, gf.p99
            ),
        )
        .ceiling(gf.rate / rf.rate)
        .target("≥ 0.8× ceiling", gf.rate >= 0.8 * rf.rate)
        .headline(
            format!("fan-out 1→{} notifications/s, {stn}", s.fanout_subs),
            format!("{:.0}/s", gf.rate),
            format!("raw ceiling {:.0}/s", rf.rate),
            Some(gf.rate / rf.rate),
        );
    report.print_last();
    // Where a fan-out notification's CPU goes: the subscriber process and
    // Prosody, per notification (issue 22, deliverable 5).
    report.add(
        &sec2,
        "CPU per notification, subscriber process / Prosody (raw / gridlink runs)",
        format!(
            "raw {:.0} / {:.0} µs, gridlink {:.0} / {:.0} µs",
            rf.sub_cpu, rf.broker_cpu, gf.sub_cpu, gf.broker_cpu
        ),
    );
    report.print_last();
    Ok(())
}

/// `--only fanout`: section 2 alone (a quicker way to measure fan-out
/// changes).
pub async fn fan_out_only(
    ctx: &Ctx,
    s: &Settings,
    storage: Storage,
    items: &[Item],
    report: &mut Report,
) -> anyhow::Result<()> {
    let (st, stn) = names(storage);
    let lab = lab(storage, s.fanout_subs.max(1), 100_000).await?;
    let fan = ctx.dir.join("fanout.jsonl");
    let fi = s.fanout_items.min(items.len());
    payloads::save(&items[..fi], &fan)?;
    fan_out(ctx, s, &lab, (&fan, fi), st, stn, report).await?;
    lab.owner.close().await;
    Ok(())
}
