//! Where the code comes from, and whether it is fit to use. The code is a
//! password: on the command line it is visible to every user of the machine
//! (`ps`), so it can come from `FERRY_CODE` or a file (`--code-file`, `-` for
//! standard input) instead. A malformed code or a mistyped word is refused here,
//! before the server is contacted, so a typo does not use up the sender's code.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, Result};

use crate::checks::Invalid;
use ferry_proto::code::{typo, Code};

/// The environment variable that carries the code.
pub const ENV: &str = "FERRY_CODE";

/// The code given on the command line, in a file, or in the environment, in
/// that order; `None` when none was given.
pub fn given(arg: Option<&str>, file: Option<&Path>) -> Result<Option<String>> {
    if let Some(code) = arg {
        return Ok(Some(code.to_owned()));
    }
    if let Some(path) = file {
        return first_line(path).map(Some);
    }
    Ok(std::env::var(ENV).ok().filter(|c| !c.trim().is_empty()))
}

/// The first line of `path` (`-`: standard input).
fn first_line(path: &Path) -> Result<String> {
    let mut line = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the code from standard input")?;
    } else {
        let file = std::fs::File::open(path)
            .with_context(|| format!("cannot read the code file {}", path.display()))?;
        std::io::BufReader::new(file)
            .read_line(&mut line)
            .with_context(|| format!("cannot read the code file {}", path.display()))?;
    }
    Ok(line)
}

/// A typed code, normalised and checked for typos; a bad one is a usage error.
pub fn parse(typed: &str) -> Result<Code> {
    let code = Code::parse(typed).map_err(|e| Invalid(format!("bad code: {e}")))?;
    typo::check(&code).map_err(|typo| Invalid(typo.to_string()))?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(typed: &str) -> String {
        let e = parse(typed).expect_err("refused");
        assert!(e.is::<Invalid>(), "{e:#}");
        e.to_string()
    }

    #[test]
    fn malformed_codes_and_typos_are_usage_errors() {
        assert!(usage("guitarist-revenge").contains("must be a number"));
        assert_eq!(
            usage("7-guitarst-revenge"),
            r#""guitarst" is not a code word (did you mean "guitarist"?)"#
        );
        let code = parse(" 7 Guitarist  REVENGE ").expect("forgiven");
        assert_eq!(code.as_str(), "7-guitarist-revenge");
    }

    #[test]
    fn the_code_file_gives_its_first_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("code");
        std::fs::write(&path, "7-guitarist-revenge\nsecond line\n").expect("write");
        let got = given(None, Some(&path)).expect("read");
        assert_eq!(got.as_deref(), Some("7-guitarist-revenge\n"));
        let missing = given(None, Some(&dir.path().join("nope"))).expect_err("missing");
        assert!(missing.to_string().contains("cannot read the code file"));
        assert_eq!(
            given(Some("7-a-b"), Some(&path)).expect("argv").as_deref(),
            Some("7-a-b")
        );
    }
}
