//! Terminal plumbing shared by the subcommands: error lines, JSON output, progress bars.
//!
//! All standard output goes through the writers here, which return the write error instead of panicking
//! (as `print!` does); `main` turns a closed pipe into a quiet exit 0 and any other write error (a full
//! device) into the usual one-line error with exit 2 (see [`is_broken_pipe`]).

use std::io::{IsTerminal as _, Write as _};

use indicatif::{ProgressBar, ProgressStyle};

/// Prints an error as one line on stderr: `yardstick: error: <context>: <cause>`.
pub fn print_error(e: &anyhow::Error) {
    let msg = format!("{e:#}").replace('\n', " ");
    let _ = writeln!(std::io::stderr(), "yardstick: error: {msg}");
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Prints text on stdout as it is (no newline added).
pub fn print_text(text: &str) -> anyhow::Result<()> {
    print_bytes(text.as_bytes())
}

/// Prints a line on stdout (the text and a newline).
pub fn print_line(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// Prints bytes on stdout as they are.
pub fn print_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

/// Whether the error comes from writing to a closed pipe (an `io::Error` of kind `BrokenPipe`, directly or
/// inside a JSON error, anywhere in the chain of causes).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                cause
                    .downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            })
            == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// A closed pipe (`yardstick eventlog show log | head`) is not an error worth a message; the command then goes
/// on to its own exit status (a differing `pcr compare` still exits 1).
pub fn quiet_broken_pipe(r: anyhow::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

/// Says on stderr which SHA-256 backend the run used and how it was chosen (`--verbose`).
pub fn print_backend() {
    // Already decided by the run (on its real shape); the arguments only matter if nothing hashed yet.
    let choice = yardstick_common::hash::multi::Choice::get(&[], &[], 4096);
    let _ = writeln!(std::io::stderr(), "yardstick: note: {}", choice.describe());
}

/// Says on stderr how each of `algs` hashes several long messages (two at a time or one at a time, and the
/// rates measured to decide).
pub fn print_stream_choices(algs: &[yardstick_common::hash::Algorithm]) {
    let mut err = std::io::stderr().lock();
    for &alg in algs {
        let choice = yardstick_common::hash::streams::PairChoice::get(alg);
        let _ = writeln!(err, "yardstick: note: {}", choice.describe());
    }
}

/// Prints replay notes as warnings on stderr.
pub fn print_notes(path: &std::path::Path, notes: &[yardstick_tpm::replay::Note]) {
    let mut err = std::io::stderr().lock();
    for n in notes {
        let _ = writeln!(err, "yardstick: note: {}: {n}", path.display());
    }
}

/// A progress bar on stderr, or a hidden one when stderr is not a terminal.
#[allow(dead_code)]
pub struct Bar(ProgressBar);

#[allow(dead_code)]
impl Bar {
    /// A byte-counting bar with a message.
    pub fn bytes(msg: &str) -> Bar {
        let pb = if std::io::stderr().is_terminal() {
            ProgressBar::new(0)
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:>10} [{bar:40}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        ) {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(msg.to_string());
        Bar(pb)
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl yardstick_common::progress::Progress for Bar {
    fn set_total(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn set_phase(&self, phase: &str) {
        self.0.set_message(phase.to_string());
    }
}
