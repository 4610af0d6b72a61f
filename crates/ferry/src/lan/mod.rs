//! LocalSend-compatible LAN transfers: finding devices and talking to them.
pub mod discovery;
