//! What each check is worth (`--rubric FILE`): points per stage and, where wanted, per check,
//! in TOML. A stage's points not given to checks of their own are shared equally by its other
//! checks; a stage the rubric does not name is worth a point a check, as it is without one.
//!
//! ```toml
//! [points]
//! stage1 = 10
//! stage3 = 40
//! "stage3.session-id-random" = 8   # a check's own points, taken from its stage's 40
//!
//! [visibility]                      # Gradescope's, per test: visible, hidden, after_due_date, after_published
//! default = "after_published"
//! "stage3.session-id-random" = "hidden"
//! ```

use crate::checks::Check;
use std::collections::BTreeMap;

/// A number of points, shown whole or to two decimals (and summed unrounded, so that a
/// stage's shares add up to the stage).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Points(f64);

impl Points {
    pub fn new(points: f64) -> Self {
        Self(points)
    }

    pub fn value(self) -> f64 {
        self.0
    }

    /// To two decimals, as every report shows it.
    fn shown(self) -> f64 {
        (self.0 * 100.0).round() / 100.0
    }
}

impl std::ops::Add for Points {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self(self.0 + other.0)
    }
}

impl std::iter::Sum for Points {
    fn sum<I: Iterator<Item = Self>>(points: I) -> Self {
        points.fold(Self::default(), |sum, points| sum + points)
    }
}

impl std::fmt::Display for Points {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.shown();
        if shown.fract() == 0.0 {
            write!(f, "{shown:.0}")
        } else {
            write!(f, "{shown:.2}")
        }
    }
}

/// A whole number of points as an integer (`30`, as reports always had it), else a number
/// with two decimals.
impl serde::Serialize for Points {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let shown = self.shown();
        if shown.fract() == 0.0 && shown.abs() < 1e15 {
            serializer.serialize_i64(shown as i64)
        } else {
            serializer.serialize_f64(shown)
        }
    }
}

impl<'de> serde::Deserialize<'de> for Points {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        f64::deserialize(deserializer).map(Self::new)
    }
}

/// Gradescope's visibility of a test.
const VISIBILITIES: [&str; 4] = ["visible", "hidden", "after_due_date", "after_published"];

/// What each check is worth, and how Gradescope shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rubric {
    /// Each check's points, where the rubric sets them; a check not here is worth 1.
    points: BTreeMap<&'static str, Points>,
    visibility: BTreeMap<String, String>,
    default_visibility: Option<String>,
    /// The rubric as it was read, for the line that says how a grading was made.
    source: Option<String>,
}

/// A rubric that cannot be used, and where.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RubricError {
    #[error("the rubric is not TOML: {0}")]
    NotToml(String),
    #[error(
        "the rubric gives points to `{0}`, which is neither a stage (stage1 … stage5) nor a check's id"
    )]
    Unknown(String),
    #[error("the rubric gives `{key}` {value}: points are a number of 0 or more")]
    NotPoints { key: String, value: String },
    #[error(
        "the rubric gives the checks of {stage} {named} of its {total} points by name: give the stage more, or its checks less"
    )]
    Overdrawn {
        stage: String,
        named: String,
        total: String,
    },
    #[error(
        "the rubric's visibility of `{key}` is {value:?}: it is one of visible, hidden, after_due_date, after_published"
    )]
    Visibility { key: String, value: String },
}

