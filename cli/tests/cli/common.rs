//! The binary under test, and the one server harness of the workspace's end-to-end tests
//! (`e2e::Server`: `mltrack server` on a fresh SQLite file in a temporary directory).

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_mltrack");

pub(crate) use e2e::Server;

pub(crate) fn start_server() -> Server {
    Server::start(None, &[])
}
