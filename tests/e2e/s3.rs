//! `--artifacts-destination s3://bucket/prefix` against a local S3-compatible server (`moto_server`
//! from PyPI, started here): the `mlflow` client's artifact calls work unchanged, big uploads stream
//! as multipart uploads, and a broken or oversized upload leaves no object behind.
//!
//! `moto_server` is found as `MLTRACK_MOTO_SERVER`, next to the test Python, or on `PATH`; without it
//! the tests say so and pass (as the PostgreSQL tests do without `MLTRACK_TEST_PG_URL`).

use e2e::{pytest_with_env, Server};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BUCKET: &str = "mltrack-e2e";

struct Moto {
    url: String,
    child: Child,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MLTRACK_MOTO_SERVER") {
        return Some(PathBuf::from(p));
    }
    let beside_python = e2e::python().with_file_name("moto_server");
    if beside_python.exists() {
        return Some(beside_python);
    }
    let on_path = Command::new("moto_server")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    on_path.then(|| PathBuf::from("moto_server"))
}

fn start_moto() -> Option<Moto> {
    let Some(bin) = moto_binary() else {
        // CI installs moto into the venv (tests/python/requirements.txt): there a skip would hide a
        // broken install, so it fails instead.
        e2e::skip(&format!(
            "moto_server (none beside {}: pip install 'moto[server]' or set MLTRACK_MOTO_SERVER)",
            e2e::python().display()
        ));
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto {
        url: format!("http://127.0.0.1:{port}"),
        child,
    };
    let http = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.put(format!("{}/{BUCKET}", moto.url)).send() {
            assert!(r.status().is_success(), "create bucket: {}", r.status());
            return Some(moto);
        }
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn aws_env(moto: &Moto) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto.url.clone()),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

/// Keys under `prefix` in the bucket, from S3's own listing.
fn keys(moto: &Moto, prefix: &str) -> Vec<String> {
    let xml = reqwest::blocking::get(format!("{}/{BUCKET}?list-type=2&prefix={prefix}", moto.url))
        .unwrap()
        .text()
        .unwrap();
    xml.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(str::to_string)
        .collect()
}

/// Multipart uploads started and neither completed nor aborted.
fn open_uploads(moto: &Moto) -> usize {
    let xml = reqwest::blocking::get(format!("{}/{BUCKET}?uploads", moto.url))
        .unwrap()
        .text()
        .unwrap();
    xml.matches("<UploadId>").count()
}

fn start_server(moto: &Moto, extra: &[&str]) -> Server {
    let env = aws_env(moto);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dest = format!("s3://{BUCKET}/artifacts");
    Server::start_with_env(
        None,
        &[&["--artifacts-destination", dest.as_str()], extra].concat(),
        &env,
    )
}

#[test]
fn the_mlflow_client_stores_artifacts_in_s3() {
    let Some(moto) = start_moto() else { return };
    let server = start_server(&moto, &[]);
    let script = r#"
import hashlib, os, tempfile, mlflow
mlflow.set_experiment("s3")
d = tempfile.mkdtemp()
big = os.path.join(d, "weights.bin")
with open(big, "wb") as f:
    f.write(os.urandom(12 * 1024 * 1024))
with open(os.path.join(d, "notes.txt"), "w") as f:
    f.write("kept in s3")
with mlflow.start_run() as run:
    mlflow.log_artifact(big, artifact_path="model")
    mlflow.log_artifact(os.path.join(d, "notes.txt"))
names = sorted(a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "model"))
out = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=tempfile.mkdtemp())
same = open(os.path.join(out, "model/weights.bin"), "rb").read() == open(big, "rb").read()
print(run.info.experiment_id, run.info.run_id, names, same, open(os.path.join(out, "notes.txt")).read())
"#;
    let out = Command::new(e2e::python())
        .args(["-c", script])
        .env("MLFLOW_TRACKING_URI", &server.url)
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fields: Vec<&str> = stdout
        .trim()
        .lines()
        .last()
        .unwrap()
        .splitn(3, ' ')
        .collect();
    let (exp, run, rest) = (fields[0], fields[1], fields[2]);
    assert_eq!(rest, "['model/weights.bin'] True kept in s3", "{stdout}");
    let mut stored = keys(&moto, "artifacts/");
    stored.sort();
    assert_eq!(
        stored,
        vec![
            format!("artifacts/{exp}/{run}/artifacts/model/weights.bin"),
            format!("artifacts/{exp}/{run}/artifacts/notes.txt"),
        ]
    );
    assert!(
        !server.dir.path().join("mlartifacts").exists(),
        "artifacts went to disk too"
    );

    // The web UI browses the same objects: the tree, a text preview, the raw file, a directory.
    let http = reqwest::blocking::Client::new();
    let page = |path: &str| {
        let r = http
            .get(format!("{}/runs/{run}/artifacts?path={path}", server.url))
            .header("Accept", "text/html")
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (status, html) = page("notes.txt");
    assert_eq!(status, 200, "{html}");
    for shown in ["weights.bin", "notes.txt", "kept in s3"] {
        assert!(
            html.contains(shown),
            "{shown} missing from the artifacts page"
        );
    }
    assert_eq!(page("model").0, 200);
    assert_eq!(page("nope.txt").0, 404);
    let raw = http
        .get(format!(
            "{}/runs/{run}/artifacts/raw?path=model/weights.bin",
            server.url
        ))
        .send()
        .unwrap();
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.bytes().unwrap().len(), 12 * 1024 * 1024);

    // The whole acceptance suite, artifacts and models included, on S3.
    let (passed, output) = pytest_with_env(&server.url, "", &[]);
    assert!(
        passed,
        "the mlflow client suite failed with S3 artifacts:\n{output}"
    );

    // `mltrack gc` deletes a purged run's objects too.
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/2.0/mlflow/runs/delete", server.url))
        .json(&serde_json::json!({"run_id": run}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let store = format!(
        "sqlite:///{}",
        server.dir.path().join("mlruns.db").display()
    );
    let out = Command::new(e2e::mltrack_bin())
        .args(["gc", "--backend-store-uri", &store, "--run-ids", run])
        .args([
            "--artifacts-destination",
            &format!("s3://{BUCKET}/artifacts"),
        ])
        .envs(aws_env(&moto))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("run {run}\n"));
    assert!(keys(&moto, &format!("artifacts/{exp}/{run}/")).is_empty());
}

