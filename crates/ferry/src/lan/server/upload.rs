//! `prepare-upload`, held open while the user decides, and `upload`, whose
//! body streams into a partial file that becomes the final file only when
//! every declared byte arrived (and the SHA-256 matched, when one was given).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_proto::localsend::receiver::{Decision, Prepared, UploadTicket};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Response, StatusCode};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use tokio::time::{timeout, Instant};

use super::http::{from_machine, with_body, Body, Peer, Query};
use super::{Event, Failure, PendingOffer, Shared, Verdict};
use crate::lan::land::{settle, sink, Sink};
use crate::transfer::landing::Partial;

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// Asks the caller about the offer and waits for the answer, or for the
/// sender's `cancel` (then the machine answers 403 "Cancelled by sender").
pub(super) async fn prepare(
    shared: &Arc<Shared>,
    peer: &Peer,
    pin: Option<&str>,
    body: &[u8],
) -> Response<Body> {
    let mut cancels = shared.cancels.subscribe();
    let prepared = {
        let mut rng = rand::rngs::OsRng;
        shared
            .machine()
            .handle_prepare_upload(peer.addr.ip(), pin, body, &mut rng)
    };
    let offer = match prepared {
        Prepared::Respond(answer) => return from_machine(answer),
        Prepared::Ask(offer) => offer,
    };
    let session_id = offer.session_id.clone();
    let (answer, verdict) = oneshot::channel();
    shared.report(Event::Offer(PendingOffer { offer, answer }));
    let verdict = tokio::select! {
        v = verdict => v.unwrap_or(Verdict::Decline),
        _ = cancels.changed() => Verdict::Decline,
    };
    decide(shared, &session_id, verdict)
}

fn decide(shared: &Shared, session_id: &str, verdict: Verdict) -> Response<Body> {
    let decision = match verdict {
        Verdict::Accept(targets) => {
            let ids = targets.keys().cloned().collect();
            *shared.targets.lock().unwrap_or_else(|e| e.into_inner()) = targets;
            Decision::Accept(ids)
        }
        Verdict::Decline => Decision::Decline,
    };
    let mut rng = rand::rngs::OsRng;
    let answer = shared
        .machine()
        .decide(now(), session_id, decision, &mut rng);
    from_machine(answer)
}

/// One file's bytes, checked by the machine chunk by chunk (more than
/// declared is refused before it is written).
pub(super) async fn upload(
    shared: &Arc<Shared>,
    peer: &Peer,
    query: &Query,
    mut body: Incoming,
) -> Response<Body> {
    let ticket = shared.machine().handle_upload(
        now(),
        peer.addr.ip(),
        query.get("sessionId"),
        query.get("fileId"),
        query.get("token"),
    );
    let ticket = match ticket {
        Ok(ticket) => ticket,
        Err(answer) => return from_machine(answer),
    };
    let mut upload = Upload::start(shared.clone(), ticket);
    match upload.receive(&mut body).await {
        Ok(()) => upload.finish().await,
        Err(refusal) => refusal,
    }
}

/// An upload in flight. Dropped unfinished (an error, or hyper dropping the
/// request when the connection dies), it removes the partial file and tells
/// the machine the file failed.
struct Upload {
    shared: Arc<Shared>,
    ticket: Option<UploadTicket>,
    partial: Option<(Partial, Sink)>,
    target: Option<PathBuf>,
    /// Only when the sender declared a SHA-256 to check against.
    hash: Option<Sha256>,
    /// Written but not yet added to `shared.received`.
    unreported: u64,
    why: Failure,
}

/// How many bytes between two progress reports.
const PROGRESS_STEP: u64 = 256 << 10;

impl Upload {
    fn start(shared: Arc<Shared>, ticket: UploadTicket) -> Upload {
        let id = &ticket.file().id;
        let targets = shared.targets.lock().unwrap_or_else(|e| e.into_inner());
        let target = targets.get(id).cloned();
        drop(targets);
        shared.uploads.send_modify(|n| *n += 1);
        let hash = ticket.file().sha256.is_some().then(Sha256::new);
        Upload {
            shared,
            ticket: Some(ticket),
            partial: None,
            target,
            hash,
            unreported: 0,
            why: Failure::Network("the connection was lost"),
        }
    }

    /// Reads the body into the partial file until it ends.
    async fn receive(&mut self, body: &mut Incoming) -> Result<(), Response<Body>> {
        if let Err(e) = self.open() {
            return Err(self.fail(Failure::Local("creating the file", Some(e))));
        }
        let idle = self.shared.limits.idle_timeout;
        let mut cancels = self.shared.cancels.subscribe();
        loop {
            let frame = tokio::select! {
                frame = timeout(idle, body.frame()) => frame,
                _ = cancels.changed() => return Err(self.fail(Failure::Network("the sender cancelled"))),
            };
            let frame = match frame {
                Ok(Some(Ok(frame))) => frame,
                Ok(None) => return Ok(()),
                Ok(Some(Err(_))) => {
                    return Err(self.fail(Failure::Network("the connection was lost")))
                }
                Err(_) => return Err(self.fail(Failure::Network("the sender stalled"))),
            };
            if let Ok(data) = frame.into_data() {
                self.write(&data).await?;
            }
        }
    }

