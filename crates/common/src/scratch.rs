//! Scratch files and directories (temporary outputs, build trees) that never outlive the run that made them.
//!
//! * **Named for their owner.** Every scratch entry is called `.<name>.yardstick-<pid>.<random><suffix>` in
//!   the directory it serves (`name` is the output it belongs to), so a user who finds one knows what made it.
//! * **Removed on exit and on signals.** Dropping a [`Scratch`] removes its file or directory. The live ones are
//!   also listed in a process-wide registry, which [`remove_on_signals`] (installed by the command-line tool)
//!   empties when SIGINT, SIGTERM or SIGHUP arrives, before the process exits with status 128 + the signal.
//! * **Swept after SIGKILL.** Nothing can run on SIGKILL. The next run that makes scratch for the same `name`
//!   in the same directory removes the leftovers of processes that no longer exist (the pid in the name has no
//!   `/proc` entry); those of a live process are left alone.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The registry of live scratch entries, by registration id.
static LIVE: Mutex<BTreeMap<u64, Entry>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// One registered scratch entry.
#[derive(Debug, Clone)]
struct Entry {
    path: PathBuf,
    is_dir: bool,
}

/// A scratch file ([`tempfile::NamedTempFile`]) or directory ([`tempfile::TempDir`]) that is registered for
/// removal on signals while it lives. It dereferences to the `tempfile` value.
#[derive(Debug)]
pub struct Scratch<T> {
    inner: T,
    _registration: Registration,
}

/// A registry entry, withdrawn when dropped.
#[derive(Debug)]
struct Registration(u64);

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut live) = LIVE.lock() {
            live.remove(&self.0);
        }
    }
}

impl<T> Scratch<T> {
    /// The `tempfile` value, no longer registered: the caller is about to keep it (rename it into place).
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T> std::ops::Deref for Scratch<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T> std::ops::DerefMut for Scratch<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

/// Installs the signal handlers if [`remove_on_signals`] asked for them: called before a scratch entry is
/// created, so that a signal arriving once it exists finds them serving.
fn handlers_before_first_entry() {
    if HANDLERS_WANTED.load(Ordering::Acquire) {
        let _ = install_handlers();
    }
}

fn register(path: &Path, is_dir: bool) -> Registration {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut live) = LIVE.lock() {
        live.insert(
            id,
            Entry {
                path: path.to_path_buf(),
                is_dir,
            },
        );
    }
    Registration(id)
}

/// The name prefix of this process's scratch entries for `name`: `.<name>.yardstick-<pid>.`.
pub(crate) fn prefix(name: &str) -> String {
    format!(".{name}.yardstick-{}.", std::process::id())
}

/// Creates a scratch file in `dir` for the output called `name` (mode 0644 once renamed into place is up to
/// the caller), after sweeping leftovers of dead runs for the same name.
pub fn file_in(
    dir: &Path,
    name: &str,
    suffix: &str,
) -> io::Result<Scratch<tempfile::NamedTempFile>> {
    handlers_before_first_entry();
    sweep(dir, name);
    let tmp = tempfile::Builder::new()
        .prefix(&prefix(name))
        .suffix(suffix)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .tempfile_in(dir)?;
    let _registration = register(tmp.path(), false);
    stall_for_tests(name);
    Ok(Scratch {
        inner: tmp,
        _registration,
    })
}

/// Creates a scratch directory in `dir` for the output called `name`, after sweeping leftovers of dead runs.
pub fn dir_in(dir: &Path, name: &str) -> io::Result<Scratch<tempfile::TempDir>> {
    handlers_before_first_entry();
    sweep(dir, name);
    let tmp = tempfile::Builder::new()
        .prefix(&prefix(name))
        .tempdir_in(dir)?;
    let _registration = register(tmp.path(), true);
    stall_for_tests(name);
    Ok(Scratch {
        inner: tmp,
        _registration,
    })
}

/// A failpoint for the signal tests, in debug builds only: with `YARDSTICK_TEST_STALL_SCRATCH=<name>` in the
/// environment, the process stops (sleeps until a signal ends it) right after making scratch for `name`, so
/// that a test can deliver a signal at a known moment. Release builds do not contain it.
#[cfg(debug_assertions)]
fn stall_for_tests(name: &str) {
    if std::env::var_os("YARDSTICK_TEST_STALL_SCRATCH").is_some_and(|v| v == name) {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

#[cfg(not(debug_assertions))]
fn stall_for_tests(_name: &str) {}

/// Removes from `dir` the scratch entries for `name` left by processes that no longer exist (killed with
/// SIGKILL, or by a power cut). Best effort: an entry that cannot be removed is left.
fn sweep(dir: &Path, name: &str) {
    let head = format!(".{name}.yardstick-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file_name = e.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&head)) else {
            continue;
        };
        let Some((pid, _)) = rest.split_once('.') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists() {
            continue;
        }
        let path = e.path();
        let _ = match e.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            Ok(_) => std::fs::remove_file(&path),
            Err(_) => continue,
        };
    }
}

