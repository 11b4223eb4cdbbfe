//! Enumeration contexts of the pull operations (DSP0200 Open*/Pull*/CloseEnumeration/
//! EnumerationCount), as a plain value: items in, batches out, the time passed in.
//!
//! A context holds the rest of an enumeration between pulls. It expires OperationTimeout
//! seconds after its last use, and only `max_open` may be open at once, so a client that
//! never closes its enumerations cannot grow the server without bound. Contexts hold cheap
//! items (job snapshots, paths); encoding happens per pull, so a large enumeration pulled in
//! small batches never holds its whole encoded answer.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The OperationTimeout used when the client gives none.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest OperationTimeout we accept.
pub const MAX_OPERATION_TIMEOUT: Duration = Duration::from_secs(600);

/// What an enumeration returns, so a Pull of the wrong kind is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullKind {
    /// PullInstancesWithPath: instances with their paths.
    InstancesWithPath,
    /// PullInstancePaths: paths only.
    Paths,
    /// PullInstances: instances without paths (OpenQueryInstances).
    Instances,
}

/// Why a pull operation was refused, with its DSP0200 status code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PullError {
    /// The context does not exist, expired, or belongs to another kind or namespace.
    #[error("enumeration context {0:?} is not open here (unknown, expired, closed, or for another operation)")]
    InvalidContext(String),
    /// OperationTimeout is 0 or above the maximum.
    #[error("OperationTimeout {0} s is not accepted: give 1..={max} seconds, or none for {default}", max = MAX_OPERATION_TIMEOUT.as_secs(), default = DEFAULT_OPERATION_TIMEOUT.as_secs())]
    InvalidOperationTimeout(u32),
    /// Too many contexts are open (in all, or of one user).
    #[error("too many open enumeration contexts ({0}); close some or let them expire")]
    TooManyOpen(usize),
}

impl PullError {
    /// CIM_ERR_INVALID_ENUMERATION_CONTEXT (21), CIM_ERR_INVALID_OPERATION_TIMEOUT (22),
    /// CIM_ERR_SERVER_LIMITS_EXCEEDED (27).
    pub fn status_code(&self) -> u16 {
        match self {
            PullError::InvalidContext(_) => 21,
            PullError::InvalidOperationTimeout(_) => 22,
            PullError::TooManyOpen(_) => 27,
        }
    }
}

struct Context<T, S> {
    owner: String,
    items: VecDeque<T>,
    /// What every item of it shares (how they are shown), kept once.
    shared: S,
    kind: PullKind,
    namespace: String,
    timeout: Duration,
    expires_at: Instant,
}

/// The open enumerations of one server: each a queue of items `T` and what they share `S`.
pub struct EnumerationContexts<T, S> {
    contexts: HashMap<String, Context<T, S>>,
    max_open: usize,
    max_per_owner: usize,
    next_id: u64,
}

/// Whose and where an enumeration is: a context is found only by the user who opened it,
/// in the namespace it was opened in.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// The user who opened it.
    pub owner: &'a str,
    /// Its namespace.
    pub namespace: &'a str,
}

/// One batch of an enumeration.
#[derive(Debug, PartialEq, Eq)]
pub struct Batch<T, S> {
    /// Up to MaxObjectCount items.
    pub items: Vec<T>,
    /// What they share.
    pub shared: S,
    /// The context to pull the rest with; `None` when EndOfSequence.
    pub context: Option<String>,
}

impl<T, S: Clone> EnumerationContexts<T, S> {
    /// At most `max_open` contexts at once, `max_per_owner` of them one user's.
    pub fn new(max_open: usize, max_per_owner: usize) -> Self {
        EnumerationContexts {
            contexts: HashMap::new(),
            max_open,
            max_per_owner,
            next_id: 1,
        }
    }

