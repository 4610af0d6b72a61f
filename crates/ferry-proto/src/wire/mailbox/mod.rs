//! The rendezvous ("mailbox") server protocol: one JSON object per WebSocket
//! frame, discriminated by its `type` field. Both ends live here, so the client
//! (`ferry`) and the server (`ferry-server`) share one definition of each frame:
//!
//! - [`client_frames`]: commands a client sends (`bind`, `claim`, `add`, …),
//!   encoded by the client, decoded by the server;
//! - [`server_frames`]: what the server sends back (`welcome`, `ack`, `message`,
//!   `error`, …), encoded by the server, decoded by the client.

pub mod client_frames;
pub mod server_frames;
#[cfg(test)]
mod tests;

pub use client_frames::{
    ClientEnvelope, ClientFrame, ClientMessage, Command, Field, FrameError, Mood,
};
pub use server_frames::{NameplateEntry, ServerFrame, ServerMessage, Welcome};
