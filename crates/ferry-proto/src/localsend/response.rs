//! HTTP answers as values: the I/O layer turns a [`Response`] into a real one.

use super::messages::ErrorBody;

/// The HTTP statuses this side answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    Ok,
    NoContent,
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    TooManyRequests,
    InternalError,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::NoContent => 204,
            Status::BadRequest => 400,
            Status::Unauthorized => 401,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::Conflict => 409,
            Status::TooManyRequests => 429,
            Status::InternalError => 500,
        }
    }
}

/// An HTTP answer: a status and a JSON body (empty for "no body").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: Status,
    pub body: Vec<u8>,
}

impl Response {
    pub(super) fn empty(status: Status) -> Response {
        Response {
            status,
            body: Vec::new(),
        }
    }

    /// The app's error shape, `{"message": …}`.
    pub(super) fn error(status: Status, message: &str) -> Response {
        let body = ErrorBody {
            message: message.to_owned(),
        };
        Response {
            status,
            body: serde_json::to_vec(&body).unwrap_or_default(),
        }
    }
}
