//! `cimjob serve`'s TOML config file through the real binary: its values apply, a flag beats
//! the environment, which beats the file, and a key or value the service does not take is
//! refused naming it.

mod common;

use std::process::Command;

use common::{submit_sh, Service};

/// `cimjob serve` with `args` and `env` (no other CIMJOB_ variable): its exit and stderr;
/// for the refusals, which come before it serves.
fn serve_refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(common::BIN);
    command
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0"])
        .args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("CIMJOB_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let out = command.output().unwrap();
    assert!(!out.status.success(), "it should refuse: {args:?} {env:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn config(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cimjob.toml");
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file() {
    let (_dir, file) = config("node = \"from=file\"\n");
    let said = serve_refused(&["--config", &file], &[]);
    assert!(said.contains("\"from=file\""), "{said}");
    let said = serve_refused(&["--config", &file], &[("CIMJOB_NODE", "from=env")]);
    assert!(said.contains("\"from=env\""), "{said}");
    let said = serve_refused(
        &["--config", &file, "--node", "from=flag"],
        &[("CIMJOB_NODE", "from=env")],
    );
    assert!(said.contains("\"from=flag\""), "{said}");
    // $CIMJOB_CONFIG names the file too
    let said = serve_refused(&[], &[("CIMJOB_CONFIG", &file)]);
    assert!(said.contains("\"from=file\""), "{said}");
}

#[test]
fn a_key_or_value_the_service_does_not_take_is_refused_naming_it() {
    let (_dir, file) = config("max_runing = 3\n");
    let said = serve_refused(&["--config", &file], &[]);
    assert!(
        said.contains("\"max_runing\"") && said.contains(&file),
        "{said}"
    );
    let (_dir, file) = config("max-running = \"lots\"\n");
    let said = serve_refused(&["--config", &file], &[]);
    assert!(
        said.contains("lots") && said.contains("--max-running"),
        "{said}"
    );
    let (_dir, file) = config("max-running = 0\n");
    let said = serve_refused(&["--config", &file], &[]);
    assert!(said.contains("--max-running must be at least 1"), "{said}");
    let (_dir, file) = config("listen = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n");
    let said = serve_refused(&["--config", &file], &[]);
    assert!(
        said.contains("\"listen\"") && said.contains("one"),
        "{said}"
    );
    let (_dir, file) = config("this is not = = toml\n");
    let said = serve_refused(&["--config", &file], &[]);
    assert!(said.contains("is not TOML"), "{said}");
    let said = serve_refused(&["--config", "/nonexistent/cimjob.toml"], &[]);
    assert!(said.contains("/nonexistent/cimjob.toml"), "{said}");
}

#[test]
fn the_files_values_apply_to_the_service() {
    let (_dir, file) = config("max-running = 1\nlog-format = \"json\"\n");
    let s = Service::start(&["--config", &file]);
    let first = submit_sh(&s, &[], "exec sleep 600");
    let second = submit_sh(&s, &[], "exec sleep 600");
    s.wait_state(first, 4, 20);
    // one slot, from the file: the second waits
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(s.state(second), 2, "the second job waits for the one slot");
    let log = s.log();
    let first_line: serde_json::Value =
        serde_json::from_str(log.lines().next().unwrap()).expect("a JSON log, from the file");
    assert!(first_line["fields"].is_object(), "{log}");
    assert!(log.contains("read the config file"), "{log}");
}