impl Rubric {
    /// The rubric `text` sets for `checks` (every check there is).
    pub fn from_toml(text: &str, checks: &[&'static Check]) -> Result<Self, RubricError> {
        let table: toml::Table =
            toml::from_str(text).map_err(|error| RubricError::NotToml(error.to_string()))?;
        let number = |key: &str, value: &toml::Value| {
            let points = match value {
                toml::Value::Integer(points) => *points as f64,
                toml::Value::Float(points) => *points,
                _ => f64::NAN,
            };
            if points.is_finite() && points >= 0.0 {
                Ok(points)
            } else {
                Err(RubricError::NotPoints {
                    key: key.to_owned(),
                    value: value.to_string(),
                })
            }
        };
        let mut stages: BTreeMap<u8, f64> = BTreeMap::new();
        let mut own: BTreeMap<&'static str, f64> = BTreeMap::new();
        if let Some(points) = table.get("points").and_then(toml::Value::as_table) {
            for (key, value) in points {
                let value = number(key, value)?;
                let stage = key
                    .strip_prefix("stage")
                    .and_then(|stage| stage.parse::<u8>().ok())
                    .filter(|stage| checks.iter().any(|check| check.stage == *stage));
                if let Some(stage) = stage {
                    stages.insert(stage, value);
                } else if let Some(check) = checks.iter().find(|check| check.id == key) {
                    own.insert(check.id, value);
                } else {
                    return Err(RubricError::Unknown(key.clone()));
                }
            }
        }
        let mut points = BTreeMap::new();
        for (&stage, &total) in &stages {
            let of_stage: Vec<&&Check> =
                checks.iter().filter(|check| check.stage == stage).collect();
            let named: f64 = of_stage.iter().filter_map(|check| own.get(check.id)).sum();
            if named > total + 1e-9 {
                return Err(RubricError::Overdrawn {
                    stage: format!("stage{stage}"),
                    named: Points::new(named).to_string(),
                    total: Points::new(total).to_string(),
                });
            }
            let others = of_stage
                .iter()
                .filter(|check| !own.contains_key(check.id))
                .count();
            let share = if others == 0 {
                0.0
            } else {
                (total - named) / others as f64
            };
            for check in of_stage {
                let worth = own.get(check.id).copied().unwrap_or(share);
                points.insert(check.id, Points(worth));
            }
        }
        // A check of a stage the rubric does not name keeps its own points, its stage's other
        // checks a point each.
        for (&id, &worth) in &own {
            points.entry(id).or_insert(Points(worth));
        }
        let mut visibility = BTreeMap::new();
        let mut default_visibility = None;
        if let Some(shown) = table.get("visibility").and_then(toml::Value::as_table) {
            for (key, value) in shown {
                let value = value.as_str().unwrap_or_default();
                if !VISIBILITIES.contains(&value) {
                    return Err(RubricError::Visibility {
                        key: key.clone(),
                        value: value.to_owned(),
                    });
                }
                if key == "default" {
                    default_visibility = Some(value.to_owned());
                } else if checks.iter().any(|check| check.id == key) {
                    visibility.insert(key.clone(), value.to_owned());
                } else {
                    return Err(RubricError::Unknown(key.clone()));
                }
            }
        }
        let source = points
            .iter()
            .map(|(id, worth)| format!("{id}={worth}"))
            .chain(visibility.iter().map(|(id, shown)| format!("{id}:{shown}")))
            .chain(
                default_visibility
                    .iter()
                    .map(|shown| format!("default:{shown}")),
            )
            .collect::<Vec<_>>()
            .join(", ");
        Ok(Self {
            points,
            visibility,
            default_visibility,
            source: Some(source),
        })
    }

    /// What the check `id` is worth: what the rubric says, else a point.
    pub fn points(&self, id: &str) -> Points {
        self.points.get(id).copied().unwrap_or(Points(1.0))
    }

    /// Gradescope's visibility of the check `id`, where the rubric sets one.
    pub fn visibility(&self, id: &str) -> Option<&str> {
        self.visibility
            .get(id)
            .or(self.default_visibility.as_ref())
            .map(String::as_str)
    }

    /// `a point a check`, or every check's points: what makes two gradings score alike.
    pub fn describe(&self) -> String {
        match &self.source {
            None => "a point a check".into(),
            Some(source) => format!("points {source}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rubric(text: &str) -> Result<Rubric, RubricError> {
        Rubric::from_toml(text, &crate::checks::all())
    }

    fn stage_total(rubric: &Rubric, stage: u8) -> Points {
        crate::checks::all()
            .iter()
            .filter(|check| check.stage == stage)
            .map(|check| rubric.points(check.id))
            .sum()
    }

    #[test]
    fn a_stage_s_points_are_shared_by_its_checks_but_those_with_their_own() {
        let rubric = rubric(
            "[points]\nstage1 = 10\nstage2 = 20\nstage3 = 40\nstage4 = 30\n\"stage3.session-id-random\" = 8\n",
        )
        .unwrap();
        assert_eq!(rubric.points("stage3.session-id-random"), Points(8.0));
        for (stage, total) in [(1, 10.0), (2, 20.0), (3, 40.0), (4, 30.0)] {
            assert!(
                (stage_total(&rubric, stage).value() - total).abs() < 0.05,
                "stage {stage}"
            );
        }
        // Stage 5, not named, is worth a point a check.
        assert_eq!(rubric.points("stage5.client-runs"), Points(1.0));
        assert_eq!(Rubric::default().points("stage1.listens"), Points(1.0));
    }

    #[test]
    fn a_rubric_that_cannot_be_meant_is_refused_with_what_is_wrong() {
        assert_eq!(
            rubric("[points]\nstage9 = 1\n"),
            Err(RubricError::Unknown("stage9".into()))
        );
        assert_eq!(
            rubric("[points]\n\"stage3.no-such-check\" = 1\n"),
            Err(RubricError::Unknown("stage3.no-such-check".into()))
        );
        assert!(matches!(
            rubric("[points]\nstage1 = -1\n"),
            Err(RubricError::NotPoints { .. })
        ));
        assert!(matches!(
            rubric("[points]\nstage3 = 5\n\"stage3.session-id-random\" = 8\n"),
            Err(RubricError::Overdrawn { .. })
        ));
        assert!(matches!(
            rubric("[visibility]\ndefault = \"secret\"\n"),
            Err(RubricError::Visibility { .. })
        ));
        assert!(matches!(rubric("points = ["), Err(RubricError::NotToml(_))));
    }

    #[test]
    fn points_are_whole_or_two_decimals_and_visibility_falls_back_to_the_default() {
        assert_eq!(Points::new(10.0 / 3.0).to_string(), "3.33");
        assert_eq!(Points::new(8.0).to_string(), "8");
        assert_eq!(serde_json::to_string(&Points::new(30.0)).unwrap(), "30");
        assert_eq!(serde_json::to_string(&Points::new(2.5)).unwrap(), "2.5");
        let rubric = rubric(
            "[visibility]\ndefault = \"after_published\"\n\"stage1.listens\" = \"visible\"\n",
        )
        .unwrap();
        assert_eq!(rubric.visibility("stage1.listens"), Some("visible"));
        assert_eq!(
            rubric.visibility("stage2.restores-after-sigterm"),
            Some("after_published")
        );
        assert_eq!(Rubric::default().visibility("stage1.listens"), None);
    }
}
