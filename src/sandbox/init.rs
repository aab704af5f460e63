//! The first process of a sandbox (bubblewrap runs the `session-lab-init` binary as PID 1,
//! `--as-pid-1`): it starts the submission's command and lives until every process of the
//! sandbox is gone. bubblewrap's own first process ends the sandbox, and so kills everything
//! in it, as soon as the command it started exits; a launcher (`go run`, `npm start`,
//! `sh -c`, `mvn exec:java`, `bundle exec`) exits at once on SIGTERM, so the real server was
//! killed before it had saved. With this init, the grader's wait for the exit is a wait for
//! every process of the submission, within the deadline the contract states.
//!
//! As PID 1 of its namespace it gets no signal it has no handler for, except SIGKILL from the
//! grader: the stop signals go to the command's processes and never end the init early.

use nix::libc;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;

/// The init's file name, beside the `session-lab` binary.
pub const INIT_BINARY: &str = "session-lab-init";

/// The init's first argument, before the command, when the sandbox ends with the command: a
/// build is over when its command exits, whatever it left running (a compiler's daemon).
pub const END_WITH_COMMAND: &str = "--end-with-command";

/// Where the init is mounted inside every sandbox.
pub const INIT_IN_SANDBOX: &str = "/run/session-lab/init";

/// Every signal a submission inherits as ignored or blocked from whoever started the grader
/// (`&` in a shell script ignores SIGINT, and the JVM then ignores Ctrl-C) is reset to its
/// default, as a program started from a terminal would have it. Async-signal-safe: for
/// `pre_exec`.
pub fn reset_signal_dispositions() -> std::io::Result<()> {
    // SAFETY: signal and sigprocmask change only this process's dispositions and mask.
    unsafe {
        for signal in 1..libc::SIGRTMAX() {
            if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                // Fails only for the signal numbers the C library reserves; nothing to reset.
                libc::signal(signal, libc::SIG_DFL);
            }
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        if libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut()) == -1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Runs `command` and waits for every process of the sandbox (or, after [`END_WITH_COMMAND`],
/// kills them all when the command exits); returns the exit code the command had (128 + N
/// for a death by signal N, as a shell reports it).
pub fn run(command: &[OsString]) -> Result<u8, String> {
    if std::process::id() != 1 {
        return Err(format!(
            "{INIT_BINARY} is the first process of a grader's sandbox and runs only there"
        ));
    }
    let (ends_with_command, command) = match command.split_first() {
        Some((first, rest)) if first == END_WITH_COMMAND => (true, rest),
        _ => (false, command),
    };
    let Some((program, args)) = command.split_first() else {
        return Err(format!("usage: {INIT_BINARY} COMMAND [ARG…]"));
    };
    let mut child = std::process::Command::new(program);
    child.args(args);
    // SAFETY: reset_signal_dispositions is async-signal-safe.
    unsafe {
        child.pre_exec(reset_signal_dispositions);
    }
    let command_pid = child
        .spawn()
        .map_err(|error| format!("cannot run `{}`: {error}", program.to_string_lossy()))?
        .id() as libc::pid_t;
    let mut code = 0;
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status it is given and nothing else.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid == command_pid {
            code = if libc::WIFSIGNALED(status) {
                128 + libc::WTERMSIG(status)
            } else {
                libc::WEXITSTATUS(status)
            };
            if ends_with_command {
                // PID 1 of its own namespace: -1 is every other process of the sandbox.
                // SAFETY: kill only sends a signal.
                unsafe {
                    libc::kill(-1, libc::SIGKILL);
                }
            }
        } else if pid == -1 {
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => continue,
                // No child left: every process of the sandbox is gone.
                _ => break,
            }
        }
    }
    Ok(u8::try_from(code).unwrap_or(u8::MAX))
}