    /// Open*: returns the first `max_object_count` items, and a context if more remain; the
    /// items come with what they share.
    pub fn open(
        &mut self,
        (items, shared): (Vec<T>, S),
        kind: PullKind,
        scope: Scope<'_>,
        max_object_count: u32,
        operation_timeout: Option<u32>,
        now: Instant,
    ) -> Result<Batch<T, S>, PullError> {
        let timeout = match operation_timeout {
            None => DEFAULT_OPERATION_TIMEOUT,
            Some(0) => return Err(PullError::InvalidOperationTimeout(0)),
            Some(s) if Duration::from_secs(u64::from(s)) > MAX_OPERATION_TIMEOUT => {
                return Err(PullError::InvalidOperationTimeout(s))
            }
            Some(s) => Duration::from_secs(u64::from(s)),
        };
        self.expire(now);
        let mut items: VecDeque<T> = items.into();
        let first = take(&mut items, max_object_count);
        if items.is_empty() {
            return Ok(Batch {
                items: first,
                shared,
                context: None,
            });
        }
        if self.contexts.len() >= self.max_open {
            return Err(PullError::TooManyOpen(self.max_open));
        }
        if self
            .contexts
            .values()
            .filter(|c| c.owner == scope.owner)
            .count()
            >= self.max_per_owner
        {
            return Err(PullError::TooManyOpen(self.max_per_owner));
        }
        let id = format!("cimjob-enum-{}", self.next_id);
        self.next_id += 1;
        let context = Context {
            owner: scope.owner.to_string(),
            items,
            shared: shared.clone(),
            kind,
            namespace: scope.namespace.to_string(),
            timeout,
            expires_at: now + timeout,
        };
        self.contexts.insert(id.clone(), context);
        Ok(Batch {
            items: first,
            shared,
            context: Some(id),
        })
    }

    /// Pull*: the next `max_object_count` items; the context closes at the end.
    pub fn pull(
        &mut self,
        id: &str,
        kind: PullKind,
        scope: Scope<'_>,
        max_object_count: u32,
        now: Instant,
    ) -> Result<Batch<T, S>, PullError> {
        self.expire(now);
        let context = self.find(id, Some(kind), scope)?;
        let items = take(&mut context.items, max_object_count);
        context.expires_at = now + context.timeout;
        let shared = context.shared.clone();
        if context.items.is_empty() {
            self.contexts.remove(id);
            return Ok(Batch {
                items,
                shared,
                context: None,
            });
        }
        Ok(Batch {
            items,
            shared,
            context: Some(id.to_string()),
        })
    }

    /// CloseEnumeration.
    pub fn close(&mut self, id: &str, scope: Scope<'_>, now: Instant) -> Result<(), PullError> {
        self.expire(now);
        self.find(id, None, scope)?;
        self.contexts.remove(id);
        Ok(())
    }

    /// EnumerationCount: how many items remain.
    pub fn count(&mut self, id: &str, scope: Scope<'_>, now: Instant) -> Result<u64, PullError> {
        self.expire(now);
        let context = self.find(id, None, scope)?;
        context.expires_at = now + context.timeout;
        Ok(context.items.len() as u64)
    }

    /// How many contexts are open.
    #[cfg(test)]
    pub fn open_count(&self) -> usize {
        self.contexts.len()
    }

    fn find(
        &mut self,
        id: &str,
        kind: Option<PullKind>,
        scope: Scope<'_>,
    ) -> Result<&mut Context<T, S>, PullError> {
        match self.contexts.get_mut(id) {
            Some(c)
                if kind.is_none_or(|k| k == c.kind)
                    && c.owner == scope.owner
                    && c.namespace.eq_ignore_ascii_case(scope.namespace) =>
            {
                Ok(c)
            }
            _ => Err(PullError::InvalidContext(id.to_string())),
        }
    }

    fn expire(&mut self, now: Instant) {
        self.contexts.retain(|_, c| c.expires_at > now);
    }
}

