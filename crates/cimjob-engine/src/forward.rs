//! Calls about a job another node of a shared store holds: RequestStateChange, KillJob,
//! AnswerQuery, ModifyInstance, DeleteInstance and Run now sent to any node reach the node whose core
//! holds the job (the one running it), and answer with the codes (or the refusal) that
//! node's core gives.
//!
//! The asking node sends the call through the store ([`Store::send_call`]) and waits for
//! the answer, woken by the store's notices or, should a notification be lost, by a poll of
//! its own; the holding node takes the calls for it ([`serve`]) as notices or its own poll
//! tell it, carries each out on its engine as if a client had asked there, and answers.
//! A job that moved on meanwhile (its holder let go of it, or was lost) is sought again, a
//! few hops at most.

use std::time::Duration;

use cim::CimValue;
use cimjob_rules::core::NotFound;
use cimjob_rules::model::value_maps::{AnswerReturn, KillJobReturn, StateChangeReturn};
use cimjob_rules::model::PropertyError;
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use crate::{EngineError, EngineHandle};

/// How long an asking node waits for the holder's answer before it gives up.
const PATIENCE: Duration = Duration::from_secs(30);

/// How often an asking node looks for the answer when no notice comes.
const ANSWER_POLL: Duration = Duration::from_millis(200);

/// How many nodes a call follows a moving job through before it gives up.
const MAX_HOPS: usize = 3;

/// A call about one job, as it travels between nodes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Call {
    /// RequestStateChange(RequestedState, TimeoutPeriod in microseconds).
    RequestStateChange {
        id: u64,
        requested: u16,
        timeout_us: Option<i64>,
    },
    /// KillJob(DeleteOnKill).
    KillJob { id: u64, delete_on_kill: bool },
    /// AnswerQuery(Answer).
    Answer { id: u64, text: String },
    /// ModifyInstance: the properties and their new values (`None`: NULL).
    Modify {
        id: u64,
        values: Vec<(String, Option<CimValue>)>,
    },
    /// DeleteInstance.
    Delete { id: u64 },
    /// Run now.
    RunNow { id: u64 },
}

impl Call {
    fn job(&self) -> u64 {
        match self {
            Call::RequestStateChange { id, .. }
            | Call::KillJob { id, .. }
            | Call::Answer { id, .. }
            | Call::Modify { id, .. }
            | Call::Delete { id }
            | Call::RunNow { id } => *id,
        }
    }
}

/// What the holder answered.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Answer {
    /// The method's return code.
    Code(u32),
    /// The properties that changed (ModifyInstance).
    Changed(Vec<String>),
    /// Done (DeleteInstance).
    Done,
    /// Refused, as the holder's engine said.
    Refused(Refusal),
}

/// An [`EngineError`] as it travels between nodes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Refusal {
    NotFound(u64),
    Property(PropertyError),
    WrongState(String),
    Failed(String),
    Stopped,
    HeldElsewhere(String),
}

impl From<EngineError> for Refusal {
    fn from(error: EngineError) -> Refusal {
        match error {
            EngineError::NotFound(NotFound(id)) => Refusal::NotFound(id),
            EngineError::WrongState(m) => Refusal::WrongState(m),
            EngineError::Stopped => Refusal::Stopped,
            EngineError::HeldElsewhere { node } => Refusal::HeldElsewhere(node),
            EngineError::Property(p) => Refusal::Property(p),
            EngineError::Store(m) => Refusal::Failed(m),
        }
    }
}

impl From<Refusal> for EngineError {
    fn from(refusal: Refusal) -> EngineError {
        match refusal {
            Refusal::NotFound(id) => EngineError::NotFound(NotFound(id)),
            Refusal::Property(p) => EngineError::Property(p),
            Refusal::WrongState(m) => EngineError::WrongState(m),
            Refusal::Failed(m) => EngineError::Store(m),
            Refusal::Stopped => EngineError::Stopped,
            Refusal::HeldElsewhere(node) => EngineError::HeldElsewhere { node },
        }
    }
}

/// A return code from the holder, as the method's own value map reads it.
pub(crate) fn code<T>(answer: Answer, read: impl Fn(u32) -> Option<T>) -> Result<T, EngineError> {
    match answer {
        Answer::Code(n) => {
            read(n).ok_or_else(|| EngineError::Store(format!("the holder answered code {n}")))
        }
        Answer::Refused(refusal) => Err(refusal.into()),
        other => Err(EngineError::Store(format!(
            "the holder answered {other:?}, not a code"
        ))),
    }
}

/// The properties that changed, as the holder answered a ModifyInstance.
pub(crate) fn changed(answer: Answer) -> Result<Vec<String>, EngineError> {
    match answer {
        Answer::Changed(names) => Ok(names),
        Answer::Refused(refusal) => Err(refusal.into()),
        other => Err(EngineError::Store(format!(
            "the holder answered {other:?} to a ModifyInstance"
        ))),
    }
}

