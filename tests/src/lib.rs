//! End-to-end harness: runs the real `mltrack` binary as a user would, on a fresh SQLite file or a
//! fresh PostgreSQL database, and finds the Python interpreter that has the `mlflow` client.

// Test and benchmark fixtures index rows and build values from small counts.
#![allow(
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

pub mod tables;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `mltrack` binary cargo built for this test run (`MLTRACK_BIN` overrides).
pub fn mltrack_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MLTRACK_BIN") {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/e2e-<hash> → target/<profile>/mltrack
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("mltrack");
    assert!(
        bin.exists(),
        "{} not found: run the tests with `cargo test --workspace`",
        bin.display()
    );
    bin
}

/// The Python with `mlflow` installed: `MLTRACK_PYTHON`, else `.venv/bin/python` in the workspace.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("MLTRACK_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with the mlflow client: set MLTRACK_PYTHON or create .venv (see .ci/run)"
    );
    venv
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Whether this run is CI's (`CI=true`), where every dependency must be present.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Records that the running test cannot run here for want of `what` (PostgreSQL, Chromium, moto,
/// the gold data). Under CI that is a failure, never a skip. Elsewhere it is said on stderr and
/// appended to `$MLTRACK_SKIP_LOG`, which `.ci/run` counts and lists at the end of the run, so a
/// skipped test never passes silently.
pub fn skip(what: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    assert!(!under_ci(), "{test}: {what} is required under CI");
    eprintln!("skipped: {test}: {what}");
    if let Some(log) = std::env::var_os("MLTRACK_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "e2e {test}: {what}");
        }
    }
}

/// A fresh PostgreSQL database, or `None` after recording the skip (see [`skip`]).
pub fn pg_database_or_skip() -> Option<String> {
    let db = fresh_pg_database();
    if db.is_none() {
        skip("PostgreSQL (MLTRACK_TEST_PG_URL is not set)");
    }
    db
}

/// Whether headless Chromium is installed; when not, the skip is recorded (see [`skip`]).
pub fn chromium_or_skip() -> bool {
    let path = std::env::var_os("MLTRACK_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let found = path.exists();
    if !found {
        skip(&format!("Chromium ({} not found)", path.display()));
    }
    found
}

/// The Python with pyspark (`MLTRACK_SPARK_PYTHON`, else `.venv-spark/bin/python`, which `.ci/run`
/// fills from `tests/spark/requirements.txt`) when it and a Java runtime are present; otherwise
/// `None` after recording the skip (see [`skip`]).
pub fn spark_python_or_skip() -> Option<PathBuf> {
    let python = std::env::var_os("MLTRACK_SPARK_PYTHON").map_or_else(
        || workspace_root().join(".venv-spark/bin/python"),
        PathBuf::from,
    );
    let java = std::env::var_os("JAVA_HOME").map_or_else(
        || PathBuf::from("java"),
        |home| PathBuf::from(home).join("bin/java"),
    );
    let works = |cmd: &mut Command| {
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !works(Command::new(&java).arg("-version")) {
        skip(&format!("Java ({} -version fails)", java.display()));
        return None;
    }
    if !works(Command::new(&python).args(["-c", "import pyspark"])) {
        skip(&format!("pyspark ({} cannot import it)", python.display()));
        return None;
    }
    Some(python)
}

/// A fresh PostgreSQL database URL, or `None` when `MLTRACK_TEST_PG_URL` is unset.
pub fn fresh_pg_database() -> Option<String> {
    let admin = std::env::var("MLTRACK_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let name = format!(
        "mltrack_e2e_{}_{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ nanos()
    );
    let status = Command::new("psql")
        .args([
            admin.as_str(),
            "-q",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .status()
        .expect("psql runs");
    assert!(status.success(), "could not create database {name}");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// The gold data for the commands' tests: the real file when this machine has it
/// (`MLTRACK_GOLD_DATA`, else `../shared/data/…` beside the checkout), otherwise a seeded table with
/// the gold schema (3,000 rows), written once per test process as a Spark folder of part files like
/// the real one. So the tests of `train`, `score`, `drift` and `monitor` run on any clone; a check that
/// needs the real file's own numbers asks [`has_real_gold_data`] and skips (failing under CI).
pub fn gold_data() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let real = model_core::dataset::gold_data_path();
        if real.exists() {
            return real;
        }
        let folder = std::env::temp_dir()
            .join(format!("mltrack-gold-like-{}", std::process::id()))
            .join("gold-like.parquet");
        let _ = std::fs::remove_dir_all(&folder);
        tables::write_spark_folder(&tables::gold_like(3000, 42, 0.0), &folder, &[1500, 1500]);
        eprintln!(
            "no gold data at `{}`: the commands' tests use a generated table with its schema",
            real.display()
        );
        folder
    })
    .clone()
}

/// Whether [`gold_data`] is the real file (its row count and accuracy checks mean something).
pub fn has_real_gold_data() -> bool {
    model_core::dataset::gold_data_path().exists()
}

/// A running `mltrack server`; killed on drop.
pub struct Server {
    pub url: String,
    pub dir: tempfile::TempDir,
    child: Child,
    logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `mltrack server --port 0` in a temp directory with the given backend store URI
    /// (`None`: the default `sqlite:///mlruns.db` relative to that directory) and waits until ready.
    pub fn start(backend_store_uri: Option<&str>, extra_args: &[&str]) -> Self {
        Self::start_with_env(backend_store_uri, extra_args, &[])
    }

    /// `start` with extra environment variables for the server (`MLTRACK_LOG`, for example).
    pub fn start_with_env(
        backend_store_uri: Option<&str>,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new(mltrack_bin());
        cmd.current_dir(dir.path())
            .args(["server", "--port", "0"])
            .args(extra_args);
        if let Some(uri) = backend_store_uri {
            cmd.args(["--backend-store-uri", uri]);
        }
        let mut child = cmd
            .env("MLTRACK_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mltrack starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let url = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(url);
                }
                eprintln!("[mltrack] {line}");
                kept.lock().unwrap().push(line);
            }
        });
        let url = rx
            .recv_timeout(Duration::from_mins(1))
            .expect("mltrack server announced its address");
        Self {
            url,
            dir,
            child,
            logs,
        }
    }

    /// The server's log lines (stderr) so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`TERM`, `KILL`, …) to the server with `kill(1)`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits up to `timeout` for the server to exit on its own.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs pytest on `tests/python/<target>` against `url`; returns (success, combined output).
