//! Logs go to stderr; `RUST_LOG` (or `MLTRACK_LOG`) filters them, `NO_COLOR` turns colours off.

pub fn init() {
    let filter = std::env::var("MLTRACK_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .try_init();
}
