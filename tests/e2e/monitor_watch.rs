//! `mltrack monitor` as a service: alert mails through a tiny SMTP sink written here (and through a
//! port that refuses them), and `--watch` picking up batches as they land and stopping on SIGTERM.

use crate::monitor_cli::{batch, date, monitor, partition, tag, text, training_data};
use client::rest::TrackingClient;
use e2e::tables::write_parquet;
use e2e::{mltrack_bin, runs_in, Server};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// One model for every test here: trained once, without a server, into a folder named `model`.
fn model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("mltrack-monitor-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("train.parquet");
        training_data(&data);
        let out = Command::new(mltrack_bin())
            .args([
                "train",
                "--data",
                data.to_str().unwrap(),
                "--max-evals",
                "1",
            ])
            .args(["--out", dir.join("model").to_str().unwrap()])
            .env("MLTRACK_LOG", "warn")
            .env_remove("MLFLOW_TRACKING_URI")
            .output()
            .unwrap();
        assert!(out.status.success(), "{:?}", text(&out));
        dir.join("model")
    })
}

/// One message the sink received.
#[derive(Debug)]
struct Mail {
    from: String,
    to: Vec<String>,
    data: String,
}

/// An SMTP server speaking just enough of RFC 5321 for one client: no STARTTLS on offer, every
/// command accepted, every message handed over.
fn smtp_sink() -> (u16, mpsc::Receiver<Mail>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let _ = stream.write_all(b"220 sink ESMTP\r\n");
            let mut mail = Mail {
                from: String::new(),
                to: Vec::new(),
                data: String::new(),
            };
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let upper = line.to_ascii_uppercase();
                let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                    b"250-sink\r\n250 8BITMIME\r\n"
                } else if upper.starts_with("MAIL FROM:") {
                    mail.from = line[10..].trim().to_string();
                    b"250 ok\r\n"
                } else if upper.starts_with("RCPT TO:") {
                    mail.to.push(line[8..].trim().to_string());
                    b"250 ok\r\n"
                } else if upper.starts_with("DATA") {
                    let _ = stream.write_all(b"354 go on\r\n");
                    loop {
                        let mut l = String::new();
                        if reader.read_line(&mut l).unwrap_or(0) == 0 || l == ".\r\n" {
                            break;
                        }
                        mail.data.push_str(&l);
                    }
                    let done = std::mem::replace(
                        &mut mail,
                        Mail {
                            from: String::new(),
                            to: Vec::new(),
                            data: String::new(),
                        },
                    );
                    let _ = tx.send(done);
                    b"250 queued\r\n"
                } else if upper.starts_with("QUIT") {
                    let _ = stream.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"250 ok\r\n"
                };
                let _ = stream.write_all(reply);
            }
        }
    });
    (port, rx)
}

/// Days 1, 7 and 8 in `dir`: the last two drift.
fn gold(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for day in [1, 7, 8] {
        write_parquet(&batch(day), &dir.join(format!("{}.parquet", date(day))));
    }
}

#[test]
fn monitor_mails_one_alert_per_drifting_batch_to_every_recipient() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    gold(&w.join("gold"));
    let (port, mails) = smtp_sink();
    let url = format!("smtp://127.0.0.1:{port}");
    let out = monitor(
        &[
            "--model",
            model().to_str().unwrap(),
            "--input",
            w.join("gold").to_str().unwrap(),
            "--out",
            w.join("out").to_str().unwrap(),
            "--smtp-url",
            &url,
            "--mail-from",
            "monitor@example.com",
            "--mail-to",
            "a@example.com",
            "--mail-to",
            "b@example.com",
        ],
        &w.join("cache"),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(!stderr.contains("warning: alert mail"), "{stderr}");
    let got: Vec<Mail> = mails.try_iter().collect();
    assert_eq!(got.len(), 2, "days 7 and 8 drift, day 1 does not: {got:?}");
    for (mail, day) in got.iter().zip([7, 8]) {
        assert_eq!(mail.from, "<monitor@example.com>");
        assert_eq!(mail.to, ["<a@example.com>", "<b@example.com>"]);
        let subject = format!("Subject: [mltrack] drift in model on {}", date(day));
        assert!(mail.data.contains(&subject), "{}", mail.data);
        for part in [
            "Drifted columns (score / threshold):",
            "accommodates",
            "Top unseen values in skipped rows",
            "neighbourhood_cleansed: \"Treasure Island\"",
        ] {
            assert!(mail.data.contains(part), "{part:?} missing:\n{}", mail.data);
        }
    }
}

