//! `cimjob`: the job service (`cimjob serve`) and the CLI that talks to it over HTTP.

mod api;
mod auth;
mod cli;
mod client;
mod config;
mod http_server;
mod indications;
mod notify;
mod processes;
mod retry;
mod serve;
mod tls;
mod wbem;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cimjob",
    version,
    about = "A DMTF CIM_ConcreteJob service: run commands as jobs, control them, watch them."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (HTTP on 127.0.0.1:5988, jobs in an embedded SQLite database).
    Serve(serve::ServeArgs),
    /// Submit a command as a job.
    Submit(Box<cli::SubmitArgs>),
    /// List jobs.
    List(cli::ListArgs),
    /// Show every property of a job, and its runs.
    Show(cli::ShowArgs),
    /// Follow a job with a progress bar until it ends.
    Watch(cli::JobArg),
    /// Suspend a job (SIGSTOP to its processes; a job not yet started is held).
    Suspend(cli::JobArg),
    /// Resume a suspended or held job (Start: SIGCONT).
    Resume(cli::JobArg),
    /// Terminate a job: SIGTERM, then SIGKILL after the timeout.
    Terminate(cli::TerminateArgs),
    /// Kill a job: SIGKILL at once.
    Kill(cli::KillArgs),
    /// Change writable properties of a job (ModifyInstance): NAME=VALUE, or NAME alone for NULL.
    Set(cli::SetArgs),
    /// Delete a finished job.
    Rm(cli::JobArg),
    /// Answer the question a job is waiting on (Query Pending).
    Answer(cli::AnswerArgs),
    /// Manage the service's users (in its data dir; a running service picks changes up).
    #[command(subcommand)]
    User(cli::UserCommand),
    /// (Used by the service) drop to an OS account and exec a job's command.
    #[command(name = "internal-exec-as", hide = true)]
    InternalExecAs {
        /// The OS account
        user: String,
        /// The command and its arguments
        #[arg(last = true, required = true)]
        argv: Vec<String>,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // before any thread exists: drop privileges, then become the job's command
    if let Command::InternalExecAs { user, argv } = &cli.command {
        return exec_as(user, argv);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cimjob: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await.map(|()| 0),
            Command::Submit(args) => cli::submit(*args).await,
            Command::List(args) => cli::list(args).await,
            Command::Show(args) => cli::show(args).await,
            Command::Watch(args) => cli::watch(args).await,
            Command::Suspend(args) => cli::state_change(args, 3, None).await,
            Command::Resume(args) => cli::state_change(args, 2, None).await,
            Command::Terminate(args) => cli::terminate(args).await,
            Command::Kill(args) => cli::kill(args).await,
            Command::Set(args) => cli::set(args).await,
            Command::Rm(args) => cli::remove(args).await,
            Command::Answer(args) => cli::answer(args).await,
            Command::User(command) => cli::user(command),
            Command::InternalExecAs { .. } => unreachable!("handled before the runtime starts"),
        }
    });
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("cimjob: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The OS account the service runs as: the Owner of jobs until authentication lands, and
/// the account jobs run as.
pub fn service_user() -> String {
    let uid = nix::unistd::geteuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |u| u.name)
}

/// Becomes `argv` running as the OS account `user`: supplementary groups, then group, then
/// user, checked so that root cannot be regained, then exec. The runner starts jobs of other
/// accounts through this (posix_spawn cannot change the user). On failure the reason goes to
/// the job's log and the exit status is 127, like a shell's "cannot run".
fn exec_as(user: &str, argv: &[String]) -> std::process::ExitCode {
    use nix::unistd::{execvp, initgroups, setgid, setuid, Uid, User};
    use std::ffi::CString;
    let fail = |what: &str| {
        eprintln!("cimjob: cannot run the job as {user:?}: {what}");
        std::process::ExitCode::from(127)
    };
    let account = match User::from_name(user) {
        Ok(Some(a)) => a,
        Ok(None) => return fail("there is no such OS account"),
        Err(e) => return fail(&format!("looking the account up failed: {e}")),
    };
    let Ok(name) = CString::new(user) else {
        return fail("the name holds a NUL byte");
    };
    if let Err(e) = initgroups(&name, account.gid) {
        return fail(&format!("initgroups: {e}"));
    }
    if let Err(e) = setgid(account.gid) {
        return fail(&format!("setgid: {e}"));
    }
    if let Err(e) = setuid(account.uid) {
        return fail(&format!("setuid: {e}"));
    }
    if !account.uid.is_root() && setuid(Uid::from_raw(0)).is_ok() {
        return fail("root could be regained after setuid");
    }
    // single-threaded here: setting the environment is safe
    std::env::set_var("HOME", &account.dir);
    std::env::set_var("USER", user);
    std::env::set_var("LOGNAME", user);
    let args: Result<Vec<CString>, _> = argv.iter().map(|a| CString::new(a.as_str())).collect();
    let Ok(args) = args else {
        return fail("an argument holds a NUL byte");
    };
    let Some(program) = args.first() else {
        return fail("no command");
    };
    let err = execvp(program, &args).unwrap_err();
    fail(&format!("cannot execute {:?}: {err}", argv[0]))
}
