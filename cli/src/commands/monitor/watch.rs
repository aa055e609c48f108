//! `mltrack monitor --watch`: the same job as a long-running service instead of a cron entry. The
//! input folder is polled (a poll is a directory listing and a few `stat`s, cheap enough for any
//! interval and free of platform file-notification quirks on network mounts); a batch is processed
//! once it stopped changing (see `stable`) and, as in one pass, only when the ledger has not seen
//! it. SIGTERM (a service manager's stop) and Ctrl-C end the loop after the batch in hand, so a
//! batch is never left half-written and the summary and exit status are those of a pass.

use super::batches;
use super::stable::{Fingerprint, Watcher};
use super::Job;
use anyhow::Context as _;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// Polls `input` every `interval` until a stop signal, processing batches as they settle.
pub(super) fn run(job: &mut Job<'_>, input: &Path, interval: Duration) -> anyhow::Result<()> {
    let stop = stop_signal()?;
    let mut watcher = Watcher::default();
    let mut warned = BTreeSet::new();
    let say = |line: String| println!("{line}");
    let warn = |line: String| eprintln!("{line}");
    eprintln!(
        "watching `{}` every {}s (SIGTERM or Ctrl-C stops after the batch in hand)",
        input.display(),
        interval.as_secs()
    );
    loop {
        match batches::folder(input) {
            Err(e) => warn(format!("warning: {e:#}")),
            Ok((found, ignored)) => {
                // The same stray file would otherwise be named again on every poll.
                for why in ignored {
                    if warned.insert(why.clone()) {
                        warn(format!("warning: {why}"));
                    }
                }
                let ready: Vec<_> = found
                    .into_iter()
                    .filter(|b| watcher.ready(&b.name, Fingerprint::of(&b.path)))
                    .collect();
                if !ready.is_empty() {
                    let names: Vec<&str> = ready.iter().map(|b| b.name.as_str()).collect();
                    say(format!(
                        "poll: {} new batch{}: {}",
                        ready.len(),
                        if ready.len() == 1 { "" } else { "es" },
                        names.join(", ")
                    ));
                }
                for batch in &ready {
                    job.batch(batch, &say, &warn)?;
                    if stop.try_recv().is_ok() {
                        return Ok(());
                    }
                }
            }
        }
        match stop.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

/// A channel that receives once SIGTERM or SIGINT arrives. The handlers are tokio's (no unsafe
/// code here), on a thread with its own small runtime, installed before this returns so that a
/// signal from the first moment on is caught rather than killing the process mid-batch.
fn stop_signal() -> anyhow::Result<mpsc::Receiver<()>> {
    let (stop_tx, stop_rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel::<std::io::Result<()>>();
    std::thread::Builder::new()
        .name("monitor-signals".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async move {
                #[cfg(unix)]
                {
                    use tokio::signal::unix::{signal, SignalKind};
                    let streams = signal(SignalKind::terminate())
                        .and_then(|t| Ok((t, signal(SignalKind::interrupt())?)));
                    let (mut term, mut int) = match streams {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                #[cfg(not(unix))]
                {
                    let _ = ready_tx.send(Ok(()));
                    let _ = tokio::signal::ctrl_c().await;
                }
                eprintln!("stopping: finishing the batch in hand");
                let _ = stop_tx.send(());
            });
        })
        .context("cannot start the signal thread")?;
    ready_rx
        .recv()
        .context("the signal thread ended early")?
        .context("cannot install the SIGTERM and Ctrl-C handlers")?;
    Ok(stop_rx)
}
