//! Tests of the archive module: round trips, other readers, hostile input,
//! ZIP64.
#![cfg(unix)]

mod hostile;
mod large;
mod roundtrip;
mod support;
