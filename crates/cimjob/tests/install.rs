//! What installing cimjob on a machine takes from the binary and the repository: shell
//! completions and a manual page made from the command-line definitions, and a systemd unit
//! whose ExecStart runs a command the binary accepts.

mod common;

use std::process::Command;

fn cimjob(args: &[&str]) -> String {
    let out = Command::new(common::BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "cimjob {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_are_scripts_the_shells_read_and_know_every_command() {
    let bash = cimjob(&["completions", "bash"]);
    let checked = Command::new("bash")
        .args(["-n", "-c", &bash])
        .output()
        .unwrap();
    assert!(checked.status.success(), "bash -n: {checked:?}");
    for command in ["serve", "submit", "terminate", "answer", "--max-running"] {
        assert!(bash.contains(command), "{command} in the bash completions");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        assert!(
            cimjob(&["completions", shell]).contains("terminate"),
            "{shell}"
        );
    }
    let out = Command::new(common::BIN)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tcsh"));
}

#[test]
fn the_manual_page_is_roff_naming_the_commands() {
    let man = cimjob(&["man"]);
    assert!(man.contains(".TH cimjob 1"), "{man}");
    for command in ["serve", "submit", "terminate", "completions"] {
        assert!(man.contains(command), "{command} in the manual page");
    }
}

#[test]
fn the_systemd_unit_starts_the_service_with_arguments_it_accepts() {
    let unit = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cimjob.service"),
    )
    .unwrap();
    let exec = unit
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .expect("an ExecStart");
    let mut words = exec.split_whitespace();
    assert!(words.next().unwrap().ends_with("/cimjob"));
    let args: Vec<&str> = words.collect();
    // the binary accepts every argument the unit gives (--help parses them first)
    let mut check = vec!["serve"];
    check.extend(args.iter().skip(1));
    check.push("--help");
    cimjob(&check);
    // the runs outlive a restart: systemd must not kill the supervisors with the service
    assert!(unit.contains("KillMode=process"), "{unit}");
}
