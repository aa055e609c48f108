//! Data and prediction drift with Evidently's default test selection (issue 7). Not built yet; the crate
//! exists so the workspace layout is fixed.
