//! `cimjob`: the job service (`cimjob serve`) and the CLI that talks to it over HTTP.

fn main() -> std::process::ExitCode {
    cimjob::commands::main()
}
