//! Who is asking, and whether they may: HTTP Basic authentication for every front end (one
//! axum layer), and the one rule of who may change a job.
//!
//! Passwords are verified against argon2id hashes, which is deliberately slow, so a verified
//! `Authorization` header is cached for a minute (and forgotten when the users file changes).
//! Failed attempts are counted per user name and client address: after [`MAX_FAILURES`]
//! within a minute that name is refused from that address for [`BLOCK_FOR`] with 429 (so a
//! local user guessing wrong cannot lock the admin out, who logs in from the same address
//! under another name), and every failure is logged. Only distinct wrong passwords count: a
//! client that retries with the same stale password (a forgotten cron job, a probe) guesses
//! nothing new, so it does not lock the user out; every new guess does count.

pub mod users;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

pub use users::{Role, User, Users, UsersPlace};

/// How many failed attempts one user name may make from one client within
/// [`FAILURE_WINDOW`].
pub const MAX_FAILURES: u32 = 5;
/// The window failures are counted in.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// How long a user name that failed too often is refused from that client.
pub const BLOCK_FOR: Duration = Duration::from_secs(30);
const CACHE_TTL: Duration = Duration::from_secs(60);
const MAX_CACHED: usize = 4096;

/// An authenticated user, attached to each request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The user name: the Owner of the jobs it submits.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The OS account its jobs run as when the service runs as root.
    pub os_user: String,
}

impl Principal {
    /// Whether this user may change (state, modify, delete, answer) a job owned by `owner`:
    /// its own jobs, or every job for an admin.
    pub fn may_control(&self, owner: &str) -> bool {
        self.role == Role::Admin || self.name == owner
    }

    /// Whether this user may see a job owned by `owner` (list, get, enumerate, events,
    /// logs): the same rule — a user sees only their own jobs (their commands and
    /// environments are theirs), an admin every job.
    pub fn may_see(&self, owner: &str) -> bool {
        self.may_control(owner)
    }

    /// The one owner whose jobs this user may see, or `None` for an admin, who sees all.
    pub fn sees_only(&self) -> Option<&str> {
        (self.role != Role::Admin).then_some(self.name.as_str())
    }

    /// The OS account this user's jobs run as: its mapped account when the service runs as
    /// root (which must exist here), else `None`, the service's own account (a non-root
    /// service cannot change user). Never root for someone whose account is not root.
    pub fn run_as(&self) -> Result<Option<String>, String> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(None);
        }
        match nix::unistd::User::from_name(&self.os_user) {
            Ok(Some(_)) => Ok(Some(self.os_user.clone())),
            _ => Err(format!(
                "user {} maps to the OS account {:?}, which does not exist on this machine, so its jobs cannot run; \
                 create the account or map the user to another with `cimjob user add … --os-user`",
                self.name, self.os_user
            )),
        }
    }

    /// The refusal to show when [`Principal::may_control`] says no.
    pub fn refusal(&self, job: &str, owner: &str) -> String {
        format!("user {} may not change {job}, which belongs to {owner}; only its owner or an admin may", self.name)
    }
}

/// Why a request was not let in.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No (usable) credentials.
    Missing,
    /// Wrong user or password.
    Wrong,
    /// Too many failures from this client lately.
    Blocked(Duration),
}

#[derive(Clone, Default)]
struct Failures {
    /// The distinct wrong credentials tried in the window (hashes, never the passwords).
    tried: Vec<u64>,
    since: Option<Instant>,
    blocked_until: Option<Instant>,
}

/// What a failed attempt tried, to tell a new guess from a repeated one.
fn fingerprint(credentials: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // per-process random keys: the value says nothing outside this process
    static KEYS: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    let mut hasher = KEYS.get_or_init(Default::default).build_hasher();
    hasher.write(credentials.as_bytes());
    hasher.finish()
}