fn take<T>(items: &mut VecDeque<T>, max: u32) -> Vec<T> {
    let n = items.len().min(max as usize);
    items.drain(..n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "root/cimv2";
    const ALICE: Scope = Scope {
        owner: "alice",
        namespace: NS,
    };

    fn open(
        c: &mut EnumerationContexts<u32, ()>,
        n: u32,
        max: u32,
        now: Instant,
    ) -> Batch<u32, ()> {
        c.open(
            ((0..n).collect(), ()),
            PullKind::InstancesWithPath,
            ALICE,
            max,
            None,
            now,
        )
        .unwrap()
    }

    #[test]
    fn batches_cover_every_item_once_and_the_context_closes_at_the_end() {
        let mut c = EnumerationContexts::new(4, 4);
        let now = Instant::now();
        let first = open(&mut c, 20, 7, now);
        assert_eq!(first.items, (0..7).collect::<Vec<_>>());
        let id = first.context.unwrap();
        let mut seen = first.items;
        loop {
            let b = c
                .pull(&id, PullKind::InstancesWithPath, ALICE, 7, now)
                .unwrap();
            seen.extend(b.items);
            if b.context.is_none() {
                break;
            }
        }
        assert_eq!(seen, (0..20).collect::<Vec<_>>());
        assert_eq!(c.open_count(), 0);
        assert_eq!(
            c.pull(&id, PullKind::InstancesWithPath, ALICE, 7, now)
                .unwrap_err()
                .status_code(),
            21
        );
    }

    #[test]
    fn a_small_enumeration_ends_at_open_without_a_context() {
        let mut c = EnumerationContexts::new(4, 4);
        let b = open(&mut c, 3, 10, Instant::now());
        assert_eq!((b.items.len(), b.context), (3, None));
        assert_eq!(c.open_count(), 0);
    }

    #[test]
    fn contexts_expire_after_their_timeout_from_last_use() {
        let mut c = EnumerationContexts::new(4, 4);
        let t0 = Instant::now();
        let id = c
            .open(
                ((0..10).collect(), ()),
                PullKind::Paths,
                ALICE,
                1,
                Some(5),
                t0,
            )
            .unwrap()
            .context
            .unwrap();
        assert_eq!(c.count(&id, ALICE, t0 + Duration::from_secs(4)).unwrap(), 9);
        assert!(
            c.pull(&id, PullKind::Paths, ALICE, 1, t0 + Duration::from_secs(8))
                .is_ok(),
            "use renews the timeout"
        );
        assert_eq!(
            c.pull(&id, PullKind::Paths, ALICE, 1, t0 + Duration::from_secs(14))
                .unwrap_err()
                .status_code(),
            21
        );
    }

    #[test]
    fn limits_and_mismatches_are_refused_with_their_codes() {
        let mut c = EnumerationContexts::new(2, 2);
        let now = Instant::now();
        let a = open(&mut c, 5, 1, now).context.unwrap();
        open(&mut c, 5, 1, now);
        let e = c
            .open(((0..5).collect(), ()), PullKind::Paths, ALICE, 1, None, now)
            .unwrap_err();
        assert_eq!(e.status_code(), 27);
        assert_eq!(
            c.open((vec![1], ()), PullKind::Paths, ALICE, 1, Some(0), now)
                .unwrap_err()
                .status_code(),
            22
        );
        assert_eq!(
            c.open((vec![1], ()), PullKind::Paths, ALICE, 1, Some(601), now)
                .unwrap_err()
                .status_code(),
            22
        );
        assert_eq!(
            c.pull(&a, PullKind::Paths, ALICE, 1, now)
                .unwrap_err()
                .status_code(),
            21,
            "wrong kind"
        );
        assert_eq!(
            c.pull(
                &a,
                PullKind::InstancesWithPath,
                Scope {
                    owner: "alice",
                    namespace: "root/interop"
                },
                1,
                now
            )
            .unwrap_err()
            .status_code(),
            21
        );
        c.close(&a, ALICE, now).unwrap();
        assert_eq!(c.close(&a, ALICE, now).unwrap_err().status_code(), 21);
        assert_eq!(open(&mut c, 0, 0, now).context, None);
        let zero = open(&mut c, 3, 0, now);
        assert!(
            zero.items.is_empty() && zero.context.is_some(),
            "MaxObjectCount 0 opens without returning items"
        );
    }

    #[test]
    fn a_context_belongs_to_its_user_and_each_user_has_a_cap() {
        let mut c = EnumerationContexts::new(10, 2);
        let now = Instant::now();
        let bob = Scope {
            owner: "bob",
            namespace: NS,
        };
        let a = c
            .open(((0..5).collect(), ()), PullKind::Paths, ALICE, 1, None, now)
            .unwrap()
            .context
            .unwrap();
        assert_eq!(
            c.pull(&a, PullKind::Paths, bob, 1, now)
                .unwrap_err()
                .status_code(),
            21,
            "not bob's"
        );
        assert_eq!(c.close(&a, bob, now).unwrap_err().status_code(), 21);
        c.open(((0..5).collect(), ()), PullKind::Paths, ALICE, 1, None, now)
            .unwrap();
        let e = c
            .open(((0..5).collect(), ()), PullKind::Paths, ALICE, 1, None, now)
            .unwrap_err();
        assert_eq!(e.status_code(), 27, "alice's cap");
        assert!(
            c.open(((0..5).collect(), ()), PullKind::Paths, bob, 1, None, now)
                .is_ok(),
            "bob has his own"
        );
        assert!(c.pull(&a, PullKind::Paths, ALICE, 1, now).is_ok());
    }
}
