//! `mltrack server`.

use tracking_server::config::ServerConfig;
use tracking_server::startup::{redact, Application};

pub(crate) fn run(config: ServerConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let store = redact(&config.backend_store_uri);
        let root = config.artifact_root();
        let host = config.host.clone();
        let auth = if config.auth { "on" } else { "off" };
        let app = Application::build(config).await?;
        tracing::info!(
            "mltrack {} listening on http://{host}:{} (store {store}, artifact root {root}/, auth {auth})",
            env!("CARGO_PKG_VERSION"),
            app.port()
        );
        app.run_until_stopped().await
    })
}
