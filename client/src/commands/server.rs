//! `mltrack server`.

use crate::cli::{ServerArgs, ServerCommand};
use tracking_server::config::ServerConfig;
use tracking_server::startup::{redact, Application};

fn regex_arg(pattern: &str) -> anyhow::Result<tracking_server::config::Regex> {
    tracking_server::config::Regex::new(pattern).map_err(|e| {
        anyhow::anyhow!(
            "--model-version-source-regex `{pattern}` is not a valid regular expression: {e}"
        )
    })
}

pub fn run(args: ServerArgs) -> anyhow::Result<()> {
    if let Some(ServerCommand::User(command)) = args.command {
        return crate::commands::user::run(command);
    }
    let config = ServerConfig {
        host: args.host,
        port: args.port,
        backend_store_uri: args.backend_store_uri,
        default_artifact_root: args.default_artifact_root,
        artifacts_destination: args.artifacts_destination,
        serve_artifacts: !args.no_serve_artifacts,
        auth: args.auth,
        max_upload_bytes: args.max_upload_bytes,
        model_version_source_regex: args
            .model_version_source_regex
            .as_deref()
            .map(regex_arg)
            .transpose()?,
    };
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
