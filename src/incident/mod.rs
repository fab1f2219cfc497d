//! The incident view's model: events grouped by what is going wrong
//! ([`group`]), a message's shape with its variable parts normalised
//! ([`normalize`]), and the workload an event is about ([`workload`]).
//!
//! `--summary` prints these groups once (the summary sink,
//! src/sink/summary.rs); nothing here prints.

pub mod group;
pub mod live;
pub mod normalize;
pub mod workload;

pub use group::{Group, GroupKey, Summary};
pub use workload::{Owners, Workload};
