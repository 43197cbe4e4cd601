//! The SQLite file behind `serve --state FILE`: every resource as its JSON document, and every
//! stream session with its events. Each change is committed (synchronous, full fsync) before the
//! call returns, so what the API answered survives a crash.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, params};

/// Why the state file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("state file {}: {what}", path.display())]
pub struct StateError {
    /// The file.
    pub path: PathBuf,
    /// What was being done.
    pub what: &'static str,
    /// What SQLite said.
    #[source]
    pub source: rusqlite::Error,
}

/// A change to the stored resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Store (insert or replace) the document of `arn`.
    Put {
        /// The resource's ARN.
        arn: String,
        /// Its JSON document.
        doc: String,
    },
    /// Forget `arn`.
    Delete {
        /// The resource's ARN.
        arn: String,
    },
}

/// A stream session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// `st-…`.
    pub stream_id: String,
    /// Its channel.
    pub channel_arn: String,
    /// Whether it had a failure or breach event.
    pub has_error: bool,
    /// The GetStreamSession JSON.
    pub doc: String,
}

/// An open state file.
#[derive(Debug)]
pub struct StateDb {
    path: PathBuf,
    connection: Mutex<Connection>,
}

impl StateDb {
    /// Opens (or creates) the state file at `path`.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let fail = |what| {
            move |source| StateError {
                path: path.to_owned(),
                what,
                source,
            }
        };
        let connection = Connection::open(path).map_err(fail("cannot open it"))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 CREATE TABLE IF NOT EXISTS resources (
                     arn TEXT PRIMARY KEY NOT NULL,
                     doc TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS sessions (
                     stream_id TEXT PRIMARY KEY NOT NULL,
                     channel_arn TEXT NOT NULL,
                     has_error INTEGER NOT NULL,
                     doc TEXT NOT NULL);",
            )
            .map_err(fail(
                "it is not an ivs-recorder state file (or cannot be written)",
            ))?;
        Ok(Self {
            path: path.to_owned(),
            connection: Mutex::new(connection),
        })
    }

    /// Every stored resource document.
    pub fn resources(&self) -> Result<Vec<String>, StateError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare("SELECT doc FROM resources ORDER BY arn")
            .map_err(self.fail("cannot read its resources"))?;
        let rows = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(self.fail("cannot read its resources"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.fail("cannot read its resources"))
    }

    /// Applies `changes` in one transaction.
    pub fn apply(&self, changes: &[Change]) -> Result<(), StateError> {
        let mut connection = self.lock();
        let transaction = connection
            .transaction()
            .map_err(self.fail("cannot begin a transaction"))?;
        for change in changes {
            match change {
                Change::Put { arn, doc } => transaction.execute(
                    "INSERT OR REPLACE INTO resources (arn, doc) VALUES (?1, ?2)",
                    params![arn, doc],
                ),
                Change::Delete { arn } => {
                    transaction.execute("DELETE FROM resources WHERE arn = ?1", params![arn])
                }
            }
            .map_err(self.fail("cannot write a resource"))?;
        }
        transaction
            .commit()
            .map_err(self.fail("cannot commit a change"))
    }

    /// Stores (inserts or replaces) a stream session.
    pub fn put_session(&self, session: &StoredSession) -> Result<(), StateError> {
        self.lock()
            .execute(
                "INSERT OR REPLACE INTO sessions (stream_id, channel_arn, has_error, doc)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    session.stream_id,
                    session.channel_arn,
                    session.has_error,
                    session.doc
                ],
            )
            .map(drop)
            .map_err(self.fail("cannot write a stream session"))
    }

    /// Every stored stream session.
    pub fn sessions(&self) -> Result<Vec<StoredSession>, StateError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare("SELECT stream_id, channel_arn, has_error, doc FROM sessions")
            .map_err(self.fail("cannot read its stream sessions"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(StoredSession {
                    stream_id: row.get(0)?,
                    channel_arn: row.get(1)?,
                    has_error: row.get(2)?,
                    doc: row.get(3)?,
                })
            })
            .map_err(self.fail("cannot read its stream sessions"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.fail("cannot read its stream sessions"))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fail(&self, what: &'static str) -> impl Fn(rusqlite::Error) -> StateError + '_ {
        move |source| StateError {
            path: self.path.clone(),
            what,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_and_sessions_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let db = StateDb::open(&path).unwrap();
            db.apply(&[
                Change::Put {
                    arn: "a".into(),
                    doc: "{\"n\":1}".into(),
                },
                Change::Put {
                    arn: "b".into(),
                    doc: "{\"n\":2}".into(),
                },
            ])
            .unwrap();
            db.apply(&[
                Change::Delete { arn: "a".into() },
                Change::Put {
                    arn: "b".into(),
                    doc: "{\"n\":3}".into(),
                },
            ])
            .unwrap();
            db.put_session(&StoredSession {
                stream_id: "st-1".into(),
                channel_arn: "c".into(),
                has_error: true,
                doc: "{}".into(),
            })
            .unwrap();
        }
        let db = StateDb::open(&path).unwrap();
        assert_eq!(db.resources().unwrap(), vec!["{\"n\":3}".to_owned()]);
        let sessions = db.sessions().unwrap();
        assert_eq!(sessions.len(), 1);
        assert!(sessions[0].has_error);
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not.db");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let err = StateDb::open(&path).unwrap_err();
        assert!(err.to_string().contains("not.db"), "{err}");
    }
}
