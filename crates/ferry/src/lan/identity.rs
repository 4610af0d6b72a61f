//! ferry's LocalSend device identity: one self-signed certificate and its key,
//! made on first use and kept in the config directory, so the fingerprint that
//! peers know ferry by stays the same from run to run.
//!
//! The files are `cert.pem` and `key.pem`. The key is written first and the
//! certificate last, each to a temporary name that is then renamed: `cert.pem`
//! is the commit point. Without it, a new identity is made (a key left by a
//! crash was never shown to anyone); with it, both files must load and belong
//! together, or loading fails naming the file. A damaged identity is never
//! replaced silently: peers that pinned the old fingerprint would stop trusting
//! ferry without anyone being told why.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ferry_proto::localsend::Fingerprint;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::tls::ring_provider;

const CERT_FILE: &str = "cert.pem";
const KEY_FILE: &str = "key.pem";

/// The certificate's subject CN. The app puts a fixed name there too; peers
/// identify devices by fingerprint, never by this name.
const COMMON_NAME: &str = "ferry";

/// How long the certificate is valid. The app checks a peer certificate's
/// validity period, so an expired identity would make ferry unreachable; ten
/// years (what localsend-cli uses) outlives any install we expect.
const VALID_DAYS: i64 = 10 * 365;

/// How far back the validity starts: a peer whose clock runs behind ours
/// must not see a certificate from the future.
const BACKDATE_DAYS: i64 = 1;

/// What can go wrong with the identity files. All of it is local.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    #[error("neither XDG_CONFIG_HOME nor HOME is set: nowhere to keep ferry's LAN identity")]
    NoConfigDir,
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{} is damaged ({reason}); move it away to make a new identity (peers will see a new fingerprint)", .path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("could not make a certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

pub type Result<T> = std::result::Result<T, IdentityError>;

/// A certificate and its private key, checked to belong together.
#[derive(Debug)]
pub struct Identity {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    fingerprint: Fingerprint,
}

// By hand: `PrivateKeyDer` is not `Clone`, on purpose (`clone_key` says it).
impl Clone for Identity {
    fn clone(&self) -> Identity {
        Identity {
            cert: self.cert.clone(),
            key: self.key.clone_key(),
            fingerprint: self.fingerprint.clone(),
        }
    }
}

impl Identity {
    /// `$XDG_CONFIG_HOME/ferry/lan`, else `$HOME/.config/ferry/lan`.
    pub fn default_dir() -> Result<PathBuf> {
        let var = |name| std::env::var_os(name);
        dir_under(var("XDG_CONFIG_HOME"), var("HOME")).ok_or(IdentityError::NoConfigDir)
    }

    /// The identity kept in `dir`, made (with `dir`) if there is none yet.
    pub fn load_or_create(dir: &Path) -> Result<Identity> {
        if !dir.join(CERT_FILE).exists() {
            create(dir)?;
        }
        load(dir)
    }

    /// The upper-case hex SHA-256 of the certificate, as peers announce it.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    pub(crate) fn private_key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }
}

/// The XDG rule: an unset or empty variable counts as absent.
fn dir_under(xdg_config_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let given = |v: Option<OsString>| v.filter(|v| !v.is_empty());
    let config = match (given(xdg_config_home), given(home)) {
        (Some(xdg), _) => PathBuf::from(xdg),
        (None, Some(home)) => Path::new(&home).join(".config"),
        (None, None) => return None,
    };
    Some(config.join("ferry").join("lan"))
}

fn load(dir: &Path) -> Result<Identity> {
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    let cert =
        CertificateDer::from_pem_slice(&read(&cert_path)?).map_err(|e| corrupt(&cert_path, e))?;
    let key =
        PrivateKeyDer::from_pem_slice(&read(&key_path)?).map_err(|e| corrupt(&key_path, e))?;
    check_pair(&cert, &key, &cert_path, &key_path)?;
    let fingerprint = Fingerprint::of_certificate(&cert);
    Ok(Identity {
        cert,
        key,
        fingerprint,
    })
}

/// The key must load with our provider and match the certificate's public
/// key (two ferry processes creating at once could mix their files).
fn check_pair(
    cert: &CertificateDer<'static>,
    key: &PrivateKeyDer<'static>,
    cert_path: &Path,
    key_path: &Path,
) -> Result<()> {
    let provider = ring_provider();
    let signer = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| corrupt(key_path, e))?;
    rustls::sign::CertifiedKey::new(vec![cert.clone()], signer)
        .keys_match()
        .map_err(|e| {
            corrupt(
                cert_path,
                format!("{e}; does it belong to {}?", key_path.display()),
            )
        })
}

fn create(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let key = rcgen::KeyPair::generate()?;
    let cert = params()?.self_signed(&key)?;
    write_atomically(&dir.join(KEY_FILE), key.serialize_pem().as_bytes(), 0o600)?;
    write_atomically(&dir.join(CERT_FILE), cert.pem().as_bytes(), 0o644)
}

fn params() -> Result<rcgen::CertificateParams> {
    let mut params = rcgen::CertificateParams::new(vec![COMMON_NAME.to_owned()])?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, COMMON_NAME);
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(BACKDATE_DAYS);
    params.not_after = now + time::Duration::days(VALID_DAYS);
    Ok(params)
}

/// Writes `bytes` to a fresh temporary file beside `path` (created with
/// `mode`, so a key is never readable by others, not even for a moment),
/// syncs it, and renames it over `path`: a crash leaves the old file or the
/// new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let tmp = path.with_extension(format!("pem.tmp-{}", std::process::id()));
    // A leftover from a crashed run with our pid could have another mode.
    let _ = fs::remove_file(&tmp);
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    written.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_error(path, e)
    })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| io_error(path, e))
}

fn io_error(path: &Path, source: io::Error) -> IdentityError {
    IdentityError::Io {
        path: path.to_owned(),
        source,
    }
}

fn corrupt(path: &Path, reason: impl std::fmt::Display) -> IdentityError {
    IdentityError::Corrupt {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
