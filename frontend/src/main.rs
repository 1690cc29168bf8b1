//! Entry point; see `cli.rs` for the commands and `startup.rs` for the server.

fn main() -> std::process::ExitCode {
    taskflow_frontend::cli::run()
}
