//! Stage 2 — persistence: the count survives a graceful stop by SIGINT or SIGTERM, and the
//! server exits promptly on either.

use super::{Check, Ctx, Failure, check, ensure, expect_count};
use crate::under_test::{EXIT_DEADLINE, StopSignal};
use std::time::Duration;

pub static CHECKS: &[Check] = &[
    check!(
        "stage2.exits-on-sigint",
        2,
        "the server exits within 5 s of SIGINT (Ctrl-C) and starts again",
        ["stage1.listens"],
        "exercises.md, “Stage 2 — persistence”: on SIGINT, stop serving, save and exit; let the signal handler only start the shutdown, and save after the server loop returns.",
        exits_on_sigint
    ),
    check!(
        "stage2.restores-after-sigint",
        2,
        "hits continue where they were after a SIGINT restart",
        ["stage2.exits-on-sigint", "stage1.hits-consecutive"],
        "exercises.md, “Stage 2 — persistence”: save the count when stopped and load it at start; a missing file is a fresh start.",
        restores_after_sigint
    ),
    check!(
        "stage2.exits-on-sigterm",
        2,
        "the server exits within 5 s of SIGTERM and starts again",
        ["stage1.listens"],
        "exercises.md, “Stage 2 — persistence”: SIGTERM is how service managers and CI stop a server; handle it like SIGINT (in Python, install a handler for both with signal.signal).",
        exits_on_sigterm
    ),
    check!(
        "stage2.restores-after-sigterm",
        2,
        "hits continue where they were after a SIGTERM restart",
        ["stage2.exits-on-sigterm", "stage1.hits-consecutive"],
        "exercises.md, “Stage 2 — persistence”: save on SIGTERM too, not only on Ctrl-C.",
        restores_after_sigterm
    ),
];

async fn exits_on(ctx: &mut Ctx, signal: StopSignal) -> Result<(), Failure> {
    let stopped = ctx.observed_restart(signal).await?.stopped;
    let seconds = |duration: Duration| format!("{:.0} s", duration.as_secs_f64());
    if stopped.needed_second_signal {
        ctx.note(format!(
            "the server did not exit on the first {signal}, only on a second one {} later: a signal was lost. Let the handler only set a flag or start the shutdown (exercises.md, “Stage 2 — persistence”).",
            seconds(stopped.second_signal_after)
        ));
    }
    ensure(stopped.exited_in_time, || {
        let stretched = if stopped.deadline > EXIT_DEADLINE + Duration::from_millis(500) {
            format!(
                "; the contract's {}, and the time the machine kept it waiting for a core",
                seconds(EXIT_DEADLINE)
            )
        } else {
            String::new()
        };
        Failure::new(format!(
            "the server, or a process it started, was still running {} after {signal} (sent twice, {} apart{stretched}), so it was killed: every process of a submission must have exited by then",
            seconds(stopped.deadline),
            seconds(stopped.second_signal_after)
        ))
        .expected(format!(
            "an exit within {} of {signal}",
            seconds(EXIT_DEADLINE)
        ))
        .actual(if stopped.left_running.is_empty() {
            "still running; killed with SIGKILL".to_owned()
        } else {
            format!(
                "still running: {}; killed with SIGKILL",
                stopped.left_running.join(", ")
            )
        })
    })
}

async fn restores_after(ctx: &mut Ctx, signal: StopSignal) -> Result<(), Failure> {
    let observed = ctx.observed_restart(signal).await?;
    let (before, after) = (observed.before?, observed.after?);
    let ended_by_signal = observed.stopped.ended_by_signal;
    expect_count(&format!("after a {signal} restart"), &before, 0, &after).map_err(|mut failure| {
        if ended_by_signal == Some(signal.number()) {
            failure.message.push_str(&format!(
                " — it was killed by signal {} ({signal}) itself, so it saved nothing: without a handler, {signal} ends a program at once; handle it as you handle Ctrl-C",
                signal.number()
            ));
        } else if after.hits == after.requests {
            failure
                .message
                .push_str(" — the count started over: it was not saved, or not loaded at start");
        }
        failure
    })
}

async fn exits_on_sigint(ctx: &mut Ctx) -> Result<(), Failure> {
    exits_on(ctx, StopSignal::Interrupt).await
}

async fn restores_after_sigint(ctx: &mut Ctx) -> Result<(), Failure> {
    restores_after(ctx, StopSignal::Interrupt).await
}

async fn exits_on_sigterm(ctx: &mut Ctx) -> Result<(), Failure> {
    exits_on(ctx, StopSignal::Terminate).await
}

async fn restores_after_sigterm(ctx: &mut Ctx) -> Result<(), Failure> {
    restores_after(ctx, StopSignal::Terminate).await
}
