use std::process::ExitCode;

fn main() -> ExitCode {
    mltrack::cli::main()
}
