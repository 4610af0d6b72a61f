//! Asking for the code interactively, with tab completion of the words.

use anyhow::{Context, Result};
use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Editor, Helper};

use ferry_proto::code::complete;

struct CodeHelper;

impl Completer for CodeHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok((0, complete(&line[..pos])))
    }
}

impl Hinter for CodeHelper {
    type Hint = String;
}
impl Highlighter for CodeHelper {}
impl Validator for CodeHelper {}
impl Helper for CodeHelper {}

/// Reads a code from the terminal; Tab completes the current word.
pub fn ask_code() -> Result<String> {
    // List mode completes the common prefix and shows the choices, like a shell.
    let config = rustyline::Config::builder()
        .completion_type(rustyline::CompletionType::List)
        .auto_add_history(false)
        .build();
    let mut editor: Editor<CodeHelper, rustyline::history::DefaultHistory> =
        Editor::with_config(config).context("cannot open the terminal to ask for the code")?;
    editor.set_helper(Some(CodeHelper));
    let line = editor
        .readline("Enter receive wormhole code: ")
        .context("no code given")?;
    Ok(line.trim().to_owned())
}
