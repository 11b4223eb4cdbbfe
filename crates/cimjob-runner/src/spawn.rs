//! Starting a run's leader with `posix_spawnp` instead of fork + exec.
//!
//! The service is a large multi-threaded process; forking it copies its page tables and
//! makes every later write fault (copy-on-write) and shoot down TLBs on every core, which the
//! profile of a burst of job starts showed as most of the service's time. `posix_spawnp`
//! (glibc: `clone(CLONE_VM | CLONE_VFORK)`) copies nothing. Everything the child needs
//! before exec — its own process group, a clean signal mask and default dispositions, stdin
//! from `/dev/null`, stdout and stderr to the run log, the progress socket on descriptor 3,
//! the working directory — is said as spawn attributes and file actions, so no code runs
//! in the child. nix wraps every call but glibc's `addchdir_np`, the one unsafe block here.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::libc;
use nix::spawn::{posix_spawnp, PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags};
use nix::sys::signal::SigSet;
use nix::sys::stat::Mode;
use nix::unistd::Pid;

/// What to start: everything as the child will see it.
pub(super) struct SpawnRequest<'a> {
    /// argv; argv[0] is looked up in PATH.
    pub argv: &'a [String],
    /// Variables added to (or replacing those of) the service's environment.
    pub environment: Vec<(OsString, OsString)>,
    /// The directory to run in, if not the service's.
    pub working_directory: Option<&'a Path>,
    /// Descriptor that becomes the child's stdout and stderr.
    pub output: RawFd,
    /// Descriptor that becomes the child's descriptor `progress_target`.
    pub progress: RawFd,
    /// The descriptor number the work finds the progress socket on.
    pub progress_target: RawFd,
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "an argument or variable contains a NUL byte",
        )
    })
}

fn errno(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

// `add_chdir` reaches glibc through the raw file actions nix wraps; nix declares its type
// `#[repr(transparent)]` over libc's, which this checks stays so.
const _: () = assert!(
    std::mem::size_of::<PosixSpawnFileActions>()
        == std::mem::size_of::<libc::posix_spawn_file_actions_t>()
);

/// Adds a chdir to `dir` to the file actions (glibc's `posix_spawn_file_actions_addchdir_np`,
/// which nix does not wrap).
fn add_chdir(actions: &mut PosixSpawnFileActions, dir: &CString) -> io::Result<()> {
    let raw = (actions as *mut PosixSpawnFileActions).cast::<libc::posix_spawn_file_actions_t>();
    // SAFETY: `raw` points to the initialised file actions nix owns (same layout, checked
    // above); glibc copies the path before returning.
    let ret = unsafe { libc::posix_spawn_file_actions_addchdir_np(raw, dir.as_ptr()) };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(ret))
    }
}

/// Its own process group, no blocked signals, every signal at its default (the service
/// ignores SIGPIPE and tokio blocks some signals in its threads; the work must not inherit
/// either).
fn attributes_for_a_job() -> nix::Result<PosixSpawnAttr> {
    let mut attr = PosixSpawnAttr::init()?;
    attr.set_sigmask(&SigSet::empty())?;
    attr.set_sigdefault(&SigSet::all())?;
    attr.set_pgroup(Pid::from_raw(0))?;
    attr.set_flags(
        PosixSpawnFlags::POSIX_SPAWN_SETPGROUP
            | PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK
            | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF,
    )?;
    Ok(attr)
}

/// The service's environment with `extra` added, later entries winning, as `NAME=value`.
fn environment(extra: &[(OsString, OsString)]) -> io::Result<Vec<CString>> {
    let mut vars: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    for (name, value) in extra {
        vars.retain(|(n, _)| n != name);
        vars.push((name.clone(), value.clone()));
    }
    vars.into_iter()
        .map(|(name, value)| {
            let mut entry = name.into_vec();
            entry.push(b'=');
            entry.extend_from_slice(value.as_bytes());
            cstring(&entry)
        })
        .collect()
}

/// Starts the leader; returns its pid once exec has succeeded (glibc reports an exec
/// failure, such as a missing command, as the error).
pub(super) fn spawn(request: &SpawnRequest<'_>) -> io::Result<Pid> {
    let argv: Vec<CString> = request
        .argv
        .iter()
        .map(|a| cstring(a.as_bytes()))
        .collect::<io::Result<_>>()?;
    let Some(program) = argv.first() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no command"));
    };
    let envp = environment(&request.environment)?;
    let mut actions = PosixSpawnFileActions::init().map_err(errno)?;
    // Order matters when descriptors collide: copy the log and the socket into place first,
    // then open stdin (the log or socket may have been descriptor 0).
    actions.add_dup2(request.output, 1).map_err(errno)?;
    actions.add_dup2(request.output, 2).map_err(errno)?;
    actions
        .add_dup2(request.progress, request.progress_target)
        .map_err(errno)?;
    actions
        .add_open(0, "/dev/null", OFlag::O_RDONLY, Mode::empty())
        .map_err(errno)?;
    if let Some(dir) = request.working_directory {
        add_chdir(&mut actions, &cstring(OsStr::as_bytes(dir.as_os_str()))?)?;
    }
    let attributes = attributes_for_a_job().map_err(errno)?;
    posix_spawnp(program, &actions, &attributes, &argv, &envp).map_err(errno)
}