impl EngineHandle {
    /// Carries `call` out where the job is: here if the core holds it or can claim it, else
    /// on the node that holds it (following it a few hops if it moves).
    pub(crate) async fn wherever(&self, call: Call) -> Result<Answer, EngineError> {
        let mut outcome = self.here(call.clone()).await;
        for _ in 0..MAX_HOPS {
            let Err(EngineError::HeldElsewhere { node }) = &outcome else {
                break;
            };
            outcome = match self.ask_node(node, &call).await {
                Ok(Answer::Refused(Refusal::HeldElsewhere(next))) => {
                    Err(EngineError::HeldElsewhere { node: next })
                }
                answered => answered,
            };
        }
        outcome
    }

    /// Carries `call` out on this node's engine (claiming the job if it is at rest).
    async fn here(&self, call: Call) -> Result<Answer, EngineError> {
        use crate::Command;
        Ok(match call {
            Call::RequestStateChange {
                id,
                requested,
                timeout_us,
            } => {
                let timeout = timeout_us.map(SignedDuration::from_micros);
                let code = self
                    .call(|reply| Command::RequestStateChange {
                        id,
                        requested,
                        timeout,
                        reply,
                    })
                    .await?;
                Answer::Code(StateChangeReturn::number(code))
            }
            Call::KillJob { id, delete_on_kill } => {
                let code = self
                    .call(|reply| Command::KillJob {
                        id,
                        delete_on_kill,
                        reply,
                    })
                    .await?;
                Answer::Code(KillJobReturn::number(code))
            }
            Call::Answer { id, text } => {
                let code = self
                    .call(|reply| Command::Answer { id, text, reply })
                    .await?;
                Answer::Code(AnswerReturn::number(code))
            }
            Call::Modify { id, values } => {
                let changed = self
                    .call(|reply| Command::Modify { id, values, reply })
                    .await?;
                Answer::Changed(changed.into_iter().map(str::to_owned).collect())
            }
            Call::Delete { id } => {
                self.call(|reply| Command::Delete { id, reply }).await?;
                Answer::Done
            }
            Call::RunNow { id } => {
                self.call(|reply| Command::RunNow { id, reply }).await?;
                Answer::Done
            }
        })
    }

    /// Sends `call` to `node` and waits for its answer (at most [`PATIENCE`]).
    async fn ask_node(&self, node: &str, call: &Call) -> Result<Answer, EngineError> {
        let store = self.store.clone();
        let text = serde_json::to_string(call).expect("a call serializes");
        let (to, job) = (node.to_owned(), call.job());
        let sent = blocking(store.clone(), move |s| s.send_call(&to, job, &text)).await?;
        let mut notices = store.notices().map(|n| n.calls);
        let deadline = tokio::time::Instant::now() + PATIENCE;
        // bounded by PATIENCE
        loop {
            if let Some(answer) = blocking(store.clone(), move |s| s.answer_of(sent)).await? {
                return serde_json::from_str(&answer).map_err(|e| {
                    EngineError::Store(format!("node {node} answered {answer:?}: {e}"))
                });
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = blocking(store.clone(), move |s| s.withdraw_call(sent)).await;
                return Err(EngineError::Store(format!(
                    "node {node}, which holds job {job}, did not answer within {PATIENCE:?}"
                )));
            }
            let changed = async {
                match notices.as_mut() {
                    Some(calls) => drop(calls.changed().await),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep(ANSWER_POLL) => {}
            }
        }
    }
}

/// Takes the calls other nodes send this one and carries each out on `engine`, until the
/// engine stops: woken by the store's notices, and by a poll should one be lost.
pub(crate) async fn serve(engine: EngineHandle) {
    let store = engine.store.clone();
    let mut notices = store.notices().map(|n| n.calls);
    let mut stopped = engine.stopped.clone();
    // bounded by the engine's life
    loop {
        let changed = async {
            match notices.as_mut() {
                Some(calls) => drop(calls.changed().await),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = changed => {}
            () = tokio::time::sleep(crate::jittered(crate::SHARED_POLL)) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        let calls = match blocking(store.clone(), |s| s.take_calls()).await {
            Ok(calls) => calls,
            Err(error) => {
                tracing::warn!(%error, "cannot take the calls for this node yet");
                continue;
            }
        };
        for (id, job, text) in calls {
            let engine = engine.clone();
            tokio::spawn(async move {
                let answer = match serde_json::from_str::<Call>(&text) {
                    Ok(call) => engine
                        .here(call)
                        .await
                        .unwrap_or_else(|e| Answer::Refused(e.into())),
                    Err(e) => Answer::Refused(Refusal::Failed(format!("an unreadable call: {e}"))),
                };
                let text = serde_json::to_string(&answer).expect("an answer serializes");
                let store = engine.store.clone();
                if let Err(error) = blocking(store, move |s| s.answer_call(id, &text)).await {
                    tracing::warn!(job, %error, "a call from another node could not be answered");
                }
            });
        }
    }
}

/// Runs a blocking store call off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    store: std::sync::Arc<dyn cimjob_store::Store>,
    f: impl FnOnce(&dyn cimjob_store::Store) -> Result<T, cimjob_store::StoreError> + Send + 'static,
) -> Result<T, EngineError> {
    tokio::task::spawn_blocking(move || f(&*store))
        .await
        .map_err(|e| EngineError::Store(e.to_string()))?
        .map_err(|e| EngineError::Store(e.to_string()))
}
