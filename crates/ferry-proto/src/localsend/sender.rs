//! The sending side (the HTTP client of the upload API): builds the
//! prepare-upload body and turns the receiver's answer into a plan of uploads
//! or an error a CLI can word. The driver walks the disk (a
//! `transfer::Selection`), sends the requests and streams the files.

use std::collections::BTreeMap;

use super::decode::{self, DecodeError};
use super::messages::{FileDto, FileMetadata, PrepareUploadRequest, Register};
use super::target::target;
use super::Endpoint;

/// The MIME type sent for every file: ferry does not sniff content, and the
/// app treats unknown types as plain files.
pub const BINARY_TYPE: &str = "application/octet-stream";
/// The MIME type of a text message; its text also goes in `preview`, which is
/// how the app shows a message without uploading it.
pub const TEXT_TYPE: &str = "text/plain";
/// The name a text message carries (the app saves it only if asked).
pub const TEXT_NAME: &str = "message.txt";

/// One thing to offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutgoingItem {
    /// A file: `relative_name` uses '/' between folder levels.
    File {
        relative_name: String,
        size: u64,
        sha256: Option<String>,
        modified: Option<String>,
    },
    /// A text message.
    Text(String),
}

/// The prepare-upload body for `items`; file ids are their indexes, so the
/// driver maps an id back to its item with `id.parse::<usize>()`.
pub fn prepare_upload(info: Register, items: &[OutgoingItem]) -> PrepareUploadRequest {
    PrepareUploadRequest {
        info,
        files: numbered(items),
    }
}

/// `items` as a `files` map whose ids are their indexes.
pub(super) fn numbered(items: &[OutgoingItem]) -> BTreeMap<String, FileDto> {
    let files = items.iter().enumerate().map(|(i, item)| {
        let dto = file_dto(i.to_string(), item);
        (dto.id.clone(), dto)
    });
    files.collect()
}

fn file_dto(id: String, item: &OutgoingItem) -> FileDto {
    match item {
        OutgoingItem::File {
            relative_name,
            size,
            sha256,
            modified,
        } => FileDto {
            id,
            file_name: relative_name.clone(),
            size: *size,
            file_type: BINARY_TYPE.into(),
            sha256: sha256.clone(),
            preview: None,
            metadata: modified.clone().map(|m| FileMetadata {
                modified: Some(m),
                accessed: None,
            }),
        },
        OutgoingItem::Text(text) => FileDto {
            id,
            file_name: TEXT_NAME.into(),
            size: text.len() as u64,
            file_type: TEXT_TYPE.into(),
            sha256: None,
            preview: Some(text.clone()),
            metadata: None,
        },
    }
}

/// Path and query of the prepare-upload request, with the PIN if one is given.
pub fn prepare_upload_target(pin: Option<&str>) -> String {
    target(&Endpoint::PrepareUpload.path(), &[("pin", pin)])
}

/// Path and query of the cancel request.
pub fn cancel_target(session_id: &str) -> String {
    target(&Endpoint::Cancel.path(), &[("sessionId", Some(session_id))])
}

/// What to upload after a successful prepare-upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPlan {
    /// Empty after a 204: the receiver wants nothing (or already has it).
    pub session_id: String,
    pub uploads: Vec<PlannedUpload>,
}

/// One `POST upload` to make, body = that file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedUpload {
    pub file_id: String,
    /// Path and query, every value percent-encoded (they come from the peer).
    pub target: String,
}

/// Why the other device did not take (or give) the files: the same
/// refusals answer an upload and a download.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    #[error("the other device needs a PIN, or the PIN was wrong")]
    PinRequiredOrWrong,
    #[error("the other device declined")]
    Declined,
    #[error("the other device is busy with another transfer")]
    Busy,
    #[error("too many wrong PINs: the other device refuses this one for now")]
    TooManyPinAttempts,
    #[error("the other device answered with a body we cannot use: {0}")]
    BadAnswer(#[from] DecodeError),
    #[error("the receiver granted a file we did not offer")]
    UnknownFile,
    #[error("the other device answered {status}{}", message.as_deref().map(|m| format!(": {m:?}")).unwrap_or_default())]
    Unexpected {
        status: u16,
        message: Option<String>,
    },
}

/// Reads the receiver's answer to the prepare-upload for `request`.
pub fn interpret_prepare_response(
    request: &PrepareUploadRequest,
    status: u16,
    body: &[u8],
) -> Result<UploadPlan, SendError> {
    match status {
        200 => plan(request, body),
        204 => Ok(UploadPlan {
            session_id: String::new(),
            uploads: Vec::new(),
        }),
        _ => Err(refusal(status, body)),
    }
}

/// Why a prepare (upload or download) or ferry's native upgrade was not
/// answered with success.
pub fn refusal(status: u16, body: &[u8]) -> SendError {
    match status {
        401 => SendError::PinRequiredOrWrong,
        403 => SendError::Declined,
        409 => SendError::Busy,
        429 => SendError::TooManyPinAttempts,
        _ => SendError::Unexpected {
            status,
            message: decode::error_message(body),
        },
    }
}

fn plan(request: &PrepareUploadRequest, body: &[u8]) -> Result<UploadPlan, SendError> {
    let answer = decode::prepare_upload_response(body)?;
    let upload = |(id, token): (&String, &String)| {
        if !request.files.contains_key(id) {
            return Err(SendError::UnknownFile);
        }
        let params = [
            ("sessionId", Some(answer.session_id.as_str())),
            ("fileId", Some(id.as_str())),
            ("token", Some(token.as_str())),
        ];
        let target = target(&Endpoint::Upload.path(), &params);
        Ok(PlannedUpload {
            file_id: id.clone(),
            target,
        })
    };
    let uploads = answer.files.iter().map(upload).collect::<Result<_, _>>()?;
    Ok(UploadPlan {
        session_id: answer.session_id,
        uploads,
    })
}

#[cfg(test)]
#[path = "sender_tests.rs"]
mod tests;
