//! The Airbnb price model (issue 5): string indexer, vector assembler, and a random-forest regressor with
//! Spark ML semantics, tuned by TPE search. Not built yet; the crate exists so the workspace layout is fixed.
