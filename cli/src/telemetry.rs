//! Logs go to stderr, filtered and formatted as the environment asks (see `LogSettings`); JSON lines
//! carry the request span's fields for log collectors.

use crate::settings::LogSettings;

pub(crate) fn init(log: &LogSettings) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&log.filter))
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if log.json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.with_ansi(log.ansi).try_init()
    };
}