/// Checks credentials against the users file, with a cache and per-client failure limits.
pub struct Authenticator {
    users: Mutex<Users>,
    cache: Mutex<HashMap<String, (Principal, Instant)>>,
    failures: Mutex<HashMap<(Option<IpAddr>, String), Failures>>,
    /// One password check at a time per `Authorization` header: when many connections of one
    /// client arrive at once, one argon2 check serves them all (the others then find it in
    /// the cache) instead of each paying for its own.
    checking: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// How many argon2 checks were made (for tests and diagnostics).
    password_checks: std::sync::atomic::AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The user and password of a Basic `Authorization` header.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

impl Authenticator {
    /// Checks credentials against `users` (re-read as they change).
    pub fn new(users: Users) -> anyhow::Result<Authenticator> {
        Ok(Authenticator {
            users: Mutex::new(users),
            cache: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            checking: Mutex::new(HashMap::new()),
            password_checks: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn blocked(&self, client: Option<IpAddr>, user: &str, now: Instant) -> Option<Duration> {
        let failures = lock(&self.failures);
        let until = failures.get(&(client, user.to_string()))?.blocked_until?;
        (until > now).then(|| until - now)
    }

    /// Whether `user` tried this very password from `client` within the window and it was
    /// wrong: refused again at once, without the slow check (a client retrying a stale
    /// password costs nothing, and is no new guess).
    fn tried_before(
        &self,
        client: Option<IpAddr>,
        user: &str,
        password: &str,
        now: Instant,
    ) -> bool {
        let failures = lock(&self.failures);
        failures.get(&(client, user.to_string())).is_some_and(|f| {
            f.since
                .is_some_and(|s| now.duration_since(s) < FAILURE_WINDOW)
                && f.tried.contains(&fingerprint(password))
        })
    }

    /// Counts a failed attempt with `tried` (the password, or the header that had none) by
    /// `user` from `client`, unless the same was tried in the window already.
    fn failed(&self, client: Option<IpAddr>, user: Option<&str>, tried: &str, now: Instant) {
        let mut failures = lock(&self.failures);
        let in_window = |f: &Failures| {
            f.since
                .is_some_and(|s| now.duration_since(s) < FAILURE_WINDOW)
        };
        if failures.len() > 10_000 {
            failures.retain(|_, f| in_window(f) || f.blocked_until.is_some_and(|u| u > now));
        }
        let key = (client, user.unwrap_or("").to_string());
        let entry = failures.entry(key).or_default();
        if !in_window(entry) {
            *entry = Failures {
                since: Some(now),
                ..Failures::default()
            };
        }
        let guess = fingerprint(tried);
        let new_guess = !entry.tried.contains(&guess);
        if new_guess {
            entry.tried.push(guess);
        }
        let count = entry.tried.len();
        let client_text = client.map_or_else(|| "unknown".to_string(), |c| c.to_string());
        tracing::warn!(client = %client_text, user = user.unwrap_or("-"), failures = count, repeated = !new_guess, "authentication failed");
        if new_guess && count >= MAX_FAILURES as usize {
            entry.blocked_until = Some(now + BLOCK_FOR);
            tracing::warn!(client = %client_text, user = user.unwrap_or("-"), "too many failed attempts: refusing this user from this client for {} s", BLOCK_FOR.as_secs());
        }
    }

    /// Notices changed users (the file: one stat per request; the database: one query a
    /// second) and forgets cached credentials then, so a new user, a changed password or a
    /// removed user takes effect at once.
    fn refresh(&self) {
        if lock(&self.users).reload_if_changed().unwrap_or(false) {
            lock(&self.cache).clear();
            // a password tried wrong before may be the right one now
            for f in lock(&self.failures).values_mut() {
                f.tried.clear();
            }
        }
    }

    /// The answer that needs no password check: a cached principal, or a refusal (missing
    /// header, blocked client); `None` when the password must be verified.
    pub fn quick(
        &self,
        header: Option<&str>,
        client: Option<IpAddr>,
    ) -> Option<Result<Principal, Refusal>> {
        let now = Instant::now();
        let user = header
            .and_then(basic_credentials)
            .map_or_else(String::new, |(name, _)| name);
        if let Some(wait) = self.blocked(client, &user, now) {
            return Some(Err(Refusal::Blocked(wait)));
        }
        self.refresh();
        let Some(header) = header else {
            return Some(Err(Refusal::Missing));
        };
        match lock(&self.cache).get(header) {
            Some((principal, at)) if now.duration_since(*at) < CACHE_TTL => {
                Some(Ok(principal.clone()))
            }
            _ => None,
        }
    }

    /// The principal of an `Authorization` header, verifying the password when it is not
    /// cached (slow: call it off the async threads).
    pub fn authenticate(
        &self,
        header: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Principal, Refusal> {
        if let Some(answer) = self.quick(header, client) {
            return answer;
        }
        let now = Instant::now();
        let Some(header) = header else {
            return Err(Refusal::Missing);
        };
        let Some((name, password)) = basic_credentials(header) else {
            self.failed(client, None, header, now);
            return Err(Refusal::Missing);
        };
        if self.tried_before(client, &name, &password, now) {
            return Err(Refusal::Wrong);
        }
        let turn = lock(&self.checking)
            .entry(header.to_string())
            .or_default()
            .clone();
        let answer = {
            let _turn = lock(&turn);
            // whoever had the turn before may have just verified this very header
            match self.quick(Some(header), client) {
                Some(answer) => answer,
                None => self.check_password(header, &name, &password, client, now),
            }
        };
        let mut checking = lock(&self.checking);
        // ours and the map's: nobody else waits for this header
        if Arc::strong_count(&turn) <= 2 {
            checking.remove(header);
        }
        answer
    }

    /// The argon2 check itself, with the cache and failure count updated.
    fn check_password(
        &self,
        header: &str,
        name: &str,
        password: &str,
        client: Option<IpAddr>,
        now: Instant,
    ) -> Result<Principal, Refusal> {
        self.password_checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let verify = |user: Option<User>| {
            user.filter(|u| u.password_is(password)).map(|u| Principal {
                name: u.name,
                role: u.role,
                os_user: u.os_user,
            })
        };
        let known = lock(&self.users).get(name).cloned();
        let mut verified = verify(known);
        if verified.is_none() {
            // a user added or a password changed since the users were read (on any node,
            // when they are in the database): read them again before refusing
            let mut users = lock(&self.users);
            if users.reload().unwrap_or(false) {
                lock(&self.cache).clear();
                let known = users.get(name).cloned();
                drop(users);
                verified = verify(known);
            }
        }
        match verified {
            Some(principal) => {
                let mut cache = lock(&self.cache);
                if cache.len() >= MAX_CACHED {
                    cache.clear();
                }
                cache.insert(header.to_string(), (principal.clone(), now));
                Ok(principal)
            }
            None => {
                self.failed(client, Some(name), password, now);
                Err(Refusal::Wrong)
            }
        }
    }
}

/// The axum layer: lets in authenticated requests (with their [`Principal`] as an
/// extension) and the banner at `GET /`; answers 401 with a Basic challenge, or 429.
pub async fn require_authentication(
    State(auth): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::GET && request.uri().path() == "/" {
        return next.run(request).await;
    }
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // cached credentials are answered here; only a real password check leaves the async threads
    let outcome = match auth.quick(header.as_deref(), client) {
        Some(answer) => Ok(answer),
        None => {
            let checker = auth.clone();
            tokio::task::spawn_blocking(move || checker.authenticate(header.as_deref(), client))
                .await
        }
    };
    match outcome {
        Ok(Ok(principal)) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Ok(Err(Refusal::Blocked(wait))) => {
            let message = format!(
                "too many failed logins for this user name from this address: try again in {} s\n",
                wait.as_secs().max(1)
            );
            let mut r = (StatusCode::TOO_MANY_REQUESTS, message).into_response();
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
            r
        }
        Ok(Err(refusal)) => {
            let why = if refusal == Refusal::Wrong {
                "wrong user name or password"
            } else {
                "authentication required (HTTP Basic)"
            };
            let mut r = (StatusCode::UNAUTHORIZED, format!("{why}\n")).into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"cimjob\""),
            );
            r
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    #[test]
    fn owners_control_their_jobs_and_admins_all() {
        let alice = Principal {
            name: "alice".into(),
            role: Role::User,
            os_user: "alice".into(),
        };
        let root = Principal {
            name: "root".into(),
            role: Role::Admin,
            os_user: "root".into(),
        };
        assert!(alice.may_control("alice"));
        assert!(!alice.may_control("bob"));
        assert!(root.may_control("bob"));
        assert!(alice
            .refusal("CIMJOB:3", "bob")
            .contains("user alice may not change CIMJOB:3, which belongs to bob"));
    }

    /// A data dir whose users file holds one user (role user) with `password`.
    fn data_dir_with_user(name: &str, password: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut users = Users::load(dir.path()).unwrap();
        users.add(name, Role::User, name, password).unwrap();
        users.save().unwrap();
        dir
    }

    #[test]
    fn many_connections_of_one_client_at_once_cost_one_password_check() {
        let dir = data_dir_with_user("bob", "battery staple");
        let auth = Arc::new(Authenticator::new(Users::load(dir.path()).unwrap()).unwrap());
        let header = basic("bob", "battery staple");
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (auth, header) = (auth.clone(), header.clone());
                std::thread::spawn(move || auth.authenticate(Some(&header), None))
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap().unwrap().name, "bob");
        }
        assert_eq!(
            auth.password_checks
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
        assert!(lock(&auth.checking).is_empty(), "nothing left behind");
    }

    #[test]
    fn credentials_are_checked_cached_and_failures_block_the_client() {
        let dir = data_dir_with_user("alice", "correct horse");
        let auth = Authenticator::new(Users::load(dir.path()).unwrap()).unwrap();
        let good = basic("alice", "correct horse");
        assert_eq!(auth.authenticate(Some(&good), None).unwrap().name, "alice");
        assert_eq!(
            auth.authenticate(Some(&good), None).unwrap().role,
            Role::User,
            "cached"
        );
        assert_eq!(auth.authenticate(None, None), Err(Refusal::Missing));
        let client = Some("127.0.0.9".parse().unwrap());
        for _ in 0..2 * MAX_FAILURES {
            assert_eq!(
                auth.authenticate(Some(&basic("alice", "stale")), client),
                Err(Refusal::Wrong),
                "the same wrong password again is no new guess"
            );
        }
        assert!(auth.authenticate(Some(&good), client).is_ok());
        for guess in 1..MAX_FAILURES {
            assert_eq!(
                auth.authenticate(Some(&basic("alice", &format!("guess {guess}"))), client),
                Err(Refusal::Wrong)
            );
        }
        assert!(
            matches!(
                auth.authenticate(Some(&good), client),
                Err(Refusal::Blocked(_))
            ),
            "blocked even with the right password"
        );
        assert!(
            auth.authenticate(Some(&good), None).is_ok(),
            "other clients are not blocked"
        );
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert_eq!(
            basic_credentials(&basic("a", "b:c")),
            Some(("a".into(), "b:c".into()))
        );
    }
}
