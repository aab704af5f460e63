//! The account the checks log in with (`--username`, `--password`).

/// The account the checks log in with.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            username: "alice".into(),
            password: "wonderland".into(),
        }
    }
}
