//! What we learn about a process from the kernel: `/proc/<pid>/stat`, exit notification (pidfd,
//! or SIGCHLD where pidfd is missing) and reaping.
//!
//! Invariant: a run's leader is reaped only after its process group was sent SIGKILL. While the
//! leader is an unreaped zombie its pid, and so its process-group id, cannot be given to another
//! process, so no signal of ours can reach a stranger that got a recycled pid.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::{getpgrp, Pid};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::{ExitOutcome, ProcessIdentity};

/// The fields of `/proc/<pid>/stat` we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stat {
    pub(super) state: char,
    pub(super) start_ticks: u64,
}

/// Reads `/proc/<pid>/stat`; `None` if the process is gone (or `pid` is not a process).
pub(super) fn read_stat(pid: u32) -> Option<Stat> {
    if pid == 0 {
        return None;
    }
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The boot clock in the units of `/proc/<pid>/stat`'s start time (clock ticks since boot):
/// the kernel stamps a new process with this same clock, so a process created between two
/// equal readings started at that tick, and `/proc` need not be read to learn it. `None` if
/// the clock cannot be read (a seccomp filter, say): then `/proc` is the way.
pub(super) fn boot_ticks() -> Option<u64> {
    static NANOS_PER_TICK: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let per_tick = *NANOS_PER_TICK.get_or_init(|| {
        let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .filter(|hz| *hz > 0)
            .unwrap_or(100);
        1_000_000_000 / hz as u64
    });
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME).ok()?;
    let nanos = now.tv_sec() as u64 * 1_000_000_000 + now.tv_nsec() as u64;
    Some(nanos / per_tick)
}

/// The command name (field 2) is in parentheses and may itself hold spaces and `)`, so the
/// fields are counted from the last `)`.
pub(super) fn parse_stat(stat: &str) -> Option<Stat> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?; // field 3
    let start_ticks = fields.nth(18)?.parse().ok()?; // field 22
    Some(Stat { state, start_ticks })
}

/// See [`super::kill_orphan`].
pub(super) fn kill_orphan(identity: ProcessIdentity) -> bool {
    let Ok(raw) = i32::try_from(identity.pid) else {
        return false;
    };
    let pid = Pid::from_raw(raw);
    // Our own process or group can never be an orphan of an earlier service.
    if raw <= 1 || pid == Pid::this() || pid == getpgrp() {
        return false;
    }
    match read_stat(identity.pid) {
        Some(stat) if stat.start_ticks == identity.start_ticks => {}
        _ => return false,
    }
    let group = killpg(pid, Signal::SIGKILL).is_ok();
    // The leader may have left its group (setsid); it is still the process we started.
    let leader = kill(pid, Signal::SIGKILL).is_ok();
    group || leader
}

/// Tells when a child has exited, without reaping it.
pub(super) enum ExitWatch {
    /// Linux ≥ 5.3: the pidfd becomes readable when the process exits.
    Pidfd(AsyncFd<OwnedFd>),
    /// Fallback (no pidfd, e.g. a seccomp filter): check after every SIGCHLD.
    Sigchld(tokio::signal::unix::Signal),
}

impl ExitWatch {
    /// Needs a tokio runtime with I/O (and, for the fallback, signals) enabled.
    pub(super) fn new(pid: Pid) -> io::Result<ExitWatch> {
        match pidfd_open(pid) {
            // SAFETY: the OwnedFd is open, owned by nothing else, and lives exactly as long
            // as the AsyncFd that owns it.
            Ok(fd) => Ok(ExitWatch::Pidfd(unsafe {
                AsyncFd::register_with_interest(fd, Interest::READABLE)?
            })),
            Err(error) => {
                tracing::debug!(%error, "pidfd_open failed; watching SIGCHLD instead");
                ExitWatch::sigchld()
            }
        }
    }

    pub(super) fn sigchld() -> io::Result<ExitWatch> {
        Ok(ExitWatch::Sigchld(tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::child(),
        )?))
    }

    /// Resolves once `pid` has exited (and is still unreaped). Cancel-safe.
    pub(super) async fn exited(&mut self, pid: Pid) {
        match self {
            ExitWatch::Pidfd(fd) => loop {
                let Ok(mut ready) = fd.readable().await else {
                    // Only when the runtime is shutting down; the run's guard cleans up.
                    return std::future::pending().await;
                };
                if has_exited(pid) {
                    return;
                }
                ready.clear_ready();
            },
            ExitWatch::Sigchld(signal) => loop {
                // Checked before each wait: the stream only reports SIGCHLDs after it was made.
                if has_exited(pid) {
                    return;
                }
                if signal.recv().await.is_none() {
                    return std::future::pending().await;
                }
            },
        }
    }
}

