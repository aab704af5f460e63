//! Running checks in order: a check whose dependency did not pass is skipped, and a panic or a
//! timeout is that check's failure, never the end of the run.

use super::{Check, CheckReport, Ctx, Failure, Judges, Status, stage5};
use futures_util::FutureExt;
use std::borrow::Cow;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

/// The most one check may take: enough for a restart that waits out every deadline.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(40);

/// Runs `checks` in order against `ctx`'s target, calling `on_report` as each one ends.
pub async fn run(
    ctx: &mut Ctx,
    checks: &[&'static Check],
    mut on_report: impl FnMut(&CheckReport),
) -> Vec<CheckReport> {
    let mut reports: Vec<CheckReport> = Vec::with_capacity(checks.len());
    for check in checks {
        let blocked_by = check.depends_on.iter().find_map(|dependency| {
            reports
                .iter()
                .find(|report| report.id == *dependency && report.status != Status::Passed)
        });
        let report = match blocked_by {
            Some(dependency) => CheckReport {
                id: check.id,
                stage: check.stage,
                title: check.title,
                hint: hint(ctx, check),
                status: Status::Skipped,
                failure: Some(Failure::new(format!(
                    "skipped: it depends on {}, which {}",
                    dependency.id,
                    if dependency.status == Status::Failed {
                        "failed"
                    } else {
                        "was skipped"
                    }
                ))),
                duration: Duration::ZERO,
                output_tail: None,
                note: None,
            },
            None => run_one(ctx, check).await,
        };
        on_report(&report);
        reports.push(report);
    }
    reports
}

async fn run_one(ctx: &mut Ctx, check: &'static Check) -> CheckReport {
    let begun = Instant::now();
    let attempt = async {
        if !has_what_it_judges(ctx, check.judges) {
            return Err(Failure::new(match check.judges {
                Judges::Server => "there is no server to check: give its command",
                Judges::Client => "there is no cookie client to check: give its command",
                Judges::ClientAndServer => {
                    "this check runs the cookie client against the server: give both commands"
                }
            }));
        }
        if check.judges == Judges::Client {
            ctx.stop_server_for_the_client().await;
        } else {
            ctx.ensure_running().await?;
        }
        (check.run)(ctx).await
    };
    let outcome = match tokio::time::timeout(
        crate::patience::stretched(CHECK_TIMEOUT),
        AssertUnwindSafe(attempt).catch_unwind(),
    )
    .await
    {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(Failure::new(format!(
            "internal error in the check (please report it): {}",
            panic_message(panic.as_ref())
        ))),
        Err(_) => Err(Failure::new(format!(
            "the check did not finish within {} s",
            CHECK_TIMEOUT.as_secs()
        ))),
    };
    let failed = outcome.is_err();
    let outcome = outcome.map_err(Failure::bounded);
    CheckReport {
        id: check.id,
        stage: check.stage,
        title: check.title,
        hint: hint(ctx, check),
        status: if failed {
            Status::Failed
        } else {
            Status::Passed
        },
        failure: outcome.err(),
        duration: begun.elapsed(),
        output_tail: if failed {
            output_tail(ctx, check.judges).map(|tail| crate::text::visible(&tail).into_owned())
        } else {
            None
        },
        note: ctx
            .take_note()
            .map(|note| crate::text::visible(&note).into_owned()),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Whether `ctx` has the programs a check that judges `judges` runs against.
fn has_what_it_judges(ctx: &Ctx, judges: Judges) -> bool {
    let client = ctx.client_under_test().is_some();
    match judges {
        Judges::Server => ctx.has_server(),
        Judges::Client => client,
        Judges::ClientAndServer => ctx.has_server() && client,
    }
}

/// `check`'s hint, with the library calls of the client's language where stage 5 has them
/// (a Go student is told about net/http/cookiejar, not MozillaCookieJar).
fn hint(ctx: &Ctx, check: &'static Check) -> Cow<'static, str> {
    let language = ctx
        .client_under_test()
        .and_then(stage5::ClientUnderTest::language);
    match (check.judges, language) {
        (Judges::Server, _) | (_, None) => Cow::Borrowed(check.hint),
        (_, Some(language)) => Cow::Borrowed(stage5::hint(check, language)),
    }
}

/// The end of what the program a failed check judged printed: the cookie client's for a
/// check of the client, else the server's.
fn output_tail(ctx: &Ctx, judges: Judges) -> Option<String> {
    match (judges, ctx.client_under_test()) {
        (Judges::Server, _) | (_, None) => ctx.server_output_tail(),
        (_, Some(client)) => client.output_tail(),
    }
}
