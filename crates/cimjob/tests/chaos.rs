//! The chaos run at the test suite's size (the bench runs it at full size): a mixed workload
//! from 8 clients while the service is killed with SIGKILL at random moments; see
//! `cimjob_harness::chaos` for everything that must hold. A failure names its seed:
//! `CIMJOB_CHAOS_SEED=N` repeats the run's choices.

use cimjob_harness::chaos::{self, Config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_service_at_random_moments_loses_repeats_and_strands_nothing() {
    let config = Config::small(env!("CARGO_BIN_EXE_cimjob"));
    let report = chaos::run(&config)
        .await
        .expect("the chaos run could not run");
    eprintln!("{report:#?}");
    assert!(
        report.violations.is_empty(),
        "seed {}: {} problems:\n{}",
        report.seed,
        report.violations.len(),
        report.violations.join("\n")
    );
    // the run did what it is for: kills in the middle of real work
    assert_eq!(report.kills, config.kills);
    assert!(report.acknowledged > 50, "too little work: {report:#?}");
    assert!(
        report.long_jobs_at_kills > 0,
        "no long job was running at a kill: {report:#?}"
    );
}
