//! The control plane's state: every IVS resource the API creates (recording configurations,
//! channels, stream keys, playback key pairs, restriction policies, ad and failover-slate
//! configurations) and their tags, in one catalog that both the API and live ingest read, kept
//! in memory and, with `--state FILE`, in SQLite.
//!
//! - [`arn`]: pure; resource kinds and their ARNs.
//! - [`catalog`]: the resources as JSON documents in the API's wire shape, changed in
//!   transactions that are durable before they return.
//! - [`documents`]: pure; new resources with IVS's defaults.
//! - [`state_db`]: the SQLite file behind `--state`: resources and stream sessions.

pub mod arn;
pub mod catalog;
pub mod documents;
pub mod state_db;