#[test]
fn broken_and_oversized_uploads_leave_no_object() {
    let Some(moto) = start_moto() else { return };
    let server = start_server(&moto, &["--max-upload-bytes", "9000000"]);
    let proxy = format!("{}/api/2.0/mlflow-artifacts/artifacts", server.url);
    let http = reqwest::blocking::Client::new();

    // The client dies after 6 MB of 8: past the single-PUT buffer, inside a multipart upload.
    let addr = server.url.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "PUT /api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/cut.bin HTTP/1.1\r\n\
         Host: {addr}\r\nContent-Length: 8000000\r\n\r\n"
    )
    .unwrap();
    conn.write_all(&vec![3u8; 6_000_000]).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    drop(conn);

    // Over the limit: refused up front by Content-Length, and counted when streamed without one.
    let r = http
        .put(format!("{proxy}/1/r/artifacts/big.bin"))
        .body(vec![1u8; 9_000_001])
        .send()
        .unwrap();
    assert_eq!(r.status(), 413);
    let chunked = reqwest::blocking::Body::new(std::io::Cursor::new(vec![2u8; 9_500_000]));
    let r = http
        .put(format!("{proxy}/1/r/artifacts/streamed.bin"))
        .body(chunked)
        .send()
        .unwrap();
    assert_eq!(r.status(), 413);

    let deadline = Instant::now() + Duration::from_secs(10);
    while open_uploads(&moto) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(keys(&moto, "artifacts/"), Vec::<String>::new());
    assert_eq!(open_uploads(&moto), 0, "a multipart upload was left open");

    // What fits is stored; directories list and delete as on disk; traversal is refused.
    let r = http
        .put(format!("{proxy}/1/r/artifacts/d/ok.txt"))
        .body("fine")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let listing: serde_json::Value = http
        .get(format!("{proxy}?path=1/r/artifacts"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        listing["files"],
        serde_json::json!([{"path": "d", "is_dir": true}])
    );
    assert_eq!(
        http.get(format!("{proxy}/1/r/artifacts/d/ok.txt"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
        "fine"
    );
    assert_eq!(
        http.get(format!("{proxy}/1/r/artifacts/nope"))
            .send()
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        http.delete(format!("{proxy}/1/r/artifacts/d"))
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(keys(&moto, "artifacts/"), Vec::<String>::new());
    // (HTTP clients resolve `/%2e%2e/` segments themselves; encoded slashes reach the server.)
    for bad in ["..%2F..%2Fx", "1%2F%2e%2e%2F%2e%2e%2Fx", "a%00b"] {
        assert_eq!(
            http.get(format!("{proxy}/{bad}")).send().unwrap().status(),
            400,
            "{bad}"
        );
    }
}
