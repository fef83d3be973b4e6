//! A SIEM-style consumer: subscribes to every IODEF topic and prints one JSON
//! object per event (items carry the RFC 8727 JSON under "iodef").
//!
//! Settings from `GRIDLINK_*` variables, as in `controller.rs`.
//! Usage: `cargo run --example siem [-- COUNT]` (COUNT: stop after that many items).

use gridlink::config::Config;
use gridlink::grid::{Grid, GridEvent, TopicSelection};
use gridlink::iodef::ValidationLevel;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count: Option<u64> = std::env::args().nth(1).map(|c| c.parse()).transpose()?;
    let config = Config::from_env()?;
    let grid = Grid::connect(config).await?;
    let mut events = grid
        .subscribe(TopicSelection::AllIodef, ValidationLevel::Basic)
        .await?;
    let mut items = 0;
    while let Some(ev) = events.next().await {
        println!("{}", ev.to_json());
        if matches!(ev, GridEvent::Item { .. }) {
            items += 1;
            if count.is_some_and(|c| items >= c) {
                break;
            }
        }
    }
    grid.close().await;
    Ok(())
}
