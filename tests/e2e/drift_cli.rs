//! `mltrack drift` as a user runs it: files in, reports out, alerts by exit code and webhook, and the
//! report logged to a run on a live `mltrack server`.

use e2e::{mltrack_bin, Server};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;

/// Reference: x ~ 0..100, city A/B; current: x and the prediction shifted (both drift), city unchanged.
fn write_data(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut reference = String::from("x,city,prediction\n");
    let mut current = String::from("x,city,prediction\n");
    for i in 0..400 {
        let city = if i % 3 == 0 { "A" } else { "B" };
        reference.push_str(&format!("{},{city},{}\n", i % 100, (i % 50) as f64 * 1.5));
        current.push_str(&format!(
            "{},{city},{}\n",
            i % 100 + 60,
            (i % 50) as f64 * 1.5 + 40.0
        ));
    }
    let (r, c) = (dir.join("reference.csv"), dir.join("current.csv"));
    std::fs::write(&r, reference).unwrap();
    std::fs::write(&c, current).unwrap();
    (r, c)
}

/// A one-shot HTTP endpoint that records the body it receives.
fn webhook_sink() -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .unwrap();
        String::from_utf8(body).unwrap()
    });
    (url, handle)
}

#[test]
fn drift_reports_alerts_and_logs_to_a_run() {
    let server = Server::start(None, &[]);
    let dir = tempfile::tempdir().unwrap();
    let (reference, current) = write_data(dir.path());
    let (hook, received) = webhook_sink();
    let out = Command::new(mltrack_bin())
        .args(["drift", "--reference"])
        .arg(&reference)
        .arg("--current")
        .arg(&current)
        .args(["--prediction", "prediction", "--json"])
        .arg(dir.path().join("report.json"))
        .arg("--html")
        .arg(dir.path().join("report.html"))
        .args([
            "--fail-on-drift",
            "--webhook",
            &hook,
            "--experiment",
            "drift-e2e",
            "--tracking-uri",
            &server.url,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "drift must fail the command:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("dataset drift"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["columns"]["x"]["drift_detected"], true);
    assert_eq!(report["columns"]["city"]["drift_detected"], false);
    assert_eq!(report["prediction"]["drift_detected"], true);
    assert_eq!(report["dataset"]["dataset_drift"], true);
    assert_eq!(report["dataset"]["number_of_columns"], 3);
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("<svg"), "the report draws charts");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "the report loads nothing from the network"
    );
    let hooked: serde_json::Value = serde_json::from_str(&received.join().unwrap()).unwrap();
    assert_eq!(hooked["dataset"], report["dataset"]);

    // The run carries the flags, the alert tag and both reports.
    let c = client_for(&server.url);
    let runs = c
        .search_runs(
            &[&experiment_id(&c)],
            "tags.`mltrack.drift.alert` = 'true'",
            &[],
            tracking_server::protocol::ViewType::ActiveOnly,
            10,
            None,
        )
        .unwrap();
    assert_eq!(runs.items.len(), 1);
    let run = &runs.items[0];
    let metric = |k: &str| {
        run.data
            .metrics
            .iter()
            .find(|m| m.key == k)
            .map(|m| m.value)
    };
    assert_eq!(
        metric("drift.dataset_drift"),
        Some(
            report["dataset"]["dataset_drift"]
                .as_bool()
                .map_or(0.0, |b| f64::from(u8::from(b)))
        )
    );
    assert!(metric("drift.score.x").is_some());
    let files = c
        .list_artifacts(&client::rest::TrackingClient::run_artifact_path(run, "drift").unwrap())
        .unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(names, vec!["drift_report.html", "drift_report.json"]);
}

#[test]
fn a_profile_gives_the_same_report_as_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let (reference, current) = write_data(dir.path());
    let profile = dir.path().join("profile.json");
    let status = Command::new(mltrack_bin())
        .args(["drift", "profile", "--reference"])
        .arg(&reference)
        .arg("--out")
        .arg(&profile)
        .status()
        .unwrap();
    assert!(status.success());
    let report = |reference: &std::path::Path, name: &str| {
        let out = dir.path().join(name);
        let status = Command::new(mltrack_bin())
            .args(["drift", "--reference"])
            .arg(reference)
            .arg("--current")
            .arg(&current)
            .arg("--json")
            .arg(&out)
            .status()
            .unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "without --fail-on-drift, drift is not an error"
        );
        std::fs::read_to_string(out).unwrap()
    };
    assert_eq!(report(&reference, "a.json"), report(&profile, "b.json"));
}

#[test]
fn bad_drift_input_is_one_line_and_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (reference, _) = write_data(dir.path());
    let missing = dir.path().join("nope.csv");
    let out = Command::new(mltrack_bin())
        .args(["drift", "--reference"])
        .arg(&reference)
        .arg("--current")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope.csv"), "{err}");
    let out = Command::new(mltrack_bin())
        .args(["drift", "--reference"])
        .arg(&reference)
        .arg("--current")
        .arg(&reference)
        .args(["--stattest", "x=bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bogus"));
}

fn client_for(url: &str) -> client::rest::TrackingClient {
    client::rest::TrackingClient::new(url).unwrap()
}

fn experiment_id(c: &client::rest::TrackingClient) -> String {
    c.get_experiment_by_name("drift-e2e")
        .unwrap()
        .unwrap()
        .experiment_id
}
