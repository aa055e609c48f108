//! The seed's daily loop over a season, as a user runs it: a model trained on the gold data and
//! registered in Production, 90 dated batches resampled from the same data (from day 60 two
//! numerical columns shift and new neighbourhoods appear; day 75 breaks a `fail` expectation),
//! `mltrack monitor` over the folder with alert mails to an SMTP relay that demands STARTTLS and a
//! login. Then: a second run does nothing, the monitoring page tells the story (checked in its
//! HTML, and in Chromium with and without JavaScript), and the relay holds exactly the alerts.

use crate::monitor_cli::{monitor_env, replace_f64, replace_str, text};
use e2e::tables::write_parquet;
use e2e::{mltrack_bin, pytest_at, python, workspace_root, Server};
use polars::prelude::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DAYS: u32 = 90;
const ROWS: usize = 2000;
const SHIFT_DAY: u32 = 60;
const FAIL_DAY: u32 = 75;
/// New neighbourhoods (unseen by the model) and the day each first appears.
const NEW_PLACES: [(&str, u32); 2] = [("Treasure Island", 60), ("Hunters Point Shipyard", 66)];
const MODEL: &str = "airbnb-price";

const EXPECTATIONS: &str = r#"
[[expect]]
name = "bedrooms_not_negative"
column = "bedrooms"
min = 0
policy = "fail"

[[expect]]
name = "price_is_a_number"
column = "price"
type = "number"
policy = "fail"
"#;

/// Day `day` (1-based) of the season that starts on 2026-09-01.
fn date(day: u32) -> String {
    match day {
        1..=30 => format!("2026-09-{day:02}"),
        31..=61 => format!("2026-10-{:02}", day - 30),
        _ => format!("2026-11-{:02}", day - 61),
    }
}

/// The gold data to train on and resample from. A generated table's price is noise; tie it to
/// `accommodates` as the real prices are, so that the shift below moves the predictions too.
fn gold() -> DataFrame {
    let mut df = table_reader::read_table(&e2e::gold_data(), &[]).expect("gold data reads");
    if !e2e::has_real_gold_data() {
        let accommodates: Vec<f64> = df
            .column("accommodates")
            .unwrap()
            .cast(&DataType::Float64)
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or(0.0))
            .collect();
        replace_f64(&mut df, "price", |i, _| {
            20.0 + accommodates[i] * 25.0 + (i % 9) as f64
        });
    }
    df
}

/// `ROWS` rows drawn with replacement (seeded by the day), then the season's events.
fn batch(gold: &DataFrame, day: u32) -> DataFrame {
    let mut state = u64::from(day).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let n = gold.height() as u64;
    let rows: Vec<IdxSize> = (0..ROWS)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n) as IdxSize
        })
        .collect();
    let mut df = gold.take(&IdxCa::from_vec("rows".into(), rows)).unwrap();
    if day >= SHIFT_DAY {
        replace_f64(&mut df, "accommodates", |_, v| v + 6.0);
        replace_f64(&mut df, "review_scores_rating", |_, v| v - 25.0);
    }
    for (k, (place, first)) in NEW_PLACES.iter().enumerate() {
        if day >= *first {
            let every = 12 + 3 * k;
            replace_str(&mut df, "neighbourhood_cleansed", |i| i % every == k, place);
        }
    }
    if day == FAIL_DAY {
        replace_f64(&mut df, "bedrooms", |i, v| if i == 3 { -1.0 } else { v });
    }
    df
}

/// The relay (`tests/python/smtp_sink.py`): its port, and the process, stopped by dropping stdin.
struct Relay {
    child: Child,
    port: u16,
}

