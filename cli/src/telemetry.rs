//! Logs go to stderr; `RUST_LOG` (or `MLTRACK_LOG`) filters them, `NO_COLOR` turns colours off, and
//! `MLTRACK_LOG_FORMAT=json` writes one JSON object per line (with the request span's fields) for
//! log collectors.

pub fn init() {
    let filter = std::env::var("MLTRACK_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".to_string());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if std::env::var("MLTRACK_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder
            .with_ansi(std::env::var_os("NO_COLOR").is_none())
            .try_init()
    };
}
