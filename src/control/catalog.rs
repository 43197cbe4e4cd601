//! Every resource of the control plane as its JSON document, in the API's wire shape (the shape
//! `Get*` returns), keyed by ARN. Reads and writes happen in closures under one lock, so a check
//! and the change it guards (for example "no channel uses this configuration" and the delete)
//! are atomic; a write is committed to the state file, when there is one, before it returns, and
//! undone in memory when that commit fails.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::arn::{Account, ResourceKind};
use super::state_db::{Change, StateDb, StateError};

/// The resources, and where they are kept.
#[derive(Debug)]
pub struct Catalog {
    account: Account,
    inner: Mutex<Resources>,
    db: Option<Arc<StateDb>>,
}

#[derive(Debug, Default)]
struct Resources {
    docs: BTreeMap<String, Value>,
    /// Stream key value → the key's ARN.
    keys: HashMap<String, String>,
}

impl Resources {
    fn insert(&mut self, arn: String, doc: Value) {
        if let Some(old) = self.docs.get(&arn) {
            let old_value = key_value(old).map(str::to_owned);
            if let Some(value) = old_value {
                self.keys.remove(&value);
            }
        }
        if ResourceKind::of_arn(&arn) == Some(ResourceKind::StreamKey)
            && let Some(value) = key_value(&doc)
        {
            self.keys.insert(value.to_owned(), arn.clone());
        }
        self.docs.insert(arn, doc);
    }

    fn remove(&mut self, arn: &str) -> Option<Value> {
        let doc = self.docs.remove(arn)?;
        if let Some(value) = key_value(&doc) {
            self.keys.remove(value);
        }
        Some(doc)
    }
}

fn key_value(doc: &Value) -> Option<&str> {
    doc.get("value").and_then(Value::as_str)
}

/// The ARN of a document.
pub fn arn_of(doc: &Value) -> &str {
    doc.get("arn").and_then(Value::as_str).unwrap_or_default()
}

/// A view of the resources inside [`Catalog::read`] or [`Catalog::write`].
#[derive(Debug)]
pub struct Txn<'a> {
    resources: &'a mut Resources,
    /// Each touched ARN and its document before the transaction (`None`: it did not exist).
    before: BTreeMap<String, Option<Value>>,
}

impl Txn<'_> {
    /// The document of `arn`.
    pub fn get(&self, arn: &str) -> Option<&Value> {
        self.resources.docs.get(arn)
    }

    /// Every document of `kind`, ordered by ARN.
    pub fn list(&self, kind: ResourceKind) -> impl Iterator<Item = &Value> {
        self.resources
            .docs
            .iter()
            .filter(move |(arn, _)| ResourceKind::of_arn(arn) == Some(kind))
            .map(|(_, doc)| doc)
    }

    /// The stream key whose value is `value`.
    pub fn stream_key(&self, value: &str) -> Option<&Value> {
        self.resources
            .keys
            .get(value)
            .and_then(|arn| self.resources.docs.get(arn))
    }

    /// Stores `doc` under its `arn` member, replacing what was there.
    pub fn put(&mut self, doc: Value) {
        let arn = arn_of(&doc).to_owned();
        self.remember(&arn);
        self.resources.insert(arn, doc);
    }

    /// Removes `arn`, returning its document.
    pub fn remove(&mut self, arn: &str) -> Option<Value> {
        self.remember(arn);
        self.resources.remove(arn)
    }

    fn remember(&mut self, arn: &str) {
        if !self.before.contains_key(arn) {
            let old = self.resources.docs.get(arn).cloned();
            self.before.insert(arn.to_owned(), old);
        }
    }

    /// The changes to store, and undoes nothing.
    fn changes(&self) -> Vec<Change> {
        self.before
            .keys()
            .map(|arn| match self.resources.docs.get(arn) {
                Some(doc) => Change::Put {
                    arn: arn.clone(),
                    doc: doc.to_string(),
                },
                None => Change::Delete { arn: arn.clone() },
            })
            .collect()
    }

    fn undo(self) {
        for (arn, old) in self.before {
            self.resources.remove(&arn);
            if let Some(doc) = old {
                self.resources.insert(arn, doc);
            }
        }
    }
}

