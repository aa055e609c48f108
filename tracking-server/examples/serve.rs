//! The tracking server and web UI without the `mltrack` CLI, so benchmarks can run an optimised
//! server without building the model crates: `cargo run --release -p tracking-server --example serve
//! -- sqlite:////path/mlruns.db 5000`.

use tracking_server::config::ServerConfig;
use tracking_server::startup::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let backend_store_uri = args.next().unwrap_or_else(|| "sqlite:///mlruns.db".into());
    let port = args.next().map_or(Ok(5000), |p| p.parse())?;
    let app = Application::build(ServerConfig {
        backend_store_uri,
        port,
        ..ServerConfig::default()
    })
    .await?;
    eprintln!("listening on http://127.0.0.1:{}", app.port());
    app.run_until_stopped().await
}
