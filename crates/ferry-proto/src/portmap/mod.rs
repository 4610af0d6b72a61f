//! Port mapping on the home router: the messages of the three protocols that ask a
//! gateway to forward an external port to our transit listener, sans-IO.
//!
//! - [`pcp`]: Port Control Protocol (RFC 6887), the MAP opcode over UDP 5351;
//! - [`natpmp`]: NAT-PMP (RFC 6886), PCP's predecessor on the same port;
//! - [`ssdp`] and [`igd`]: UPnP Internet Gateway Device: an SSDP search on the LAN,
//!   the device description (which control URL to post to) and the SOAP actions
//!   `GetExternalIPAddress`, `AddPortMapping` and `DeletePortMapping`.
//!
//! Every answer comes from a box on the LAN that we do not control: decoders are
//! strict (exact lengths, matching opcodes, nonces and ports) and bounded (inputs
//! longer than [`MAX_HTTP`] are refused, never buffered further). The driver that
//! owns the sockets and the clock is `ferry::transit::portmap`.

pub mod igd;
pub mod natpmp;
pub mod pcp;
pub mod ssdp;

/// The largest SSDP answer, description or SOAP response we read (bytes).
pub const MAX_HTTP: usize = 64 * 1024;

/// Why a gateway's answer was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// The bytes are not the message expected here (wrong size, version, opcode,
    /// nonce, status line, ...): a gateway speaking another protocol, or garbage.
    #[error("malformed answer: {0}")]
    Malformed(&'static str),
    /// A well-formed refusal, with the protocol's result or error code.
    #[error("refused with code {0}")]
    Refused(u16),
}
