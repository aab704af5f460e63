//! The reference cookie client (`session-lab cookies --jar FILE`) as a client under test, run
//! in this process: the stage-5 checks judge it exactly as they judge a student's program.

use super::{ClientRun, ClientTarget, SetupError, TargetError};
use crate::client::{self, CookiesFormat, RunOptions};
use std::path::PathBuf;
use tempfile::TempDir;
use url::Url;

pub struct ReferenceClient {
    format: CookiesFormat,
    /// Holds the jar file its runs share; replaced by [`ClientTarget::reset`].
    folder: TempDir,
    last_output: Option<String>,
}

impl ReferenceClient {
    /// A reference client printing `format`, its jar in a fresh temporary directory.
    pub fn new(format: CookiesFormat) -> std::io::Result<Self> {
        Ok(Self {
            format,
            folder: tempfile::tempdir()?,
            last_output: None,
        })
    }

    fn jar(&self) -> PathBuf {
        self.folder.path().join("cookies.txt")
    }
}

#[async_trait::async_trait]
impl ClientTarget for ReferenceClient {
    async fn run(&mut self, url: &Url) -> Result<ClientRun, TargetError> {
        let jar = self.jar();
        let options = RunOptions {
            jar: Some(&jar),
            keep_session_cookies: false,
            format: self.format,
            resolve: &[],
        };
        let (stdout, problem) = match client::run(std::slice::from_ref(url), &options).await {
            Ok(outcome) => {
                let problem = (!outcome.errors.is_empty()).then(|| {
                    let errors: Vec<String> =
                        outcome.errors.iter().map(ToString::to_string).collect();
                    errors.join("; ")
                });
                (outcome.output, problem)
            }
            Err(error) => (String::new(), Some(error.to_string())),
        };
        self.last_output = Some(match &problem {
            Some(problem) => format!("{stdout}error: {problem}\n"),
            None => stdout.clone(),
        });
        Ok(ClientRun { problem, stdout })
    }

    fn reset(&mut self) -> Result<(), TargetError> {
        self.folder =
            tempfile::tempdir().map_err(|error| SetupError::io("create a jar folder", error))?;
        Ok(())
    }

    fn output_tail(&self) -> Option<String> {
        self.last_output.clone()
    }
}