/// Removes every live scratch entry of this process now (what a signal does before the exit).
pub fn remove_all() {
    let entries: Vec<Entry> = match LIVE.lock() {
        Ok(mut live) => std::mem::take(&mut *live).into_values().collect(),
        Err(_) => return,
    };
    for e in entries {
        // A directory still being filled by another thread may gain an entry during the removal: try twice.
        for _ in 0..2 {
            let r = if e.is_dir {
                std::fs::remove_dir_all(&e.path)
            } else {
                std::fs::remove_file(&e.path)
            };
            if r.is_ok() || !e.path.exists() {
                break;
            }
        }
    }
}

/// Whether [`remove_on_signals`] asked for handlers.
static HANDLERS_WANTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The handlers, once installed: `Err` holds why they could not be.
static HANDLERS: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();

/// Installs handlers for SIGINT, SIGTERM and SIGHUP that remove every live scratch entry and then end the
/// process with status 128 + the signal number (130 for SIGINT, 143 for SIGTERM), as a shell reports a
/// process killed by that signal. Meant for programs (the `yardstick` tool calls it first thing); a library
/// user with its own signal handling can call [`remove_all`] from it instead.
///
/// The handlers (and the thread that serves them) are installed just before the first scratch entry is created, or
/// now if one exists: until then there is nothing to remove, and the many commands that never write a file
/// do not pay for a thread at start-up. Before that point the signals keep their default action.
pub fn remove_on_signals() -> io::Result<()> {
    HANDLERS_WANTED.store(true, Ordering::Release);
    let any = LIVE.lock().is_ok_and(|live| !live.is_empty());
    if any {
        install_handlers().map_err(io::Error::other)?;
    }
    Ok(())
}

/// Installs the handlers once; later calls return the first outcome.
fn install_handlers() -> Result<(), String> {
    HANDLERS
        .get_or_init(|| {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
                .map_err(|e| e.to_string())?;
            std::thread::Builder::new()
                .name("yardstick-signals".into())
                .spawn(move || {
                    if let Some(sig) = signals.forever().next() {
                        remove_all();
                        std::process::exit(128 + sig);
                    }
                })
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_registry_and_sweep() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let f = file_in(d, "disk.img", ".tmp").unwrap();
        let name = f.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.starts_with(&format!(".disk.img.yardstick-{}.", std::process::id())));
        assert!(name.ends_with(".tmp"));
        let s = dir_in(d, "disk.img").unwrap();
        assert!(s.path().is_dir());
        // A dead process's leftovers (a pid above Linux's largest pid_max, 2^22) are swept; other names and
        // live processes' entries are not.
        let dead = d.join(".disk.img.yardstick-4294967.abc.tmp");
        let dead_dir = d.join(".disk.img.yardstick-4294967.xyz");
        let live = d.join(format!(
            ".disk.img.yardstick-{}.keep.tmp",
            std::process::id()
        ));
        let other = d.join(".other.yardstick-4294967.abc.tmp");
        std::fs::write(&dead, b"x").unwrap();
        std::fs::create_dir(&dead_dir).unwrap();
        std::fs::write(dead_dir.join("f"), b"x").unwrap();
        std::fs::write(&live, b"x").unwrap();
        std::fs::write(&other, b"x").unwrap();
        let g = file_in(d, "disk.img", ".tmp").unwrap();
        assert!(!dead.exists() && !dead_dir.exists());
        assert!(live.exists() && other.exists());
        // remove_all removes what is registered (f, s, g), and dropping them afterwards is harmless.
        let paths = [
            f.path().to_path_buf(),
            s.path().to_path_buf(),
            g.path().to_path_buf(),
        ];
        remove_all();
        for p in &paths {
            assert!(!p.exists(), "{}", p.display());
        }
        drop((f, s, g));
        // A kept file is unregistered: remove_all leaves it.
        let k = file_in(d, "kept", "").unwrap().into_inner();
        let (_, kept) = k.keep().unwrap();
        remove_all();
        assert!(kept.exists());
    }
}
