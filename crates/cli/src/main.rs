//! `yardstick`: the command-line front end. It parses flags and wires the library crates together; the work
//! itself lives in the crates (`yardstick-verity`, `yardstick-snp`, `yardstick-pe`, `yardstick-tpm`, ...).

#![forbid(unsafe_code)]
// Standard output goes through the `ui` writers, which return write errors instead of panicking.
#![deny(clippy::print_stdout)]
// The doc comments on clap arguments are `--help` text, printed verbatim: placeholders such as <bank> are
// meant for the terminal, not HTML.
#![allow(rustdoc::invalid_html_tags)]

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod cmd;
mod ui;

const ABOUT: &str = "Build trust into Confidential Containers OS images";

const LONG_ABOUT: &str = "\
yardstick computes, offline and bit-exact, the reference values a relying
party needs to trust a Confidential Containers guest image, along its three
trust paths:

  launch measurement  SEV/SEV-ES/SEV-SNP launch digests (snp), TDX MRTD/RTMRs (tdx)
  dm-verity           hash trees, root hashes, FEC, signatures (verity)
  vTPM measured boot  UKIs, PCR prediction, event logs (uki, pcr, eventlog)

and ties them together (image, refvals, verify).";

const AFTER_HELP: &str = "\
Exit status:
  0  success (for checks: everything verified)
  1  a check failed (corruption found, evidence rejected, values differ)
  2  error: bad usage, unreadable or malformed input

Examples:
  yardstick verity format rootfs.img rootfs.hash
  yardstick verity verify rootfs.img rootfs.hash <root-hash>
  yardstick completions bash > /etc/bash_completion.d/yardstick
  yardstick man --out-dir /usr/local/share/man/man1";

#[derive(Debug, Parser)]
#[command(name = "yardstick", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
#[command(propagate_version = true, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Path(Box<cmd::PathCommand>),
    /// Print a shell completion script to stdout
    #[command(
        after_help = "Examples:\n  yardstick completions bash > /etc/bash_completion.d/yardstick\n  \
                            yardstick completions zsh > ~/.zfunc/_yardstick"
    )]
    Completions {
        /// Shell to generate for
        shell: clap_complete::Shell,
    },
    /// Write man pages (yardstick.1 and one per subcommand) generated from this command line
    #[command(after_help = "Example:\n  yardstick man --out-dir /usr/local/share/man/man1")]
    Man {
        /// Directory to write the pages into (created if missing)
        #[arg(long, value_name = "DIR", default_value = ".")]
        out_dir: std::path::PathBuf,
    },
}

fn main() -> ExitCode {
    // SIGINT/SIGTERM/SIGHUP remove this run's temporary files before the exit (a thread waits for them).
    if let Err(e) = yardstick_common::scratch::remove_on_signals() {
        ui::print_error(&anyhow::Error::new(e).context("cannot install signal handlers"));
        return ExitCode::from(2);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    let result = match cli.command {
        Command::Path(c) => cmd::run(*c),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "yardstick", &mut script);
            ui::print_bytes(&script).map(|()| ExitCode::SUCCESS)
        }
        Command::Man { out_dir } => write_man_pages(&out_dir).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => exit_on_error(&e),
    }
}

/// A closed pipe ends the program quietly with success (the reader has what it wanted); any other error is
/// one line on stderr and exit status 2.
fn exit_on_error(e: &anyhow::Error) -> ExitCode {
    if ui::is_broken_pipe(e) {
        ExitCode::SUCCESS
    } else {
        ui::print_error(e);
        ExitCode::from(2)
    }
}

/// Prints clap's help, version or usage error (help and version on stdout, errors on stderr) with clap's own
/// exit status, unless the write fails: then the write error decides as for any other output.
fn clap_exit(e: &clap::Error) -> ExitCode {
    if !e.use_stderr() {
        // --help and --version: clap's own output on stdout, exit 0 (a full device is an error).
        return match e.print() {
            Ok(()) => ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)),
            Err(io) => exit_on_error(&anyhow::Error::new(io)),
        };
    }
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        usage_error_text(&e.render().to_string()).as_bytes(),
    );
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}

/// clap's usage error in yardstick's error format: its message, which clap may spread over several lines
/// (e.g. one line per missing argument), becomes one self-sufficient first line with the tool's prefix; the
/// tip, usage and help hint that follow are kept as clap writes them.
fn usage_error_text(rendered: &str) -> String {
    let mut lines = rendered.lines();
    let mut message: Vec<&str> = Vec::new();
    for l in lines.by_ref() {
        if l.trim().is_empty() {
            break;
        }
        message.push(l.trim());
    }
    let first = message.join(" ");
    let first = first.strip_prefix("error: ").unwrap_or(&first);
    let mut out = format!("yardstick: error: {}\n", first.trim_end_matches(':'));
    let rest: Vec<&str> = lines.collect();
    if !rest.is_empty() {
        out.push('\n');
        for l in rest {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

fn write_man_pages(dir: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create directory", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("{}: cannot write man pages", dir.display()))?;
    Ok(())
}
