//! kev watches, filters and ships Kubernetes Events.
//!
//! # Layout
//!
//! - [`model`]: the normalized [`model::Event`] built from core/v1, events.k8s.io/v1
//!   or raw JSON, and the NDJSON schema v1 record.
pub mod model;
pub mod testkit;
