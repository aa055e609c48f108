//! The alert `POST` of `drift --webhook` and `monitor --webhook`, shared so that both commands retry a
//! receiver that is briefly down in the same way, and neither gives up on the first refused connection.

use anyhow::bail;
use std::time::Duration;

/// POSTs `json` with a 10 s timeout, retrying `retries` times with exponential backoff (0.5 s, 1 s,
/// 2 s, …) after a failed connection or a non-2xx answer.
pub(crate) fn post_json(url: &str, json: &str, retries: u32) -> anyhow::Result<()> {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut attempt = 0;
    loop {
        let outcome = http
            .post(url)
            .header("content-type", "application/json")
            .body(json.to_string())
            .send()
            .map_err(anyhow::Error::from)
            .and_then(|r| {
                if r.status().is_success() {
                    Ok(())
                } else {
                    bail!("answered HTTP {}", r.status())
                }
            });
        match outcome {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= retries => return Err(e),
            Err(e) => {
                eprintln!("webhook attempt {} failed: {e:#}; retrying", attempt + 1);
                std::thread::sleep(Duration::from_millis(500 * 2u64.pow(attempt)));
                attempt += 1;
            }
        }
    }
}
