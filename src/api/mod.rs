//! The IVS control plane (IVS 2020-07-14) as REST-JSON on `serve --api-listen`, so the AWS CLI
//! and SDKs drive `serve` unchanged (spec 6).
//!
//! - [`model`]: the IVS 2020-07-14 model (botocore's), every operation and shape.
//! - [`validate`]: pure; a request checked against its operation's input shape.
//! - [`error`]: pure; the error shapes, their statuses and wire form (spec 6.2).
//! - [`sigv4`]: pure; SigV4 signatures checked as the service checks them.
//! - [`pagination`], [`throttle`]: pure; `nextToken` pages and PutMetadata's rate limit.
//! - [`ops`]: the operations, over the catalog and the live registry.
//! - [`playback`]: what players fetch, from any origin: live playback at each channel's
//!   `playbackUrl` path, recorded objects with `Range`.
//! - [`query`]: pure; values read from a URL query string.
//! - [`console`]: the web console at `/` and the read-only JSON it draws from.
//! - [`server`]: the HTTP server: routing, signatures, model checks, responses.

pub mod console;
pub mod error;
pub mod model;
pub mod ops;
pub mod pagination;
pub mod playback;
pub mod query;
pub mod server;
pub mod sigv4;
pub mod throttle;
pub mod validate;
