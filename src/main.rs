//! The `buurtnet` command: one binary with subcommands over the library crates.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
