//! Starting a run's leader with `posix_spawnp` instead of fork + exec.
//!
//! The service is a large multi-threaded process; forking it copies its page tables and
//! makes every later write fault (copy-on-write) and shoot down TLBs on every core, which the
//! profile of a burst of job starts showed as most of the service's time. `posix_spawnp`
//! (glibc: `clone(CLONE_VM | CLONE_VFORK)`) copies nothing. Everything the child needs
//! before exec — its own process group, a clean signal mask and default dispositions, stdin
//! from `/dev/null`, stdout and stderr to the run log, the progress socket on descriptor 3,
//! the working directory — is said as spawn attributes and file actions, so no code runs
//! in the child.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use nix::libc;
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

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(ret))
    }
}

struct FileActions(libc::posix_spawn_file_actions_t);

impl FileActions {
    fn new() -> io::Result<FileActions> {
        let mut raw = MaybeUninit::uninit();
        // SAFETY: init writes a valid value into `raw` on success.
        check(unsafe { libc::posix_spawn_file_actions_init(raw.as_mut_ptr()) })?;
        // SAFETY: initialised just above.
        Ok(FileActions(unsafe { raw.assume_init() }))
    }

    fn dup2(&mut self, from: RawFd, to: RawFd) -> io::Result<()> {
        // SAFETY: self.0 is initialised; the call copies its arguments.
        check(unsafe { libc::posix_spawn_file_actions_adddup2(&mut self.0, from, to) })
    }

    fn open(&mut self, fd: RawFd, path: &CString, flags: libc::c_int) -> io::Result<()> {
        // SAFETY: self.0 is initialised; glibc copies the path.
        check(unsafe {
            libc::posix_spawn_file_actions_addopen(&mut self.0, fd, path.as_ptr(), flags, 0)
        })
    }

    fn chdir(&mut self, dir: &CString) -> io::Result<()> {
        // SAFETY: self.0 is initialised; glibc copies the path.
        check(unsafe { libc::posix_spawn_file_actions_addchdir_np(&mut self.0, dir.as_ptr()) })
    }
}

impl Drop for FileActions {
    fn drop(&mut self) {
        // SAFETY: initialised in new(); destroyed once.
        unsafe { libc::posix_spawn_file_actions_destroy(&mut self.0) };
    }
}

struct Attributes(libc::posix_spawnattr_t);

impl Attributes {
    /// Its own process group, no blocked signals, every signal at its default (the service
    /// ignores SIGPIPE and tokio blocks some signals in its threads; the work must not
    /// inherit either).
    fn for_a_job() -> io::Result<Attributes> {
        let mut raw = MaybeUninit::uninit();
        // SAFETY: init writes a valid value into `raw` on success.
        check(unsafe { libc::posix_spawnattr_init(raw.as_mut_ptr()) })?;
        // SAFETY: initialised just above.
        let mut attr = Attributes(unsafe { raw.assume_init() });
        let mut empty = MaybeUninit::<libc::sigset_t>::uninit();
        let mut all = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset/sigfillset initialise the sets; the attr calls copy them.
        unsafe {
            libc::sigemptyset(empty.as_mut_ptr());
            libc::sigfillset(all.as_mut_ptr());
            check(libc::posix_spawnattr_setsigmask(
                &mut attr.0,
                empty.as_ptr(),
            ))?;
            check(libc::posix_spawnattr_setsigdefault(
                &mut attr.0,
                all.as_ptr(),
            ))?;
            check(libc::posix_spawnattr_setpgroup(&mut attr.0, 0))?;
            let flags = libc::POSIX_SPAWN_SETPGROUP
                | libc::POSIX_SPAWN_SETSIGMASK
                | libc::POSIX_SPAWN_SETSIGDEF;
            check(libc::posix_spawnattr_setflags(
                &mut attr.0,
                flags as libc::c_short,
            ))?;
        }
        Ok(attr)
    }
}

impl Drop for Attributes {
    fn drop(&mut self) {
        // SAFETY: initialised in for_a_job(); destroyed once.
        unsafe { libc::posix_spawnattr_destroy(&mut self.0) };
    }
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
    let envp = environment(&request.environment)?;
    let mut actions = FileActions::new()?;
    // Order matters when descriptors collide: copy the log and the socket into place first,
    // then open stdin (the log or socket may have been descriptor 0).
    actions.dup2(request.output, 1)?;
    actions.dup2(request.output, 2)?;
    actions.dup2(request.progress, request.progress_target)?;
    actions.open(0, &cstring(b"/dev/null")?, libc::O_RDONLY)?;
    if let Some(dir) = request.working_directory {
        actions.chdir(&cstring(OsStr::as_bytes(dir.as_os_str()))?)?;
    }
    let attributes = Attributes::for_a_job()?;
    let mut argv_ptrs: Vec<*mut libc::c_char> =
        argv.iter().map(|a| a.as_ptr().cast_mut()).collect();
    argv_ptrs.push(std::ptr::null_mut());
    let mut envp_ptrs: Vec<*mut libc::c_char> =
        envp.iter().map(|e| e.as_ptr().cast_mut()).collect();
    envp_ptrs.push(std::ptr::null_mut());
    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer refers to a live, NUL-terminated CString or a NULL-terminated
    // array of them, all outliving the call; actions and attributes are initialised.
    check(unsafe {
        libc::posix_spawnp(
            &mut pid,
            argv[0].as_ptr(),
            &actions.0,
            &attributes.0,
            argv_ptrs.as_ptr(),
            envp_ptrs.as_ptr(),
        )
    })?;
    Ok(Pid::from_raw(pid))
}
