//! The `mltrack` binary as a user runs it, and its library's shared parts against a live server.
//! One test binary (not one per file): each links the whole server, and disk and link time add up.

mod binary;
mod common;
mod exit_status;
mod tracked_run;
