//! The HTTP receiver for webhook tests: a real, scriptable endpoint on
//! loopback that records every request and can answer 2xx, 5xx, 429 with
//! `Retry-After`, 4xx, hang, or go away and come back on the same port.
//!
//! It lives in kev-testkit (so kev's unit tests in `src/sink/webhook` use the
//! same one); integration tests reach it here.
#![allow(unused_imports)]

pub use kev_testkit::{ReceivedRequest, Receiver, Reply, ServerIdentity, TestCa};