fn pidfd_open(pid: Pid) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor (O_CLOEXEC) or -1.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(|_| io::Error::from_raw_os_error(nix::libc::EBADF))?;
    // SAFETY: the kernel just gave us this descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// True once the child `pid` has exited; it stays a zombie (WNOWAIT) so its pgid stays ours.
fn has_exited(pid: Pid) -> bool {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    loop {
        match waitid(Id::Pid(pid), flags) {
            Ok(WaitStatus::StillAlive) => return false,
            Ok(_) => return true,
            Err(Errno::EINTR) => continue,
            // ECHILD: something else reaped it; nothing left to wait for.
            Err(_) => return true,
        }
    }
}

/// Reaps an exited child. Blocks only if it has not exited, which callers rule out.
pub(super) fn reap(pid: Pid) -> ExitOutcome {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return ExitOutcome::Exited(code),
            Ok(WaitStatus::Signaled(_, signal, _)) => return ExitOutcome::Signaled(signal as i32),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(error) => {
                tracing::error!(
                    pid = pid.as_raw(),
                    %error,
                    "a run's leader was reaped by someone else (is SIGCHLD ignored, or does \
                     other code call waitpid(-1)?); its exit status is lost"
                );
                return ExitOutcome::LOST;
            }
        }
    }
}

/// For a run abandoned mid-way (its task dropped as the runtime shuts down, or a failure right
/// after fork): kill the whole group and make sure the leader is reaped without blocking.
pub(super) fn kill_and_reap_later(pid: Pid) {
    let _ = killpg(pid, Signal::SIGKILL);
    let _ = kill(pid, Signal::SIGKILL);
    if matches!(
        waitpid(pid, Some(WaitPidFlag::WNOHANG)),
        Ok(WaitStatus::StillAlive)
    ) {
        // Rare path (never per run in normal operation): SIGKILL takes effect promptly,
        // but not instantly, and we may not block here.
        let _ = std::thread::Builder::new()
            .name("cimjob-reaper".into())
            .spawn(move || reap(pid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        let stat = "4242 (a) b) c) T 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    987654 1000 100 18446744073709551615";
        assert_eq!(
            parse_stat(stat),
            Some(Stat {
                state: 'T',
                start_ticks: 987654
            })
        );
        assert_eq!(parse_stat("1 (x) S 0"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn our_own_stat_is_readable() {
        let stat = read_stat(std::process::id()).expect("our own /proc entry");
        assert!(stat.start_ticks > 0);
        assert!(read_stat(0).is_none());
    }

    /// Both ways of watching see the exit, leave the child unreaped, and reap gives its status.
    #[tokio::test]
    async fn an_exit_is_seen_by_pidfd_and_by_sigchld_without_reaping() {
        for (code, sigchld) in [(3, false), (4, true)] {
            // Reaped below with waitpid, as the runner does, not through std's Child.
            let started = std::process::Command::new("sh")
                .args(["-c", &format!("exit {code}")])
                .spawn()
                .unwrap()
                .id();
            let pid = Pid::from_raw(i32::try_from(started).unwrap());
            let mut watch = if sigchld {
                ExitWatch::sigchld().unwrap()
            } else {
                ExitWatch::new(pid).unwrap()
            };
            assert_eq!(matches!(watch, ExitWatch::Sigchld(_)), sigchld);
            tokio::time::timeout(std::time::Duration::from_secs(10), watch.exited(pid))
                .await
                .expect("the exit is seen");
            assert_eq!(read_stat(child_id(pid)).map(|stat| stat.state), Some('Z'));
            assert_eq!(reap(pid), ExitOutcome::Exited(code));
            assert_eq!(read_stat(child_id(pid)), None);
        }
    }

    fn child_id(pid: Pid) -> u32 {
        pid.as_raw().unsigned_abs()
    }

    #[test]
    fn kill_orphan_never_hits_ourselves() {
        let me = read_stat(std::process::id()).unwrap();
        assert!(!kill_orphan(ProcessIdentity {
            pid: std::process::id(),
            start_ticks: me.start_ticks
        }));
        assert!(!kill_orphan(ProcessIdentity {
            pid: 0,
            start_ticks: 0
        }));
        assert!(!kill_orphan(ProcessIdentity {
            pid: u32::MAX,
            start_ticks: 0
        }));
    }
}
