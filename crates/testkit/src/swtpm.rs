//! A private swtpm serving the TPM command protocol on loopback TCP, for tpm2-tools
//! (`TPM2TOOLS_TCTI=swtpm:...`): used by the tests that quote or read the PCRs of a real (software) TPM, and by
//! the boot harness to serve the TPM a guest left behind.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::peer;

/// A running swtpm, killed on drop; its state directory is removed on drop too.
pub struct Swtpm {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

/// A free loopback port whose neighbour (swtpm's control channel) is free too.
fn free_port_pair() -> Option<u16> {
    let l = TcpListener::bind("127.0.0.1:0").ok()?;
    let port = l.local_addr().ok()?.port();
    let next = port.checked_add(1)?;
    let l2 = TcpListener::bind(("127.0.0.1", next)).ok()?;
    drop((l, l2));
    Some(port)
}

impl Swtpm {
    /// Starts swtpm on the state directory `state` with `--flags flags` (`not-need-init` initialises at once,
    /// which resumes a saved volatile state; add `startup-clear` for a TPM that needs no `tpm2_startup`),
    /// serving on loopback. Another process may take the ports between the check and swtpm's bind: then it
    /// tries other ports.
    pub fn serve(state: tempfile::TempDir, flags: &str) -> Result<Swtpm, String> {
        for _ in 0..10 {
            let Some(port) = free_port_pair() else {
                continue;
            };
            let mut child = Command::new(peer("swtpm"))
                .args(["socket", "--tpm2", "--flags", flags])
                .arg("--server")
                .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
                .arg("--ctrl")
                .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1))
                .arg("--tpmstate")
                .arg(format!("dir={}", state.path().display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start swtpm: {e}"))?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // lost the port race: try another
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(Swtpm {
                        child,
                        dir: state,
                        port,
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        Err(format!("swtpm did not start on {}", state.path().display()))
    }

    /// The tpm2-tools TCTI string for this TPM.
    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    /// A scratch directory for files the caller makes with the TPM (keys, quotes): swtpm's state directory.
    pub fn work_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The file `name` in [`Swtpm::work_dir`].
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A tpm2-tools command talking to this TPM, run in [`Swtpm::work_dir`].
    pub fn command(&self, name: &str) -> Command {
        let mut c = Command::new(peer(name));
        c.env("TPM2TOOLS_TCTI", self.tcti())
            .current_dir(self.dir.path());
        c
    }

    /// Runs a tpm2-tools command against this TPM in [`Swtpm::work_dir`], then flushes transient objects
    /// (swtpm has no resource manager). Returns stdout, or `"<name> <args>: <stderr>"` on failure.
    pub fn tool(&self, name: &str, args: &[&str]) -> Result<String, String> {
        let out = self
            .command(name)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {name}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{name} {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        if name != "tpm2_flushcontext" {
            let _ = self.command("tpm2_flushcontext").arg("-t").output();
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
