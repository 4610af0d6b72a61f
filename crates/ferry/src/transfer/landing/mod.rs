//! Where received data lands, safely, whatever the protocol. The rules:
//! - confinement: every target is a checked relative path under the output
//!   directory, and nothing at a target is followed, replaced or written through
//!   (`targets`);
//! - data goes to a hidden partial name first and is renamed into place with
//!   `RENAME_NOREPLACE` only once complete and verified (`partial`);
//! - the disk must have room before anything is accepted (`space`);
//! - resumable data lives beside its target under fixed names, re-verified
//!   before it counts (`resume`);
//! - the output directory is checked before the code is used, created only
//!   once something lands, and never left behind empty (`outdir`).

pub mod leftovers;
mod outdir;
mod partial;
mod resume;
mod space;
mod targets;

pub(crate) use outdir::{check_output_dir, create_output_dir, space_dir, MissingDirs};
pub(crate) use partial::{rename_noreplace, Partial};
pub(crate) use resume::{open_nofollow, replace_file, resume_paths, ResumePaths};
pub(crate) use space::{ensure_space, ensure_space_with, free_space};
pub(crate) use targets::{
    check, create_dirs, file_mode, system_time, CreatedDirs, Existing, Targets,
};
