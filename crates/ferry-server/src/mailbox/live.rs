//! The bounded queue of live messages from the state thread to one listening
//! connection.
//!
//! It replaces a `tokio::sync::mpsc` channel, which allocates its first block of
//! 32 slots (about 1.1 KiB for 32-byte frames) when it is made: every client with
//! an open mailbox paid that while idle, an eighth of what one cost the server.
//! This one holds a `VecDeque` that allocates on the first message and a waker:
//! about 100 bytes for an idle listener. The state thread only ever
//! [`LiveTx::try_send`]s (it never waits); the connection task awaits
//! [`LiveRx::recv`].
//!
//! Closing follows tokio's channel: the queue is closed once every sender is
//! gone or the receiver closes it; the receiver still gets what was queued
//! before, then `None`.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

use futures_util::task::AtomicWaker;
use tokio_tungstenite_030::tungstenite::Utf8Bytes;

/// Why [`LiveTx::try_send`] failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TrySendError {
    /// The connection has `capacity` frames it has not written yet.
    Full,
    /// The connection is gone or stopped listening.
    Closed,
}

#[derive(Debug)]
struct Queue {
    frames: VecDeque<Utf8Bytes>,
    capacity: usize,
    senders: usize,
    closed: bool,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    waker: AtomicWaker,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding this lock leaves the queue consistent: go on.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The state thread's end; cloned into every delivery.
#[derive(Debug)]
pub(crate) struct LiveTx(Arc<Shared>);

/// The connection's end.
#[derive(Debug)]
pub(crate) struct LiveRx(Arc<Shared>);

/// A queue of at most `capacity` frames.
pub(crate) fn channel(capacity: usize) -> (LiveTx, LiveRx) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            frames: VecDeque::new(),
            capacity: capacity.max(1),
            senders: 1,
            closed: false,
        }),
        waker: AtomicWaker::new(),
    });
    (LiveTx(Arc::clone(&shared)), LiveRx(shared))
}

impl LiveTx {
    /// Queues a frame without waiting.
    pub(crate) fn try_send(&self, frame: Utf8Bytes) -> Result<(), TrySendError> {
        {
            let mut q = self.0.lock();
            if q.closed {
                return Err(TrySendError::Closed);
            }
            if q.frames.len() >= q.capacity {
                return Err(TrySendError::Full);
            }
            q.frames.push_back(frame);
        }
        self.0.waker.wake();
        Ok(())
    }

    /// Whether the receiver is gone or closed the queue.
    pub(crate) fn is_closed(&self) -> bool {
        self.0.lock().closed
    }
}

impl Clone for LiveTx {
    fn clone(&self) -> Self {
        self.0.lock().senders += 1;
        LiveTx(Arc::clone(&self.0))
    }
}

impl Drop for LiveTx {
    fn drop(&mut self) {
        let mut q = self.0.lock();
        q.senders -= 1;
        if q.senders == 0 {
            q.closed = true;
            drop(q);
            self.0.waker.wake();
        }
    }
}

impl LiveRx {
    /// The next frame; `None` once the queue is closed and empty.
    pub(crate) async fn recv(&mut self) -> Option<Utf8Bytes> {
        poll_fn(|cx| {
            if let Some(next) = self.poll_frame() {
                return Poll::Ready(next);
            }
            self.0.waker.register(cx.waker());
            // A frame (or the close) may have come before the registration.
            match self.poll_frame() {
                Some(next) => Poll::Ready(next),
                None => Poll::Pending,
            }
        })
        .await
    }

    /// `Some(frame)`, `Some(None)` when closed and empty, `None` when empty but open.
    fn poll_frame(&self) -> Option<Option<Utf8Bytes>> {
        let mut q = self.0.lock();
        match q.frames.pop_front() {
            Some(f) => Some(Some(f)),
            None if q.closed => Some(None),
            None => None,
        }
    }

    /// A frame already queued, if any.
    pub(crate) fn try_recv(&mut self) -> Option<Utf8Bytes> {
        self.0.lock().frames.pop_front()
    }

    /// Refuses further frames; those queued can still be received. Whether the
    /// queue was closed already (every sender gone), read under the same lock.
    pub(crate) fn close(&mut self) -> bool {
        std::mem::replace(&mut self.0.lock().closed, true)
    }
}

impl Drop for LiveRx {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Utf8Bytes {
        Utf8Bytes::from(s.to_owned())
    }

    #[tokio::test]
    async fn frames_arrive_in_order_up_to_the_capacity() {
        let (tx, mut rx) = channel(2);
        tx.try_send(f("1")).unwrap();
        tx.clone().try_send(f("2")).unwrap();
        assert_eq!(tx.try_send(f("3")), Err(TrySendError::Full));
        assert_eq!(rx.recv().await.unwrap().as_str(), "1");
        assert_eq!(rx.try_recv().unwrap().as_str(), "2");
        assert!(rx.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_a_frame_and_by_the_last_sender() {
        let (tx, mut rx) = channel(4);
        let tx2 = tx.clone();
        let got = tokio::spawn(async move {
            let first = rx.recv().await;
            let end = rx.recv().await;
            (first, end, rx.close())
        });
        tokio::task::yield_now().await;
        tx.try_send(f("x")).unwrap();
        drop(tx);
        tokio::task::yield_now().await;
        drop(tx2);
        let (first, end, closed) = got.await.unwrap();
        assert_eq!(first.unwrap().as_str(), "x");
        assert!(end.is_none());
        assert!(closed);
    }

    #[test]
    fn closing_says_whether_every_sender_had_gone() {
        let (tx, mut rx) = channel(1);
        drop(tx);
        assert!(rx.close());
    }

    #[test]
    fn a_closed_or_dropped_receiver_refuses_frames() {
        let (tx, mut rx) = channel(4);
        tx.try_send(f("kept")).unwrap();
        assert!(!rx.close(), "it was open");
        assert!(tx.is_closed());
        assert_eq!(tx.try_send(f("late")), Err(TrySendError::Closed));
        assert_eq!(rx.try_recv().unwrap().as_str(), "kept");
        drop(rx);
        assert_eq!(tx.try_send(f("gone")), Err(TrySendError::Closed));
    }
}
