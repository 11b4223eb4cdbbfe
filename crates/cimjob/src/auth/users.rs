//! The service's users: names, roles, the OS account each maps to, and argon2id password
//! hashes, in `<data-dir>/users.json` (mode 0600), or, for nodes sharing a PostgreSQL
//! database, in its `users` table, so every node knows the same users. `cimjob user …` edits
//! them; a running service notices the change and reloads them.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use cimjob_store::postgres::PostgresUsers;
use serde::{Deserialize, Serialize};

/// The file the users live in, in the data dir.
pub const USERS_FILE: &str = "users.json";
/// The file the generated password of the initial admin is written to (mode 0600).
pub const ADMIN_PASSWORD_FILE: &str = "admin-password";

/// What a user may do: a user controls its own jobs, an admin all jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Controls every job, manages users.
    Admin,
    /// Reads every job, controls its own.
    User,
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s.to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            _ => Err(format!("{s:?} is not a role: use admin or user")),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Admin => "admin",
            Role::User => "user",
        })
    }
}

/// One user as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The login name (HTTP Basic user).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The OS account its jobs run as.
    pub os_user: String,
    /// The argon2id hash, in PHC string form.
    pub hash: String,
}

impl User {
    /// Whether `password` is this user's. Deliberately slow (argon2id), and needs no lock on
    /// the users file, so different users are checked in parallel.
    pub fn password_is(&self, password: &str) -> bool {
        PasswordHash::new(&self.hash).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
    }
}

/// Where the users live: the data dir's file for a node of its own, the database for nodes
/// that share one.
#[derive(Clone, Debug)]
pub enum UsersPlace {
    /// `<data-dir>/users.json`.
    File(PathBuf),
    /// The `users` table of the PostgreSQL database at this URL.
    Database(String),
}

impl UsersPlace {
    /// The place the service and the CLI agree on: the database when one is named.
    pub fn new(data_dir: &Path, database_url: Option<&str>) -> UsersPlace {
        match database_url {
            Some(url) => UsersPlace::Database(url.to_owned()),
            None => UsersPlace::File(data_dir.to_owned()),
        }
    }

    /// Reads the users there (none if there are none yet).
    pub fn open(&self) -> anyhow::Result<Users> {
        match self {
            UsersPlace::File(data_dir) => Users::load(data_dir),
            UsersPlace::Database(url) => {
                let table = PostgresUsers::open(url).context("cannot open the users' table")?;
                Users::in_database(Arc::new(table))
            }
        }
    }
}

/// How often a service re-reads the users' table: a change made on any node takes effect
/// everywhere within this, at one small query per period.
const DATABASE_REFRESH: Duration = Duration::from_secs(1);

/// Where a [`Users`] was read from, and what it knows of the copy there.
#[derive(Debug)]
enum Backing {
    File {
        path: PathBuf,
        loaded_mtime: Option<SystemTime>,
    },
    Database {
        table: Arc<PostgresUsers>,
        read_at: Instant,
    },
}

/// The service's users: who may log in, with which role, and which OS account their jobs run
/// as. Re-read when they change, so `cimjob user` takes effect without a restart.
#[derive(Debug)]
pub struct Users {
    backing: Backing,
    users: Vec<User>,
    /// What changed since the last save, by name: the database is told of these only, so two
    /// commands editing different users at once both take effect.
    added: BTreeSet<String>,
    changed: BTreeSet<String>,
    removed: BTreeSet<String>,
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        bail!("{name:?} is not a user name: use 1 to 64 letters, digits, '.', '_' or '-'");
    }
    Ok(())
}

fn check_password(password: &str) -> anyhow::Result<()> {
    if password.chars().count() < 8 {
        bail!("the password is too short: use at least 8 characters");
    }
    if password.contains(['\n', '\r']) {
        bail!("the password must be one line");
    }
    Ok(())
}

/// An argon2id hash of `password` with a fresh salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

/// A random password for the initial admin: 24 URL-safe characters (144 bits).
pub fn generate_password() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 18];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn mtime(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The users in a database's table, in name order.
fn read_table(table: &PostgresUsers) -> anyhow::Result<Vec<User>> {
    table
        .all()?
        .into_iter()
        .map(|(name, document)| {
            serde_json::from_str(&document)
                .with_context(|| format!("user {name:?} in the database is not a user"))
        })
        .collect()
}

/// Writes `bytes` to `path` atomically (a temporary file renamed over it), mode 0600.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))?;
    fs::rename(&tmp, path)?;
    Ok(())
}

