//! A run's start and end, told from a job's durable changes: what the service logs (one line
//! per run started, one per run ended) and what the metrics count, from one reading of the
//! changes, so the two always agree.

use std::sync::Arc;

use cimjob_engine::EngineHandle;
use cimjob_rules::events::Event;
use cimjob_rules::model::value_maps::JobErrorCode;
use cimjob_rules::state::Situation;
use jiff::SignedDuration;

use crate::metrics::Metrics;
use crate::ui::RecentRuns;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunResult {
    /// Its command exited 0 (the job Completed, or a recurring job waits for its next run).
    Completed,
    /// It failed: a non-zero exit, a signal, a start that failed, a lost node.
    Failed,
    /// A Terminate ended it.
    Terminated,
    /// A Kill ended it.
    Killed,
}

impl RunResult {
    /// The result as a metrics label and in the log.
    pub fn label(self) -> &'static str {
        match self {
            RunResult::Completed => "completed",
            RunResult::Failed => "failed",
            RunResult::Terminated => "terminated",
            RunResult::Killed => "killed",
        }
    }
}

/// A run that started or ended.
#[derive(Clone, Debug, PartialEq)]
pub enum RunEvent {
    /// Its exec succeeded.
    Started {
        /// The job's LocalID.
        job: u64,
        /// Which run (RunCount).
        run: u32,
        /// From when the run was due (its submission, for a job that waits for nothing; else
        /// its planned time) to its exec.
        delay: SignedDuration,
    },
    /// It ended.
    Ended {
        /// The job's LocalID.
        job: u64,
        /// Which run (RunCount).
        run: u32,
        /// How.
        result: RunResult,
        /// From its exec to its end; none for a run that never got past its exec.
        duration: Option<SignedDuration>,
        /// Its command's exit status, if it exited.
        exit_status: Option<i32>,
    },
}

/// The run `event` started or ended, if it did either.
pub fn of(event: &Event) -> Option<RunEvent> {
    let (before, after) = (event.previous.as_ref()?, event.current.as_ref()?);
    if before.situation == Situation::Starting && after.situation == Situation::Running {
        let plain_first_run = before.run_count <= 1
            && before.scheduled_start_time.is_none()
            && before.run_start_interval.is_none();
        let due = if plain_first_run {
            Some(before.time_submitted)
        } else {
            before.start_time
        };
        let exec = after.start_time?;
        return Some(RunEvent::Started {
            job: event.job,
            run: after.run_count,
            delay: exec.duration_since(due?),
        });
    }
    if !before.situation.run_under_way() || after.situation.run_under_way() {
        return None;
    }
    let result = match after.situation {
        Situation::Completed => RunResult::Completed,
        Situation::Terminated => RunResult::Terminated,
        Situation::Killed => RunResult::Killed,
        Situation::Failed => RunResult::Failed,
        // a recurring job between runs, or one to be run again
        _ if after.error_code == JobErrorCode::NoError => RunResult::Completed,
        _ => RunResult::Failed,
    };
    let duration = match (before.situation, before.start_time, after.end_time) {
        (Situation::Starting, ..) => None,
        (_, Some(start), Some(end)) => Some(end.duration_since(start)),
        _ => None,
    };
    Some(RunEvent::Ended {
        job: event.job,
        run: after.run_count,
        result,
        duration,
        exit_status: after.exit_status,
    })
}

/// Logs every run's start and end, counts them in `metrics` and keeps the last hour's ends in
/// `recent` (the dashboard's charts), following `engine`'s changes until the engine stops.
/// Changes a lagging receiver missed are said in the log.
pub fn follow(
    engine: &EngineHandle,
    metrics: Arc<Metrics>,
    recent: Arc<RecentRuns>,
) -> tokio::task::JoinHandle<()> {
    let mut changes = engine.subscribe();
    tokio::spawn(async move {
        // bounded by the engine's life: the channel closes when it stops
        loop {
            let event = match changes.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "the run log and metrics missed changes of a busy engine"
                    );
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let Some(run) = of(&event) else { continue };
            match &run {
                RunEvent::Started { job, run, delay } => {
                    tracing::info!(job, run, delay_ms = delay.as_millis(), "run started");
                }
                RunEvent::Ended {
                    job,
                    run,
                    result,
                    duration,
                    exit_status,
                } => {
                    let ms = duration.map(|d| d.as_millis());
                    tracing::info!(
                        job,
                        run,
                        result = result.label(),
                        duration_ms = ms,
                        exit_status,
                        "run ended"
                    );
                }
            }
            metrics.observe(&run);
            let owner = event.current.as_ref().map_or("", |j| j.owner.as_str());
            recent.observe(&run, owner, jiff::Timestamp::now());
        }
    })
}