pub fn pytest(url: &str, target: &str) -> (bool, String) {
    pytest_at(&format!("tests/python/{target}"), url, &[])
}

/// `pytest` with extra environment variables (credentials, for example).
pub fn pytest_with_env(url: &str, target: &str, env: &[(&str, &str)]) -> (bool, String) {
    pytest_at(&format!("tests/python/{target}"), url, env)
}

/// Runs pytest on `path` (relative to the workspace root) against `url`, with extra environment
/// variables; returns (success, combined output).
pub fn pytest_at(path: &str, url: &str, env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(python())
        .current_dir(workspace_root())
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", path])
        .env("MLTRACK_URL", url)
        .env("MLFLOW_TRACKING_URI", url)
        .env("MLTRACK_STRICT", "1")
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("DO_NOT_TRACK", "true")
        .envs(env.iter().copied())
        .output()
        .expect("pytest runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Debian's Chromium (`MLTRACK_CHROMIUM` overrides); `.ci/run` installs it.
pub fn chromium() -> PathBuf {
    let path = std::env::var_os("MLTRACK_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "{} not found: install Debian's chromium (.ci/run does) or set MLTRACK_CHROMIUM",
        path.display()
    );
    path
}

/// Opens `url` in headless Chromium with the network closed to everything but loopback, and returns
/// the DOM after scripts ran; with `screenshot`, also saves a PNG of the page there.
pub fn chromium_render(url: &str, screenshot: Option<&Path>) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let headless = |extra: &[String]| {
        let out = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--window-size=1280,2000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(url)
            .output()
            .expect("chromium runs");
        assert!(
            out.status.success(),
            "chromium failed on {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    if let Some(png) = screenshot {
        headless(&[format!("--screenshot={}", png.display())]);
        assert!(png.exists(), "no screenshot of {url}");
    }
    headless(&["--dump-dom".to_string()])
}

/// Where tests save screenshots for review: `$CARGO_TARGET_DIR/screenshots` (or `target/…`).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// Runs `mltrack ARGS…` as a user would, with its own model cache, quiet logs and no tracking server
/// from the environment (each test names its server).
pub fn mltrack_cli(args: &[&str], model_cache: &Path) -> std::process::Output {
    Command::new(mltrack_bin())
        .args(args)
        .env(model_core::dataset::GOLD_DATA_ENV, gold_data())
        .env("MLTRACK_MODEL_CACHE", model_cache)
        .env("MLTRACK_LOG", "warn")
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("mltrack runs")
}

/// The active runs of the experiment named `experiment` that match `filter`.
pub fn runs_in(
    client: &client::rest::TrackingClient,
    experiment: &str,
    filter: &str,
) -> Vec<protocol::Run> {
    let exp = client
        .get_experiment_by_name(experiment)
        .expect("experiment lookup")
        .unwrap_or_else(|| panic!("no experiment {experiment}"));
    client
        .search_runs(
            &[&exp.experiment_id],
            filter,
            &[],
            protocol::ViewType::ActiveOnly,
            100,
            None,
        )
        .expect("search runs")
        .items
}