impl Relay {
    fn start(dir: &Path, implicit_tls: bool) -> Self {
        let mut child = Command::new(python())
            .arg(workspace_root().join("tests/python/smtp_sink.py"))
            .args(["--out", dir.to_str().unwrap()])
            .args(["--user", "monitor", "--password", "s3cret"])
            .args(implicit_tls.then_some("--implicit-tls"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the SMTP relay starts (aiosmtpd in the test venv)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("ready ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the relay did not start: {line:?}"));
        Relay { child, port }
    }

    /// The mails received, once `n` have arrived (or after a minute, whatever came).
    fn mails(dir: &Path, n: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_mins(1);
        loop {
            let mut files: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            if files.len() >= n || Instant::now() > deadline {
                files.sort();
                return files
                    .iter()
                    .map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())
                    .collect();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[test]
fn a_season_of_daily_batches_is_monitored_once_mailed_and_shown_on_the_page() {
    let server = Server::start(None, &[]);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let cache = w.join("cache");
    let gold = gold();
    let train_data = w.join("train.parquet");
    write_parquet(&gold, &train_data);
    let train = Command::new(mltrack_bin())
        .args(["train", "--data", train_data.to_str().unwrap()])
        .args([
            "--max-evals",
            "1",
            "--register",
            MODEL,
            "--stage",
            "Production",
        ])
        .args(["--tracking-uri", &server.url])
        .args(["--out", w.join("model").to_str().unwrap()])
        .env("MLTRACK_LOG", "warn")
        .output()
        .unwrap();
    assert!(train.status.success(), "{:?}", text(&train));

    let input = w.join("gold");
    std::fs::create_dir(&input).unwrap();
    for day in 1..=DAYS {
        write_parquet(
            &batch(&gold, day),
            &input.join(format!("{}.parquet", date(day))),
        );
    }
    let rules = w.join("expect.toml");
    std::fs::write(&rules, EXPECTATIONS).unwrap();
    let mailbox = w.join("mailbox");
    let relay = Relay::start(&mailbox, false);
    let smtp = format!("smtp://monitor@localhost:{}", relay.port);
    let out = w.join("out");
    let args = [
        "--model",
        &format!("models:/{MODEL}/Production"),
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--expect",
        rules.to_str().unwrap(),
        "--tracking-uri",
        &server.url,
        "--smtp-url",
        &smtp,
        "--mail-to",
        "oncall@example.com",
        "--mail-from",
        "mltrack@example.com",
    ];
    let cert = mailbox.join("cert.pem");
    let env = [
        ("MLTRACK_SMTP_PASSWORD", "s3cret"),
        // The relay's self-signed certificate is the only one trusted.
        ("SSL_CERT_FILE", cert.to_str().unwrap()),
    ];
    let first = monitor_env(&args, &cache, &env);
    let (stdout, stderr) = text(&first);
    assert_eq!(first.status.code(), Some(3), "{stdout}\n{stderr}");
    let alerting = DAYS - SHIFT_DAY + 1;
    assert!(
        stdout.contains(&format!(
            "{DAYS} new batches (1 failed, {} with drift)",
            alerting - 1
        )),
        "{stdout}\n{stderr}"
    );
    let again = monitor_env(&args, &cache, &env);
    assert_eq!(again.status.code(), Some(0), "{:?}", text(&again));
    assert!(
        text(&again).0.contains(&format!(
            "0 new batches (0 failed, 0 with drift), {DAYS} already processed"
        )),
        "{:?}",
        text(&again)
    );

    check_mails(&Relay::mails(&mailbox, alerting as usize), &server.url);
    drop(relay);
    check_page(&server.url);
    if e2e::chromium_or_skip() {
        let days = serde_json::json!({
            "model": MODEL,
            "days": DAYS,
            "shift": date(SHIFT_DAY),
            "failed": date(FAIL_DAY),
            "last": date(DAYS),
            "new_place": NEW_PLACES[0].0,
        })
        .to_string();
        let (ok, output) = pytest_at(
            "tests/ui/monitoring_page.py",
            &server.url,
            &[("MLTRACK_MONITORED", days.as_str())],
        );
        assert!(ok, "the monitoring page in Chromium:\n{output}");
    }
}

fn check_mails(mails: &[serde_json::Value], url: &str) {
    let subjects: Vec<&str> = mails
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    let mut expected: Vec<String> = (SHIFT_DAY..=DAYS)
        .map(|day| {
            let what = if day == FAIL_DAY {
                "failed expectation"
            } else {
                "drift"
            };
            format!("[mltrack] {what} in {MODEL} v1 on {}", date(day))
        })
        .collect();
    let mut got: Vec<String> = subjects.iter().map(|s| (*s).to_string()).collect();
    expected.sort();
    got.sort();
    assert_eq!(
        got, expected,
        "one alert per drifted or failed day, no other"
    );
    for m in mails {
        assert_eq!(m["tls"], true, "STARTTLS was used: {m}");
        assert_eq!(m["authenticated"], true, "the relay's login was used: {m}");
        assert_eq!(m["to"], serde_json::json!(["oncall@example.com"]));
        assert_eq!(m["from"], "mltrack@example.com");
    }
    let body = |day: u32| {
        mails
            .iter()
            .find(|m| m["subject"].as_str().unwrap().ends_with(&date(day)))
            .map(|m| m["body"].as_str().unwrap().to_string())
            .unwrap()
    };
    let shifted = body(SHIFT_DAY);
    for part in [
        format!("Model:  {MODEL} v1"),
        format!("Batch:  {} ({}.parquet)", date(SHIFT_DAY), date(SHIFT_DAY)),
        "  - accommodates: ".to_string(),
        "Prediction drift: DETECTED".to_string(),
        "Multivariate drift: DETECTED (domain classifier ROC AUC ".to_string(),
        "  - neighbourhood_cleansed: \"Treasure Island\" × ".to_string(),
        format!("Page:   {url}/models/{MODEL}/monitoring"),
        format!("{url}/experiments/"),
    ] {
        assert!(shifted.contains(&part), "{part:?} missing from:\n{shifted}");
    }
    let failed = body(FAIL_DAY);
    assert!(
        failed.contains("bedrooms_not_negative"),
        "the failed rule is named:\n{failed}"
    );
}

/// The page as a browser without JavaScript gets it.
fn check_page(url: &str) {
    let http = reqwest::blocking::Client::new();
    let page = http
        .get(format!("{url}/models/{MODEL}/monitoring"))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
    assert_eq!(html.matches("<tr data-date=").count(), DAYS as usize);
    for day in 1..=DAYS {
        let status = match day {
            FAIL_DAY => "failed",
            d if d >= SHIFT_DAY => "drift",
            _ => "ok",
        };
        let row = format!(r#"<tr data-date="{}" data-status="{status}">"#, date(day));
        assert!(html.contains(&row), "day {day} is not {status}");
    }
    // The shifted columns drift from day 60 on, around the failed day that has no numbers.
    for column in ["accommodates", "review_scores_rating"] {
        let start = html
            .find(&format!(r#"<g data-column="{column}">"#))
            .unwrap_or_else(|| panic!("no heatmap row for {column}"));
        let group = &html[start..start + html[start..].find("</g>").unwrap()];
        let spans: Vec<(&str, &str)> = group
            .match_indices(r#"class="hm-drift" data-from=""#)
            .map(|(i, m)| {
                let rest = &group[i + m.len()..];
                (&rest[..10], &rest[21..31])
            })
            .collect();
        let (shift, failed) = (date(SHIFT_DAY), date(FAIL_DAY));
        let (before, after) = (date(FAIL_DAY - 1), date(FAIL_DAY + 1));
        assert_eq!(
            spans,
            vec![
                (shift.as_str(), before.as_str()),
                (after.as_str(), date(DAYS).as_str())
            ],
            "{column}: drift flags {spans:?}; {failed} failed"
        );
    }
    for (place, day) in NEW_PLACES {
        let row = format!(
            r#"<tr><td>neighbourhood_cleansed</td><td class="wrap">{place}</td><td>{}</td><td>{}</td>"#,
            date(day),
            date(DAYS)
        );
        assert!(html.contains(&row), "{place} first seen on day {day}");
    }
    assert!(html.contains("bedrooms_not_negative"), "day 75's reason");
    for chart in [
        "chart-rows",
        "chart-share",
        "chart-prediction",
        "chart-multivariate",
    ] {
        assert!(html.contains(&format!(r#"id="{chart}""#)), "{chart}");
    }
    let model = http
        .get(format!("{url}/models/{MODEL}"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(model.contains(&format!(r#"href="/models/{MODEL}/monitoring""#)));
}

/// `smtps://`: TLS from the first byte, then the login. (A relay that refuses is
/// `monitor_watch::an_undeliverable_mail_tags_the_run_and_loses_nothing`.)
#[test]
fn alert_mails_go_over_implicit_tls_with_a_login() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let train_data = w.join("train.parquet");
    crate::monitor_cli::training_data(&train_data);
    let train = Command::new(mltrack_bin())
        .args([
            "train",
            "--data",
            train_data.to_str().unwrap(),
            "--max-evals",
            "1",
        ])
        .args(["--out", w.join("model").to_str().unwrap()])
        .env("MLTRACK_LOG", "warn")
        .output()
        .unwrap();
    assert!(train.status.success(), "{:?}", text(&train));
    let input = w.join("gold");
    std::fs::create_dir(&input).unwrap();
    let mailbox = w.join("mailbox");
    let relay = Relay::start(&mailbox, true);
    let cert = mailbox.join("cert.pem");
    let smtp = format!("smtps://monitor@localhost:{}", relay.port);
    let model = w.join("model");
    let out = w.join("out");
    let run = |day: u32| {
        let date = crate::monitor_cli::date(day);
        write_parquet(
            &crate::monitor_cli::batch(day),
            &input.join(format!("{date}.parquet")),
        );
        monitor_env(
            &[
                "--model",
                model.to_str().unwrap(),
                "--input",
                input.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--smtp-url",
                &smtp,
                "--mail-to",
                "oncall@example.com",
            ],
            &w.join("cache"),
            &[
                ("MLTRACK_SMTP_PASSWORD", "s3cret"),
                ("SSL_CERT_FILE", cert.to_str().unwrap()),
            ],
        )
    };
    // Day 7 drifts: one mail, over TLS, after the login.
    let sent = run(7);
    assert_eq!(sent.status.code(), Some(3), "{:?}", text(&sent));
    let mails = Relay::mails(&mailbox, 1);
    assert_eq!(mails.len(), 1, "{:?}", text(&sent));
    assert_eq!(mails[0]["tls"], true);
    assert_eq!(mails[0]["authenticated"], true);
    assert!(mails[0]["subject"]
        .as_str()
        .unwrap()
        .starts_with("[mltrack] drift in "));
    drop(relay);
}