#[test]
fn an_undeliverable_mail_tags_the_run_and_loses_nothing() {
    let server = Server::start(None, &[]);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    gold(&w.join("gold"));
    let refused = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://{}", refused.local_addr().unwrap());
    drop(refused);
    let out = monitor(
        &[
            "--model",
            model().to_str().unwrap(),
            "--input",
            w.join("gold").to_str().unwrap(),
            "--out",
            w.join("out").to_str().unwrap(),
            "--tracking-uri",
            &server.url,
            "--smtp-url",
            &url,
            "--mail-to",
            "a@example.com",
        ],
        &w.join("cache"),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(3),
        "still drift\n{stdout}\n{stderr}"
    );
    assert_eq!(
        stderr.matches("warning: alert mail for batch").count(),
        2,
        "{stderr}"
    );
    for day in [1, 7, 8] {
        assert!(partition(&w.join("out"), "predictions", day).is_file());
    }
    let c = TrackingClient::new(&server.url).unwrap();
    let runs = runs_in(&c, "monitoring/model", "");
    assert_eq!(runs.len(), 3);
    for run in &runs {
        let day = tag(run, "mltrack.monitor.date").unwrap();
        let error = tag(run, "mltrack.monitor.mail_error");
        if day == date(1) {
            assert_eq!(error, None, "no alert, no mail");
        } else {
            assert!(
                error.is_some_and(|e| e.contains("3 attempts")),
                "{day}: {error:?}"
            );
        }
    }
}

fn wait_for(path: &Path, timeout: Duration) {
    let start = Instant::now();
    while !path.is_file() {
        assert!(
            start.elapsed() < timeout,
            "`{}` never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn watch_processes_batches_as_they_land_and_stops_on_sigterm() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let gold = w.join("gold");
    let out = w.join("out");
    std::fs::create_dir(&gold).unwrap();
    let log = std::fs::File::create(w.join("stdout")).unwrap();
    let mut child = Command::new(mltrack_bin())
        .args(["monitor", "--model", model().to_str().unwrap()])
        .args([
            "--input",
            gold.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--watch", "--interval", "1s"])
        .env("MLTRACK_MODEL_CACHE", w.join("cache"))
        .env("MLTRACK_LOG", "warn")
        .env_remove("MLFLOW_TRACKING_URI")
        .stdout(log)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for day in [1, 2] {
        write_parquet(&batch(day), &w.join("staging.parquet"));
        std::fs::rename(
            w.join("staging.parquet"),
            gold.join(format!("{}.parquet", date(day))),
        )
        .unwrap();
        wait_for(
            &partition(&out, "predictions", day),
            Duration::from_secs(30),
        );
    }
    // Give a third poll the chance to (wrongly) take a batch again before stopping.
    std::thread::sleep(Duration::from_millis(1500));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(w.join("stdout")).unwrap();
    assert_eq!(status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.matches("poll: 1 new batch:").count(), 2, "{stdout}");
    assert!(
        stdout.contains("2 new batches (0 failed, 0 with drift)"),
        "{stdout}"
    );
    let state = std::fs::read_to_string(out.join("monitor-state.json")).unwrap();
    assert!(
        state.contains(&date(1)) && state.contains(&date(2)),
        "{state}"
    );
}
