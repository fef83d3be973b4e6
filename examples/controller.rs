//! A security controller publishing incidents into an XMPP-Grid topic.
//!
//! Connection settings come from the environment (`GRIDLINK_JID`,
//! `GRIDLINK_PASSWORD`, `GRIDLINK_SERVER`, `GRIDLINK_CA_FILE`; `scripts/lab`
//! prints them). Usage: `cargo run --example controller -- TOPIC FILE...`

use gridlink::config::Config;
use gridlink::grid::{Grid, Payload, TopicOptions, DEFAULT_MAX_PAYLOAD};
use gridlink::iodef::ValidationLevel;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let topic = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: controller TOPIC FILE..."))?;
    let grid = Grid::connect(Config::from_env()?).await?;
    // Create the topic on first use; later runs just check it.
    let ensured = grid.ensure_topic(&topic, &TopicOptions::default()).await?;
    for d in &ensured.differences {
        eprintln!("warning: {d}");
    }
    for file in args {
        let bytes = std::fs::read(&file)?;
        let payload = Payload::prepare(&bytes, ValidationLevel::Strict, DEFAULT_MAX_PAYLOAD)?;
        let id = grid.publish(&topic, &payload).await?;
        println!("{id}\t{file}");
    }
    grid.close().await;
    Ok(())
}
