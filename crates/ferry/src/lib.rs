//! ferry's async client: drives the sans-IO machines of `ferry-proto` over real
//! WebSocket and TCP connections and the file system.

pub mod archive;
