//! Which checks one grading runs: the stages asked for ([`Stages`]), and the programs there are
//! to judge; a [`Selection`] is valid by construction, so a stage never runs without what it
//! judges, and the usage error says what to give.

use super::{CLIENT_STAGE, Check, Judges, LAST_SERVER_STAGE, all};

/// The check that starts the server; every selection includes it.
pub const STARTS: &str = "stage1.listens";

/// Which stages to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stages {
    /// Stages 1 to N.
    UpTo(u8),
    /// Stage N alone (plus the start-up check).
    Only(u8),
}

impl Stages {
    pub fn contains(self, stage: u8) -> bool {
        match self {
            Self::UpTo(last) => stage <= last,
            Self::Only(only) => stage == only,
        }
    }

    pub fn last(self) -> u8 {
        match self {
            Self::UpTo(stage) | Self::Only(stage) => stage,
        }
    }
}

/// What one grading judges: which stages, and whether it has a server and a cookie client to
/// run them against. Made only through [`Selection::new`], so that every stage it holds has
/// what it judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    stages: Stages,
    server: bool,
    client: bool,
}

/// A stage asked for without what it judges, or a program given that no asked stage judges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    #[error(
        "give the server's command after `--` (only `--only 5 --client CMD` grades a client alone)"
    )]
    NoServer,
    #[error(
        "stage 5 grades a cookie client: give its command with --client 'CMD {{url}}', or grade --stage 4"
    )]
    NoClient,
    #[error(
        "--client is graded in stage 5: add --stage 5 (or --only 5), or leave --client out to grade stages 1–{last}"
    )]
    ClientOutsideStage5 { last: u8 },
}

impl Selection {
    /// `stages`, judged against a server (stages 1–4) and a cookie client (stage 5) where there
    /// is one; stage 5 alone needs no server.
    pub fn new(stages: Stages, server: bool, client: bool) -> Result<Self, SelectionError> {
        if !server && stages != Stages::Only(CLIENT_STAGE) {
            return Err(SelectionError::NoServer);
        }
        if stages.contains(CLIENT_STAGE) && !client {
            return Err(SelectionError::NoClient);
        }
        if client && !stages.contains(CLIENT_STAGE) {
            return Err(SelectionError::ClientOutsideStage5 {
                last: stages.last(),
            });
        }
        Ok(Self {
            stages,
            server,
            client,
        })
    }

    /// The stages a grader was asked for: stage `only` alone, or stages 1 to `up_to`, which is
    /// by default the last stage there is something to judge in (5 with a client, else 4).
    pub fn asked(
        up_to: Option<u8>,
        only: Option<u8>,
        server: bool,
        client: bool,
    ) -> Result<Self, SelectionError> {
        let stages = match only {
            Some(only) => Stages::Only(only),
            None => Stages::UpTo(up_to.unwrap_or(if client {
                CLIENT_STAGE
            } else {
                LAST_SERVER_STAGE
            })),
        };
        Self::new(stages, server, client)
    }

    pub fn stages(self) -> Stages {
        self.stages
    }

    /// Whether there is a server to judge.
    pub fn has_server(self) -> bool {
        self.server
    }

    /// Whether there is a cookie client to judge.
    pub fn has_client(self) -> bool {
        self.client
    }

    /// The checks of the stages that judge what there is, in the order they run; with a
    /// server, always the one that starts it.
    pub fn checks(self) -> Vec<&'static Check> {
        all()
            .into_iter()
            .filter(|check| {
                let in_stages = self.stages.contains(check.stage);
                match check.judges {
                    Judges::Server => self.server && (check.id == STARTS || in_stages),
                    Judges::Client => self.client && in_stages,
                    Judges::ClientAndServer => self.client && self.server && in_stages,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(stages: Stages, server: bool, client: bool) -> Vec<&'static str> {
        // Built as it is, valid or not: the filter alone is under test here.
        let selection = Selection {
            stages,
            server,
            client,
        };
        selection.checks().iter().map(|c| c.id).collect()
    }

    #[test]
    fn only_selects_one_stage_plus_the_start() {
        let ids = ids(Stages::Only(2), true, false);
        assert_eq!(ids[0], STARTS);
        assert!(
            ids[1..].iter().all(|id| id.starts_with("stage2.")),
            "{ids:?}"
        );
    }

    #[test]
    fn a_client_alone_gets_the_client_checks_and_nothing_that_needs_a_server() {
        let ids = ids(Stages::Only(CLIENT_STAGE), false, true);
        assert!(!ids.is_empty());
        assert!(
            ids.iter()
                .all(|id| id.starts_with("stage5.") && *id != "stage5.client-against-your-server"),
            "{ids:?}"
        );
    }

    #[test]
    fn a_server_and_a_client_get_every_stage_and_the_check_of_both() {
        let ids = ids(Stages::UpTo(CLIENT_STAGE), true, true);
        assert_eq!(ids.len(), all().len());
        assert_eq!(ids.last(), Some(&"stage5.client-against-your-server"));
        let without_client = self::ids(Stages::UpTo(CLIENT_STAGE), true, false);
        assert!(
            without_client.iter().all(|id| !id.starts_with("stage5.")),
            "{without_client:?}"
        );
    }

    #[test]
    fn a_stage_without_what_it_judges_is_a_usage_error_that_says_what_to_give() {
        assert_eq!(
            Selection::new(Stages::UpTo(4), false, false),
            Err(SelectionError::NoServer)
        );
        assert_eq!(
            Selection::new(Stages::UpTo(CLIENT_STAGE), true, false),
            Err(SelectionError::NoClient)
        );
        assert_eq!(
            Selection::new(Stages::Only(CLIENT_STAGE), false, false),
            Err(SelectionError::NoClient)
        );
        assert_eq!(
            Selection::new(Stages::UpTo(3), true, true),
            Err(SelectionError::ClientOutsideStage5 { last: 3 })
        );
        assert!(
            SelectionError::ClientOutsideStage5 { last: 3 }
                .to_string()
                .contains("stages 1–3")
        );
        assert!(Selection::new(Stages::Only(CLIENT_STAGE), false, true).is_ok());
        assert!(Selection::new(Stages::Only(2), true, false).is_ok());
    }

    #[test]
    fn the_stages_asked_default_to_the_last_there_is_something_to_judge_in() {
        let stages = |up_to, only, client| {
            Selection::asked(up_to, only, true, client).map(Selection::stages)
        };
        assert_eq!(
            stages(None, None, false),
            Ok(Stages::UpTo(LAST_SERVER_STAGE))
        );
        assert_eq!(stages(None, None, true), Ok(Stages::UpTo(CLIENT_STAGE)));
        assert_eq!(stages(Some(2), None, false), Ok(Stages::UpTo(2)));
        assert_eq!(stages(None, Some(3), false), Ok(Stages::Only(3)));
        assert_eq!(
            Selection::asked(None, Some(CLIENT_STAGE), false, true).map(Selection::has_server),
            Ok(false)
        );
    }
}