impl Users {
    /// The users of a data dir (none if the file does not exist yet).
    pub fn load(data_dir: &Path) -> anyhow::Result<Users> {
        let path = data_dir.join(USERS_FILE);
        let users = match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("{} is not a users file", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let backing = Backing::File {
            loaded_mtime: mtime(&path),
            path,
        };
        Ok(Users::with(backing, users))
    }

    /// The users in a database's table.
    pub fn in_database(table: Arc<PostgresUsers>) -> anyhow::Result<Users> {
        let users = read_table(&table)?;
        let backing = Backing::Database {
            table,
            read_at: Instant::now(),
        };
        Ok(Users::with(backing, users))
    }

    fn with(backing: Backing, users: Vec<User>) -> Users {
        Users {
            backing,
            users,
            added: BTreeSet::new(),
            changed: BTreeSet::new(),
            removed: BTreeSet::new(),
        }
    }

    /// Re-reads the users if they changed since they were read (the file: one stat; the
    /// database: at most one query per [`DATABASE_REFRESH`]); true if they did.
    pub fn reload_if_changed(&mut self) -> anyhow::Result<bool> {
        match &self.backing {
            Backing::Database { read_at, .. } if read_at.elapsed() < DATABASE_REFRESH => Ok(false),
            _ => self.reload(),
        }
    }

    /// Re-reads the users now (the file only if it changed); true if they changed. For a
    /// name or password not known yet: one query, cheap beside the password check it follows.
    pub fn reload(&mut self) -> anyhow::Result<bool> {
        match &mut self.backing {
            Backing::File { path, loaded_mtime } => {
                if mtime(path) == *loaded_mtime {
                    return Ok(false);
                }
                let dir = path.parent().unwrap_or(Path::new(".")).to_owned();
                *self = Users::load(&dir)?;
                Ok(true)
            }
            Backing::Database { table, read_at } => {
                *read_at = Instant::now();
                let users = read_table(table)?;
                if users == self.users {
                    return Ok(false);
                }
                self.users = users;
                Ok(true)
            }
        }
    }

    /// Makes the changes durable: the file is written whole, atomically, readable by its
    /// owner only; the database is told of each changed user, and refuses a name another
    /// command added meanwhile.
    pub fn save(&mut self) -> anyhow::Result<()> {
        match &mut self.backing {
            Backing::File { path, loaded_mtime } => {
                write_private(path, serde_json::to_string_pretty(&self.users)?.as_bytes())?;
                *loaded_mtime = mtime(path);
            }
            Backing::Database { table, .. } => {
                for user in &self.users {
                    let document = serde_json::to_string(user)?;
                    if self.added.contains(&user.name) {
                        if !table.add(&user.name, &document)? {
                            bail!("user {:?} already exists", user.name);
                        }
                    } else if self.changed.contains(&user.name) {
                        table.save(&user.name, &document)?;
                    }
                }
                for name in &self.removed {
                    table.erase(name)?;
                }
            }
        }
        self.added.clear();
        self.changed.clear();
        self.removed.clear();
        Ok(())
    }

    /// Every user.
    pub fn list(&self) -> &[User] {
        &self.users
    }

    /// The user with this name.
    pub fn get(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Adds a user; the name must be new.
    pub fn add(
        &mut self,
        name: &str,
        role: Role,
        os_user: &str,
        password: &str,
    ) -> anyhow::Result<()> {
        check_name(name)?;
        check_password(password)?;
        if self.get(name).is_some() {
            bail!("user {name:?} already exists; use `cimjob user passwd {name}` to change its password");
        }
        self.users.push(User {
            name: name.to_string(),
            role,
            os_user: os_user.to_string(),
            hash: hash_password(password)?,
        });
        self.removed.remove(name);
        self.added.insert(name.to_owned());
        Ok(())
    }

    /// Sets a user's password.
    pub fn set_password(&mut self, name: &str, password: &str) -> anyhow::Result<()> {
        check_password(password)?;
        let hash = hash_password(password)?;
        let user = self
            .users
            .iter_mut()
            .find(|u| u.name == name)
            .with_context(|| format!("no user {name:?}"))?;
        user.hash = hash;
        self.changed.insert(name.to_owned());
        Ok(())
    }

    /// Removes a user; the last admin cannot be removed.
    pub fn remove(&mut self, name: &str) -> anyhow::Result<()> {
        let user = self
            .get(name)
            .with_context(|| format!("no user {name:?}"))?;
        if user.role == Role::Admin
            && self.users.iter().filter(|u| u.role == Role::Admin).count() == 1
        {
            bail!("{name:?} is the last admin and cannot be removed");
        }
        self.users.retain(|u| u.name != name);
        if !self.added.remove(name) {
            self.removed.insert(name.to_owned());
        }
        self.changed.remove(name);
        Ok(())
    }

    /// The user if `password` is theirs (the tests' shorthand).
    #[cfg(test)]
    pub fn verify(&self, name: &str, password: &str) -> Option<&User> {
        self.get(name).filter(|user| user.password_is(password))
    }
}

/// Where there are no users yet, creates `admin` (mapped to `os_user`) with the password in
/// `$CIMJOB_ADMIN_PASSWORD`, or a generated one written to `<data-dir>/admin-password` (0600).
/// Returns the generated password, so the service can print it once. Of nodes starting at
/// once on one database, one makes the admin and the others find it.
pub fn ensure_admin(
    users: &mut Users,
    data_dir: &Path,
    os_user: &str,
) -> anyhow::Result<Option<String>> {
    if !users.list().is_empty() {
        return Ok(None);
    }
    let (password, generated) = match std::env::var("CIMJOB_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (generate_password(), true),
    };
    users
        .add("admin", Role::Admin, os_user, &password)
        .context("CIMJOB_ADMIN_PASSWORD")?;
    if let Err(error) = users.save() {
        users.reload()?;
        if users.get("admin").is_some() {
            return Ok(None);
        }
        return Err(error);
    }
    if !generated {
        return Ok(None);
    }
    write_private(
        &data_dir.join(ADMIN_PASSWORD_FILE),
        format!("{password}\n").as_bytes(),
    )?;
    Ok(Some(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_round_trip_through_the_file_with_hashes_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut users = Users::load(dir.path()).unwrap();
        users
            .add("alice", Role::User, "alice", "correct horse")
            .unwrap();
        users.save().unwrap();
        let text = fs::read_to_string(dir.path().join(USERS_FILE)).unwrap();
        assert!(!text.contains("correct horse") && text.contains("$argon2id$"));
        let mode = fs::metadata(dir.path().join(USERS_FILE))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let users = Users::load(dir.path()).unwrap();
        assert_eq!(
            users.verify("alice", "correct horse").map(|u| u.role),
            Some(Role::User)
        );
        assert!(users.verify("alice", "wrong horse").is_none());
        assert!(users.verify("bob", "correct horse").is_none());
    }

    #[test]
    fn bad_names_passwords_and_duplicates_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut users = Users::load(dir.path()).unwrap();
        assert!(users
            .add("no spaces", Role::User, "x", "longenough")
            .unwrap_err()
            .to_string()
            .contains("\"no spaces\""));
        assert!(users
            .add("bob", Role::User, "bob", "short")
            .unwrap_err()
            .to_string()
            .contains("too short"));
        users.add("bob", Role::Admin, "bob", "longenough").unwrap();
        assert!(users
            .add("bob", Role::User, "bob", "longenough")
            .unwrap_err()
            .to_string()
            .contains("already exists"));
        assert!(users
            .remove("bob")
            .unwrap_err()
            .to_string()
            .contains("last admin"));
        users.set_password("bob", "another one").unwrap();
        assert!(users.verify("bob", "another one").is_some());
    }

    #[test]
    fn the_first_admin_gets_a_generated_password_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        std::env::remove_var("CIMJOB_ADMIN_PASSWORD");
        let password = ensure_admin(&mut Users::load(dir.path()).unwrap(), dir.path(), "root")
            .unwrap()
            .expect("generated");
        let file = dir.path().join(ADMIN_PASSWORD_FILE);
        assert_eq!(fs::read_to_string(&file).unwrap().trim(), password);
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            Users::load(dir.path())
                .unwrap()
                .verify("admin", &password)
                .map(|u| u.role),
            Some(Role::Admin)
        );
        assert_eq!(
            ensure_admin(&mut Users::load(dir.path()).unwrap(), dir.path(), "root").unwrap(),
            None,
            "only once"
        );
    }
}
