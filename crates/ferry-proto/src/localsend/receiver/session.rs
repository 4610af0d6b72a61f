//! The receiver's one session slot and the per-file states inside it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Instant;

use super::Offer;
use crate::localsend::messages::FileDto;

#[derive(Debug, Default)]
pub(super) enum Slot {
    #[default]
    Idle,
    /// Asked the user; the prepare-upload request is held open.
    Pending(Offer),
    Active(Active),
    /// A ferry sender switched to the native protocol (`native`): it has
    /// the receiver until its connection ends.
    Native,
}

/// An accepted session.
#[derive(Debug)]
pub(super) struct Active {
    pub(super) session_id: String,
    /// Only this address may upload or cancel (as the app).
    pub(super) peer: IpAddr,
    pub(super) files: BTreeMap<String, SessionFile>,
    pub(super) last_activity: Instant,
}

#[derive(Debug)]
pub(super) struct SessionFile {
    dto: FileDto,
    token: String,
    state: FileState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FileState {
    Waiting,
    Receiving,
    Done,
    Failed,
}

impl Active {
    /// The accepted subset of `offer`, each file with a fresh token.
    pub(super) fn accept(
        offer: Offer,
        ids: &[String],
        now: Instant,
        mut token: impl FnMut() -> String,
    ) -> Active {
        let files = offer
            .files
            .into_iter()
            .filter(|(id, _)| ids.contains(id))
            .map(|(id, dto)| {
                (
                    id,
                    SessionFile {
                        dto,
                        token: token(),
                        state: FileState::Waiting,
                    },
                )
            })
            .collect();
        Active {
            session_id: offer.session_id,
            peer: offer.peer,
            files,
            last_activity: now,
        }
    }

    pub(super) fn tokens(&self) -> BTreeMap<String, String> {
        self.files
            .iter()
            .map(|(id, f)| (id.clone(), f.token.clone()))
            .collect()
    }

    /// Starts the upload of `file_id` if `token` is its token and it is waiting
    /// (one upload per file: a second with the same token is refused).
    pub(super) fn start(&mut self, file_id: &str, token: &str, now: Instant) -> Option<FileDto> {
        let file = self.files.get_mut(file_id)?;
        if file.token != token || file.state != FileState::Waiting {
            return None;
        }
        file.state = FileState::Receiving;
        self.last_activity = now;
        Some(file.dto.clone())
    }

    pub(super) fn finish(&mut self, file_id: &str, state: FileState, now: Instant) {
        if let Some(f) = self.files.get_mut(file_id) {
            f.state = state;
        }
        self.last_activity = now;
    }

    pub(super) fn is_complete(&self) -> bool {
        self.files
            .values()
            .all(|f| matches!(f.state, FileState::Done | FileState::Failed))
    }
}
