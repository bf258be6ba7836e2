//! Terminal plumbing shared by the subcommands: error lines, JSON output, progress bars.

use std::io::{IsTerminal as _, Write as _};

use indicatif::{ProgressBar, ProgressStyle};

/// Prints an error as one line on stderr: `yardstick: error: <context>: <cause>`.
pub fn print_error(e: &anyhow::Error) {
    let msg = format!("{e:#}").replace('\n', " ");
    let _ = writeln!(std::io::stderr(), "yardstick: error: {msg}");
}

/// Prints a value as pretty JSON on stdout.
#[allow(dead_code)]
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Prints text on stdout as it is (no newline added).
pub fn print_text(text: &str) -> anyhow::Result<()> {
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(anyhow::Error::from)
}

/// A closed pipe (`yardstick eventlog show log | head`) is not an error worth a message.
pub fn quiet_broken_pipe(r: anyhow::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .map(std::io::Error::kind)
                .or_else(|| {
                    e.downcast_ref::<serde_json::Error>()
                        .and_then(serde_json::Error::io_error_kind)
                })
                == Some(std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
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
