fn main() -> std::process::ExitCode {
    mltrack::main()
}
