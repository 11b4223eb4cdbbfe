//! `cimjob internal-exec-as USER -- ARGV…`: how a root service starts a job as its owner's OS
//! account, since `posix_spawn` cannot change the user. It runs before any thread exists.

/// Becomes `argv` running as the OS account `user`: supplementary groups, then group, then
/// user, checked so that root cannot be regained, then exec. The runner starts jobs of other
/// accounts through this (posix_spawn cannot change the user). On failure the reason goes to
/// the job's log and the exit status is 127, like a shell's "cannot run".
pub fn exec_as(user: &str, argv: &[String]) -> std::process::ExitCode {
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
