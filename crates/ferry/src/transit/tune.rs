//! How a transit TCP connection is set up for bulk data: no Nagle delay, and
//! BBR as its congestion control where the kernel lets this process pick it.
//!
//! Measured with `bench/transfer --link` (one stream, 32 MiB, the emulator's
//! links): Linux's default cubic halves its window on every loss, so random loss
//! caps it far below the line whatever the buffers (iperf3: 3.6 Mbit/s of 100
//! Mbit/s at 80 ms and 0.5 % loss, 1.3 of 20 at 200 ms and 1 %); BBR paces at the
//! bottleneck rate it measures and fills both (86 and 16 Mbit/s). Only the
//! sender's choice matters (it is where the data's window lives); the receiver
//! sets it too, as it sends the acknowledgements' direction. An unprivileged
//! process gets BBR only when it is loaded and in
//! `net.ipv4.tcp_allowed_congestion_control`; otherwise the system's default
//! stays. Socket buffers are left alone: setting them would switch off the
//! kernel's autotuning, whose limits (`tcp_rmem`/`tcp_wmem`, 4–6 MiB by default)
//! already exceed these links' bandwidth-delay products.

use tokio::net::TcpStream;

/// Congestion control asked for on every transit socket.
const CONGESTION: &[u8] = b"bbr";

/// Sets up `tcp` for transit; a setting the system refuses is left as it is.
pub(crate) fn tune(tcp: &TcpStream) {
    let _ = tcp.set_nodelay(true);
    let _ = socket2::SockRef::from(tcp).set_tcp_congestion(CONGESTION);
}