impl Catalog {
    /// A catalog in `account`, holding what `db` stored (empty without one).
    pub fn open(account: Account, db: Option<Arc<StateDb>>) -> Result<Self, StateError> {
        let mut resources = Resources::default();
        if let Some(db) = &db {
            for text in db.resources()? {
                match serde_json::from_str::<Value>(&text) {
                    Ok(doc) => {
                        let arn = arn_of(&doc).to_owned();
                        resources.insert(arn, doc);
                    }
                    Err(err) => tracing::warn!("skipping an unreadable stored resource: {err}"),
                }
            }
        }
        Ok(Self {
            account,
            inner: Mutex::new(resources),
            db,
        })
    }

    /// Where resources are created.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// Runs `read` on the resources.
    pub fn read<R>(&self, read: impl FnOnce(&Txn<'_>) -> R) -> R {
        let mut resources = self.lock();
        let txn = Txn {
            resources: &mut resources,
            before: BTreeMap::new(),
        };
        read(&txn)
    }

    /// Runs `write` on the resources; when it succeeds, its changes are stored before this
    /// returns. When it fails, or storing fails, nothing it did remains.
    pub fn write<R, E: From<StateError>>(
        &self,
        write: impl FnOnce(&mut Txn<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut resources = self.lock();
        let mut txn = Txn {
            resources: &mut resources,
            before: BTreeMap::new(),
        };
        let result = write(&mut txn);
        let stored = match (&result, &self.db) {
            (Ok(_), Some(db)) if !txn.before.is_empty() => db.apply(&txn.changes()),
            _ => Ok(()),
        };
        match (result, stored) {
            (Ok(value), Ok(())) => Ok(value),
            (Ok(_), Err(err)) => {
                txn.undo();
                Err(err.into())
            }
            (Err(err), _) => {
                txn.undo();
                Err(err)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Resources> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn account() -> Account {
        Account {
            region: "us-west-2".into(),
            account_id: "123456789012".into(),
        }
    }

    #[derive(Debug)]
    enum TestError {
        Refused,
        State,
    }

    impl From<StateError> for TestError {
        fn from(_: StateError) -> Self {
            Self::State
        }
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let catalog = Catalog::open(account(), None).unwrap();
        let channel = catalog.account().new_arn(ResourceKind::Channel);
        let key = catalog.account().new_arn(ResourceKind::StreamKey);
        catalog
            .write(|txn| {
                txn.put(json!({"arn": channel, "name": "a"}));
                Ok::<_, TestError>(())
            })
            .unwrap();
        let refused = catalog.write(|txn| {
            txn.remove(&channel);
            txn.put(json!({"arn": key, "value": "sk_1", "channelArn": channel}));
            Err::<(), _>(TestError::Refused)
        });
        assert!(matches!(refused, Err(TestError::Refused)));
        catalog.read(|txn| {
            assert_eq!(txn.get(&channel).unwrap()["name"], "a");
            assert!(txn.get(&key).is_none());
            assert!(txn.stream_key("sk_1").is_none());
            assert_eq!(txn.list(ResourceKind::Channel).count(), 1);
        });
    }

    #[test]
    fn stream_keys_are_found_by_value_and_resources_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let key = account().new_arn(ResourceKind::StreamKey);
        {
            let db = Arc::new(StateDb::open(&path).unwrap());
            let catalog = Catalog::open(account(), Some(db)).unwrap();
            catalog
                .write(|txn| {
                    txn.put(json!({"arn": key, "value": "sk_old"}));
                    txn.put(json!({"arn": key, "value": "sk_new"}));
                    Ok::<_, TestError>(())
                })
                .unwrap();
        }
        let db = Arc::new(StateDb::open(&path).unwrap());
        let catalog = Catalog::open(account(), Some(db)).unwrap();
        catalog.read(|txn| {
            assert!(txn.stream_key("sk_old").is_none());
            assert_eq!(arn_of(txn.stream_key("sk_new").unwrap()), key);
        });
    }
}
