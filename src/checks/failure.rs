//! Why a check failed, in the student's terms: what happened, and where it helps, what was
//! expected and what came; bounded, so that nothing a submission sends makes a report huge.

/// Why a check failed: what happened, and where it helps, what was expected and what came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    pub fn actual(mut self, actual: impl Into<String>) -> Self {
        self.actual = Some(actual.into());
        self
    }

    /// The failure with each of its texts cut to [`Failure::MAX_TEXT`] bytes and shown as text
    /// ([`crate::text::visible`]): whatever a submission sends or prints, a report stays small
    /// enough to read and to write quickly, and nothing in it acts on a terminal.
    pub fn bounded(self) -> Self {
        let cut = |text: String| {
            crate::text::visible(&crate::text::cut(text, Self::MAX_TEXT)).into_owned()
        };
        Self {
            message: cut(self.message),
            expected: self.expected.map(cut),
            actual: self.actual.map(cut),
        }
    }

    /// The most bytes of one text of a failure that a report keeps.
    pub const MAX_TEXT: usize = 8 * 1024;
}

/// Fails with `failure` unless `condition` holds.
pub fn ensure(condition: bool, failure: impl FnOnce() -> Failure) -> Result<(), Failure> {
    if condition { Ok(()) } else { Err(failure()) }
}
