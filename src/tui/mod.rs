//! The live dashboard (ratatui + crossterm).

use crate::cli::RunConfig;

/// Runs the dashboard until quit or the configured duration.
pub async fn run(_cfg: RunConfig) -> anyhow::Result<()> {
    anyhow::bail!("the dashboard is not built yet; use --headless")
}
