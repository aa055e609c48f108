use std::process::ExitCode;

fn main() -> ExitCode {
    client::cli::main()
}
