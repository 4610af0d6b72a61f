//! Forwarding between two TCP sockets inside the kernel (Linux): each
//! direction splices socket → pipe → socket, so relayed bytes are never copied
//! into user space.
//!
//! A direction fills its pipe from the source, then drains it all into the
//! destination before filling again. The pipe is thus empty when filled and
//! non-empty when drained, so `EAGAIN` always comes from the socket and
//! clearing that socket's tokio readiness on it is right (no busy loop).

use std::io;
use std::os::fd::OwnedFd;

use rustix::io::Errno;
use rustix::pipe::{fcntl_getpipe_size, fcntl_setpipe_size, pipe_with, PipeFlags, SpliceFlags};
use tokio::io::Interest;
use tokio::net::TcpStream;

use super::meter::{Meter, SpliceEnd, BUF};

/// Pipe capacity asked for: less CPU per byte than the default 64 KiB, and
/// measured as cheap as 1 MiB while using a quarter of the per-user pipe pages
/// (`/proc/sys/fs/pipe-user-pages-soft`, 16384 by default: 128 pairs).
const PIPE_SIZE: usize = 256 * 1024;

const FLAGS: SpliceFlags = SpliceFlags::MOVE.union(SpliceFlags::NONBLOCK);

/// Forwards both ways until one side ends.
pub(super) async fn both_ways(a: &TcpStream, b: &TcpStream, meter: &Meter<'_>) -> SpliceEnd {
    tokio::select! {
        e = pump(a, b, meter, Path::new()) => e,
        e = pump(b, a, meter, Path::new()) => e,
    }
}

/// Forwards one direction until it ends.
async fn pump(from: &TcpStream, to: &TcpStream, meter: &Meter<'_>, mut path: Path) -> SpliceEnd {
    loop {
        let n = match from.async_io(Interest::READABLE, || path.take(from)).await {
            Ok(0) => return SpliceEnd::Closed,
            Ok(n) => n,
            Err(e) if path.can_fall_back(&e) => {
                path = Path::user();
                continue;
            }
            Err(_) => return SpliceEnd::Closed,
        };
        if !meter.admit(n) {
            return SpliceEnd::OverLimit;
        }
        if drain(to, &mut path, n).await.is_err() {
            return SpliceEnd::Closed;
        }
    }
}

/// Writes the `left` bytes waiting in `path` to `to`.
async fn drain(to: &TcpStream, path: &mut Path, mut left: usize) -> io::Result<()> {
    while left > 0 {
        match to
            .async_io(Interest::WRITABLE, || path.give(to, left))
            .await?
        {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => left -= n,
        }
    }
    Ok(())
}

/// Where one direction's bytes wait between the two sockets.
enum Path {
    /// A pipe: the kernel moves pages from socket to socket.
    Kernel { r: OwnedFd, w: OwnedFd, size: usize },
    /// A buffer, if there is no pipe or splice is refused (`EINVAL`, `ENOSYS`).
    User { buf: Box<[u8]>, filled: usize },
}

impl Path {
    fn new() -> Self {
        Self::pipe().unwrap_or_else(|_| Self::user())
    }

    fn pipe() -> io::Result<Self> {
        let (r, w) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        // Refused past the per-user pipe limits: the pipe keeps the size it
        // was made with (small then, but forwarding stays correct).
        let size = fcntl_setpipe_size(&w, PIPE_SIZE).or_else(|_| fcntl_getpipe_size(&w))?;
        Ok(Path::Kernel { r, w, size })
    }

    fn user() -> Self {
        Path::User {
            buf: vec![0; BUF].into(),
            filled: 0,
        }
    }

    /// Takes what `from` has, up to the room here; 0 at its end.
    fn take(&mut self, from: &TcpStream) -> io::Result<usize> {
        let n = match self {
            Path::Kernel { w, size, .. } => {
                rustix::pipe::splice(from, None, &*w, None, *size, FLAGS)?
            }
            Path::User { buf, filled } => {
                *filled = rustix::io::read(from, &mut buf[..])?;
                *filled
            }
        };
        Ok(n)
    }

    /// Gives `to` some of the last `left` bytes taken.
    fn give(&mut self, to: &TcpStream, left: usize) -> io::Result<usize> {
        let n = match self {
            Path::Kernel { r, .. } => rustix::pipe::splice(&*r, None, to, None, left, FLAGS)?,
            Path::User { buf, filled } => rustix::io::write(to, &buf[*filled - left..*filled])?,
        };
        Ok(n)
    }

    fn can_fall_back(&self, e: &io::Error) -> bool {
        let refused = matches!(Errno::from_io_error(e), Some(Errno::INVAL | Errno::NOSYS));
        refused && matches!(self, Path::Kernel { .. })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::metrics::Metrics;

    /// Both ends of one loopback connection.
    async fn connected() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let near = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        (near, l.accept().await.unwrap().0)
    }

    /// Sends 3 MB through `pump` and closes the source; returns what arrived,
    /// how the pump ended and the bytes it counted.
    async fn through(path: Path, budget: Option<u64>) -> (Vec<u8>, Vec<u8>, SpliceEnd, u64) {
        let (mut src, from) = connected().await;
        let (to, mut dst) = connected().await;
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let metrics = Metrics::default();
        let meter = Meter::new(budget, &metrics.relay_bytes_total);
        let send = async {
            let _ = src.write_all(&data).await;
            drop(src);
        };
        let forward = async move {
            let end = pump(&from, &to, &meter, path).await;
            drop(to);
            end
        };
        let recv = async {
            let mut got = Vec::new();
            let _ = dst.read_to_end(&mut got).await;
            got
        };
        let all = async { tokio::join!(send, forward, recv) };
        let ((), end, got) = tokio::time::timeout(Duration::from_secs(20), all)
            .await
            .unwrap();
        (data, got, end, metrics.relay_bytes_total.get())
    }

    #[tokio::test]
    async fn both_paths_forward_everything_then_end() {
        for path in [Path::pipe().unwrap(), Path::user()] {
            let (data, got, end, counted) = through(path, None).await;
            assert_eq!(end, SpliceEnd::Closed);
            assert!(
                got == data,
                "{} of {} bytes, not intact",
                got.len(),
                data.len()
            );
            assert_eq!(counted, data.len() as u64);
        }
    }

    #[tokio::test]
    async fn both_paths_stop_over_budget() {
        for path in [Path::pipe().unwrap(), Path::user()] {
            let (data, got, end, counted) = through(path, Some(1_000_000)).await;
            assert_eq!(end, SpliceEnd::OverLimit);
            assert!(counted <= 1_000_000 && got.len() as u64 == counted);
            assert_eq!(got[..], data[..got.len()]);
        }
    }

    #[test]
    fn only_refused_splices_fall_back() {
        let kernel = Path::pipe().unwrap();
        assert!(kernel.can_fall_back(&Errno::NOSYS.into()));
        assert!(kernel.can_fall_back(&Errno::INVAL.into()));
        assert!(!kernel.can_fall_back(&Errno::CONNRESET.into()));
        assert!(!Path::user().can_fall_back(&Errno::INVAL.into()));
    }
}
