//! The lock that keeps a restore away from an SQLite database in use.
//!
//! Every process that opens the database as a store (a server, `admin provision`) holds a
//! shared `flock` on `<database.path>-lock` for as long as it runs; `admin restore` and
//! `admin new-epoch` take it exclusively, without waiting, and refuse when they cannot. The
//! lock is a file of its own because closing any descriptor of the database file would drop
//! SQLite's own POSIX locks in this process.
//!
//! Plain file system calls: depends on nothing but the store's error type.

use std::{
    fs::{File, TryLockError},
    path::{Path, PathBuf},
};

use crate::server::store::StoreError;

/// `path` with `suffix` appended to its file name (`db` → `db-lock`).
pub(in crate::server::store) fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Opens (creating) the lock file of the database at `path`.
fn lock_file(path: &Path) -> Result<File, StoreError> {
    let lock = beside(path, "-lock");
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|err| StoreError::Refused(format!("cannot open {}: {err}", lock.display())))
}

/// The shared lock a store holds while it uses the database at `path`; refused while a
/// restore holds it exclusively. Dropping the file releases it.
pub(in crate::server::store) fn lock_shared(path: &Path) -> Result<File, StoreError> {
    lock(path, false)
}

/// The exclusive lock an admin command needs to change the database at `path` under everyone;
/// refused while any server (or other admin command) has it open.
pub(in crate::server::store) fn lock_exclusive(path: &Path) -> Result<File, StoreError> {
    lock(path, true)
}

/// Takes the lock of the database at `path` without waiting, shared or exclusive.
fn lock(path: &Path, exclusive: bool) -> Result<File, StoreError> {
    let file = lock_file(path)?;
    let taken = if exclusive {
        file.try_lock()
    } else {
        file.try_lock_shared()
    };
    match taken {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) if exclusive => Err(StoreError::Refused(format!(
            "a switchboard server (or admin command) is using {}; stop it first",
            path.display()
        ))),
        Err(TryLockError::WouldBlock) => Err(StoreError::Refused(format!(
            "{} is being restored or renewed by an admin command; try again when it is done",
            path.display()
        ))),
        Err(TryLockError::Error(err)) => Err(StoreError::Refused(format!(
            "cannot lock {}-lock: {err}",
            path.display()
        ))),
    }
}