    fn open(&mut self) -> std::io::Result<()> {
        let target = self.target.as_deref().ok_or(std::io::ErrorKind::NotFound)?;
        let dir = target.parent().unwrap_or(Path::new("."));
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        let (partial, file) = Partial::file(dir, &name)?;
        self.partial = Some((partial, sink(file)));
        Ok(())
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), Response<Body>> {
        let Some(ticket) = self.ticket.as_mut() else {
            return Err(with_body(StatusCode::INTERNAL_SERVER_ERROR, Vec::new()));
        };
        let len = data.len() as u64;
        let accepted = self.shared.machine().handle_upload_data(now(), ticket, len);
        if let Err(refusal) = accepted {
            self.why = Failure::Invalid("more data than declared");
            return Err(self.end(false, Some(from_machine(refusal))));
        }
        let Some((_, file)) = self.partial.as_mut() else {
            return Err(self.fail(Failure::Local("writing the file", None)));
        };
        if let Err(e) = file.write_all(data).await {
            return Err(self.fail(Failure::Local("writing the file", Some(e))));
        }
        if let Some(hash) = self.hash.as_mut() {
            hash.update(data);
        }
        self.unreported += len;
        if self.unreported >= PROGRESS_STEP {
            self.report_progress();
        }
        Ok(())
    }

    /// Publishes the bytes written since the last report: once per
    /// [`PROGRESS_STEP`], not per frame, which would wake the caller's task
    /// for every TLS record.
    fn report_progress(&mut self) {
        let step = std::mem::take(&mut self.unreported);
        if step > 0 {
            self.shared.received.send_modify(|n| *n += step);
        }
    }

    /// The body ended: lands the file if it is whole and its hash matches.
    async fn finish(mut self) -> Response<Body> {
        self.report_progress();
        let Some(ticket) = self.ticket.as_ref() else {
            return with_body(StatusCode::INTERNAL_SERVER_ERROR, Vec::new());
        };
        let whole = ticket.received() == ticket.file().size;
        let expected = ticket.file().sha256.as_deref();
        let actual = self.hash.take().map(|h| hex::encode(h.finalize()));
        let hash_ok = match (expected, actual) {
            (Some(e), Some(a)) => e.eq_ignore_ascii_case(&a),
            _ => true,
        };
        if whole && !hash_ok {
            self.why = Failure::Invalid("the SHA-256 does not match");
            let refusal = br#"{"message":"Invalid hash"}"#.to_vec();
            return self.end(
                false,
                Some(with_body(StatusCode::UNPROCESSABLE_ENTITY, refusal)),
            );
        }
        self.why = Failure::Invalid("the body was shorter than declared");
        let stored = whole && self.persist().await;
        self.end(stored, None)
    }

    /// Flushes and renames the partial into place, never over anything.
    async fn persist(&mut self) -> bool {
        let (Some((partial, mut file)), Some(target)) = (self.partial.take(), &self.target) else {
            return false;
        };
        if let Err(e) = settle(&mut file).await {
            self.why = Failure::Local("writing the file", Some(e));
            return false;
        }
        drop(file);
        match partial.persist(target) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                self.why = Failure::Exists(target.clone());
                false
            }
            Err(e) => {
                self.why = Failure::Local("putting the file in place", Some(e));
                false
            }
        }
    }

    fn fail(&mut self, why: Failure) -> Response<Body> {
        self.why = why;
        self.end(false, None)
    }

    /// Tells the machine how the upload ended and the caller what happened;
    /// `answer` overrides the machine's response.
    fn end(&mut self, stored: bool, answer: Option<Response<Body>>) -> Response<Body> {
        self.partial = None; // removes the partial file unless it was persisted
        let Some(ticket) = self.ticket.take() else {
            return answer.unwrap_or_else(|| with_body(StatusCode::FORBIDDEN, Vec::new()));
        };
        let file_id = ticket.file().id.clone();
        let (response, ended) = self
            .shared
            .machine()
            .handle_upload_end(now(), ticket, stored);
        let event = match (stored, &self.target) {
            (true, Some(path)) => Event::Landed {
                file_id,
                path: path.clone(),
            },
            _ => Event::Failed {
                file_id,
                why: std::mem::replace(&mut self.why, Failure::Network("")),
            },
        };
        self.shared.report(event);
        if let Some(ended) = ended {
            self.shared.report(Event::Ended(ended));
        }
        answer.unwrap_or_else(|| from_machine(response))
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.ticket.is_some() {
            self.end(false, None);
        }
        // The partial is gone by now (`end` dropped it, or it was persisted).
        self.shared.uploads.send_modify(|n| *n -= 1);
    }
}
