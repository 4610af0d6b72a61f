//! Directory transfer in file-transfer v1: a directory travels as a zip.
//!
//! The sender offers `{"directory": {"mode": "zipfile/deflated", "dirname",
//! "zipsize", "numbytes", "numfiles"}}` and then streams exactly `zipsize`
//! bytes over transit; the receiver spools them to a file and unpacks it.
//!
//! - [`DirPlan::new`] takes a walked directory, decides what goes in, and
//!   computes the exact zip size the offer must announce.
//! - [`DirPlan::write_zip`] streams that zip without seeking: STORED entries
//!   with data descriptors, as Python 0.24 (zipstream-ng) sends, readable by
//!   Python, Go, Info-ZIP and the `zip` crate. Despite the mode string, no
//!   peer requires DEFLATE.
//! - [`extract_zip`] unpacks any standard zip (STORED or DEFLATE) from a
//!   hostile peer into a fresh directory, refusing the whole archive on any
//!   unsafe entry and stopping compression bombs mid-stream.
//!
//! All of this is blocking `std::io`; the async layer runs it on a blocking
//! thread.

mod check;
mod dostime;
mod entry;
mod extract;
mod limits;
mod plan;
mod records;
mod write;

#[cfg(test)]
mod tests;

pub use extract::extract_zip;
pub use limits::{ExtractError, ExtractLimits, ExtractReport};
pub use plan::DirPlan;
