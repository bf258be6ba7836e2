//! Progress reporting from library code, without tying libraries to a terminal UI.
//!
//! Long operations take a `&dyn Progress`; the CLI passes a progress bar (shown only when stderr is a
//! terminal), library users pass [`NoProgress`] or their own sink.

/// Receives progress of a long operation, in units the operation documents (usually bytes).
pub trait Progress: Sync {
    /// Announces the total amount of work. May be called again if the estimate changes.
    fn set_total(&self, _total: u64) {}
    /// Reports `n` more units done.
    fn advance(&self, n: u64);
    /// Names the current phase ("hashing", "FEC", ...).
    fn set_phase(&self, _phase: &str) {}
}

/// Discards progress.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _n: u64) {}
}
