//! The `cimjob` command line: its subcommands (clap) and what each runs.

use crate::{cli, serve};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::exec_as::exec_as;

/// `cimjob`'s arguments: one subcommand.
#[derive(Parser)]
#[command(
    name = "cimjob",
    version,
    about = "A DMTF CIM_ConcreteJob service: run commands as jobs, control them, watch them."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (HTTP on 127.0.0.1:5988, jobs in an embedded SQLite database).
    Serve(Box<serve::ServeArgs>),
    /// Submit a command as a job.
    Submit(Box<cli::SubmitArgs>),
    /// List jobs.
    List(cli::ListArgs),
    /// Show every property of a job, and its runs.
    Show(cli::ShowArgs),
    /// Run a scheduled job, or a recurring one between runs, now (it counts as one of its runs).
    #[command(name = "run-now")]
    RunNow(cli::JobArg),
    /// Preview a job's coming runs (-n how many).
    Next(cli::NextArgs),
    /// Follow a job with a progress bar until it ends.
    Watch(cli::JobArg),
    /// Suspend jobs (SIGSTOP to their processes; a job not yet started is held).
    Suspend(cli::JobsArg),
    /// Resume suspended or held jobs (Start: SIGCONT).
    Resume(cli::JobsArg),
    /// Terminate jobs: SIGTERM, then SIGKILL after the timeout.
    Terminate(cli::TerminateArgs),
    /// Kill jobs: SIGKILL at once.
    Kill(cli::KillArgs),
    /// Change writable properties of a job (ModifyInstance): NAME=VALUE, or NAME alone for NULL.
    Set(cli::SetArgs),
    /// Delete finished jobs.
    Rm(cli::JobsArg),
    /// Print a run's output (the last run's unless --run); -f follows it until the run ends.
    Logs(cli::LogsArgs),
    /// Answer the question a job is waiting on (Query Pending).
    Answer(cli::AnswerArgs),
    /// Manage the service's users (in its data dir; a running service picks changes up).
    #[command(subcommand)]
    User(cli::UserCommand),
    /// Print the shell completions of every command and option, e.g.
    /// `cimjob completions bash > /etc/bash_completion.d/cimjob`.
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `cimjob man > /usr/share/man/man1/cimjob.1`.
    Man,
    /// (Used by the service) hold the service's runs in a process of their own, serving it on
    /// a socket in DIR, so they outlive it.
    #[command(hide = true)]
    Supervise {
        /// The supervisors' folder of the data dir
        #[arg(long)]
        dir: std::path::PathBuf,
    },
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

/// Runs the command line `std::env::args` holds and says how it ended.
pub fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // serve's config file gives its options their defaults before clap parses them
    let command = match crate::config_file::apply(Cli::command(), &args) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("cimjob: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match command
        .try_get_matches_from(&args)
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
        Ok(cli) => run(cli),
        Err(e) => e.exit(),
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> std::process::ExitCode {
    // before any thread exists: drop privileges, then become the job's command
    if let Command::InternalExecAs { user, argv } = &cli.command {
        return exec_as(user, argv);
    }
    // made from the same definitions the arguments are parsed with, so they never drift
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "cimjob",
                &mut std::io::stdout(),
            );
            return std::process::ExitCode::SUCCESS;
        }
        Command::Man => {
            return match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("cimjob: cannot write the manual page: {e}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    // before any thread exists too: the supervisor makes its own session and runtime
    if let Command::Supervise { dir } = &cli.command {
        crate::serve::init_logging(crate::serve::LogFormat::Text);
        return cimjob_supervisor::server::main(dir);
    }
    crate::memory::fewer_arenas();
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
            Command::Serve(args) => serve::run(*args).await.map(|()| 0),
            Command::Submit(args) => cli::submit(*args).await,
            Command::List(args) => cli::list(args).await,
            Command::Show(args) => cli::show(args).await,
            Command::Next(args) => cli::next(args).await,
            Command::RunNow(args) => cli::run_now(args).await,
            Command::Watch(args) => cli::watch(args).await,
            Command::Suspend(args) => cli::state_change(args, 3, None).await,
            Command::Resume(args) => cli::state_change(args, 2, None).await,
            Command::Terminate(args) => cli::terminate(args).await,
            Command::Kill(args) => cli::kill(args).await,
            Command::Set(args) => cli::set(args).await,
            Command::Rm(args) => cli::remove(args).await,
            Command::Logs(args) => cli::logs(args).await,
            Command::Answer(args) => cli::answer(args).await,
            Command::User(command) => cli::user(command),
            Command::InternalExecAs { .. }
            | Command::Supervise { .. }
            | Command::Completions { .. }
            | Command::Man => {
                unreachable!("handled before the runtime starts")
            }
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
