//! Asking for the code interactively, with tab completion of the words, and
//! reading a one-line answer that Ctrl-C can interrupt.

use std::io::BufRead;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Editor, Helper};

use crate::checks::Invalid;
use crate::outcome::Interrupted;
use ferry::Cancel;
use ferry::MailboxConfig;
use ferry_proto::code::{complete, complete_nameplate};

/// How long Tab waits for the server's list of nameplates before completing
/// without it (the list is fetched in the background as the prompt opens).
const LIST_PATIENCE: Duration = Duration::from_secs(2);

/// The server's nameplates, once they arrive.
#[derive(Default)]
struct Listed {
    nameplates: Mutex<Option<Vec<String>>>,
    arrived: Condvar,
}

impl Listed {
    /// Fetches the list in the background; a server that fails gives none.
    fn fetch(config: MailboxConfig) -> Arc<Listed> {
        let listed = Arc::new(Listed::default());
        let filling = listed.clone();
        tokio::spawn(async move {
            let nameplates = ferry::list_nameplates(&config).await.unwrap_or_default();
            if let Ok(mut slot) = filling.nameplates.lock() {
                *slot = Some(nameplates);
            }
            filling.arrived.notify_all();
        });
        listed
    }

    /// The list, waiting a little for it if it has not come yet.
    fn get(&self) -> Vec<String> {
        let Ok(slot) = self.nameplates.lock() else {
            return Vec::new();
        };
        let waited = self
            .arrived
            .wait_timeout_while(slot, LIST_PATIENCE, |s| s.is_none());
        waited
            .ok()
            .and_then(|(slot, _)| slot.clone())
            .unwrap_or_default()
    }
}

struct CodeHelper(Arc<Listed>);

impl Completer for CodeHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let typed = &line[..pos];
        match typed.contains('-') {
            true => Ok((0, complete(typed))),
            false => Ok((0, complete_nameplate(typed, &self.0.get()))),
        }
    }
}

impl Hinter for CodeHelper {
    type Hint = String;
}
impl Highlighter for CodeHelper {}
impl Validator for CodeHelper {}
impl Helper for CodeHelper {}

/// Reads a code from the terminal; Tab completes the nameplate (from the list
/// on the server `config` names) and the words.
pub fn ask_code(config: &MailboxConfig) -> Result<String> {
    let listed = Listed::fetch(config.clone());
    // List mode completes the common prefix and shows the choices, like a shell.
    let config = rustyline::Config::builder()
        .completion_type(rustyline::CompletionType::List)
        .auto_add_history(false)
        .build();
    let mut editor: Editor<CodeHelper, rustyline::history::DefaultHistory> =
        Editor::with_config(config).context("cannot open the terminal to ask for the code")?;
    editor.set_helper(Some(CodeHelper(listed)));
    // The terminal is in raw mode here: Ctrl-C arrives as a key, not a signal.
    let line = match editor.readline("Enter receive wormhole code: ") {
        Err(ReadlineError::Interrupted) => return Err(Interrupted.into()),
        Err(ReadlineError::Eof) => return Err(Invalid("no code given".into()).into()),
        other => other.context("no code given")?,
    };
    Ok(line.trim().to_owned())
}

/// One line from standard input, or `None` at its end or when `cancel` fires.
///
/// The read blocks, so it runs on a thread of its own, and the future waits for
/// whichever comes first, leaving the transfer free to watch the other side
/// meanwhile. After a cancel the reading thread stays blocked until the
/// process exits, which it is about to.
pub fn answer_later(cancel: &Cancel) -> impl std::future::Future<Output = Option<String>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::stdin().lock().read_line(&mut line);
        let _ = tx.send(read.ok().filter(|&n| n > 0).map(|_| line));
    });
    let cancel = cancel.clone();
    async move {
        tokio::select! {
            line = rx => line.ok().flatten(),
            _ = cancel.cancelled() => None,
        }
    }
}
