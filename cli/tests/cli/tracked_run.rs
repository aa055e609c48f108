//! The run ownership rule `train`, `score` and `drift` share: a run the command created is always
//! ended (FINISHED or FAILED), a run it was given is never ended.

use client::rest::TrackingClient;
use mltrack::tracked_run::{RunTarget, TrackedRun, ERROR_TAG};
use protocol::{Run, RunStatus};

use crate::common;

fn tag<'r>(run: &'r Run, key: &str) -> Option<&'r str> {
    run.data
        .tags
        .iter()
        .find(|t| t.key == key)
        .map(|t| t.value.as_str())
}

#[test]
fn a_given_run_is_never_ended_and_a_created_run_always_is() {
    let server = common::start_server();
    let c = TrackingClient::new(&server.url).unwrap();
    let experiment = c.get_or_create_experiment("caller").unwrap();
    let given = c
        .create_run(&experiment, Some("mine"), &[])
        .unwrap()
        .info
        .run_id;

    // Given: success, failure and an early drop all leave it RUNNING; a failure is still told.
    let run = TrackedRun::open(c.clone(), &RunTarget::Existing(given.clone()), "x", "t").unwrap();
    assert!(!run.created());
    run.finish(Ok(())).unwrap();
    drop(TrackedRun::adopt(c.clone(), &given).unwrap());
    let run = TrackedRun::adopt(c.clone(), &given).unwrap();
    let err = run
        .finish::<()>(Err(anyhow::anyhow!("the input vanished")))
        .unwrap_err();
    assert_eq!(err.to_string(), "the input vanished");
    let back = c.get_run(&given).unwrap();
    assert_eq!(back.info.status, RunStatus::Running);
    assert!(back.info.end_time.is_none());
    assert_eq!(tag(&back, ERROR_TAG), Some("the input vanished"));

    // A run that does not exist is refused before any work.
    let err = TrackedRun::adopt(c.clone(), "0123456789abcdef0123456789abcdef").unwrap_err();
    assert!(format!("{err:#}").contains("cannot log to run"), "{err:#}");

    // Created: FINISHED on success, FAILED with the reason on error, FAILED when dropped unfinished.
    let target = RunTarget::NewIn("jobs".into());
    let ok = TrackedRun::open(c.clone(), &target, "ok", "score").unwrap();
    assert!(ok.created());
    let ok_id = ok.id().to_string();
    assert_eq!(ok.finish(Ok(7)).unwrap(), 7);
    let failed = TrackedRun::create(c.clone(), "jobs", "failed", "drift").unwrap();
    let failed_id = failed.id().to_string();
    let _ = failed.finish::<()>(Err(anyhow::anyhow!("upload refused")));
    let dropped = TrackedRun::create(c.clone(), "jobs", "dropped", "train").unwrap();
    let dropped_id = dropped.id().to_string();
    drop(dropped);

    let ok = c.get_run(&ok_id).unwrap();
    assert_eq!(ok.info.status, RunStatus::Finished);
    assert_eq!(tag(&ok, "mltrack.command"), Some("score"));
    assert_eq!(ok.info.run_name, "ok");
    let failed = c.get_run(&failed_id).unwrap();
    assert_eq!(failed.info.status, RunStatus::Failed);
    assert_eq!(tag(&failed, ERROR_TAG), Some("upload refused"));
    assert_eq!(
        c.get_run(&dropped_id).unwrap().info.status,
        RunStatus::Failed
    );
    assert_eq!(
        c.get_experiment_by_name("jobs")
            .unwrap()
            .unwrap()
            .experiment_id,
        ok.info.experiment_id
    );
}
