//! Which jobs a list or a bulk action is about: `state`, `owner`, `name` (in the Name) and `q`
//! (a search over Name, the command and JobStatus), as `GET /api/v1/jobs?state=&owner=&q=` and the bulk
//! endpoint's `filter` give them. A filter only narrows what its requester may see anyway.

use cimjob_rules::model::value_maps::JobState;
use cimjob_rules::model::Job;
use serde::Deserialize;

/// The filter as a client writes it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct FilterQuery {
    /// JobStates, by number or name, comma-separated (`4,suspended`).
    #[param(schema_with = job_states, style = Form, explode = false)]
    pub state: Option<String>,
    /// The jobs of this owner only.
    pub owner: Option<String>,
    /// Words each of which the job's Name, command line or JobStatus holds (case ignored).
    pub q: Option<String>,
    /// Text the job's Name holds (case ignored).
    pub name: Option<String>,
    /// The jobs of this Priority only.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_u32)]
    pub priority: Option<String>,
}

/// `state` as the document declares it: JobState numbers or names, comma-separated (an empty
/// item is no condition).
fn job_states() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let names = JobState::ALL
        .iter()
        .flat_map(|s| [s.number().to_string(), s.name().to_owned()])
        .chain([String::new()]);
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(names)),
        )
        .build()
}

/// A filter ready to test jobs with.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    states: Option<Vec<JobState>>,
    owner: Option<String>,
    words: Vec<String>,
    name: Option<String>,
    priority: Option<u32>,
}

impl Filter {
    /// Reads `query`, naming any state it does not know.
    pub fn parse(query: &FilterQuery) -> Result<Filter, String> {
        // empty items are no condition (`state=` from a form, `4,` from a script)
        let states = query
            .state
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(state_named)
            .collect::<Result<Vec<_>, _>>()?;
        let states = (!states.is_empty()).then_some(states);
        let words = query
            .q
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let priority = match query.priority.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<u32>().map_err(|_| {
                format!(
                    "priority {text:?} is not a Priority: give a number from 0 to {}",
                    u32::MAX
                )
            })?),
        };
        Ok(Filter {
            priority,
            states,
            owner: query.owner.clone().filter(|o| !o.is_empty()),
            words,
            name: query
                .name
                .as_deref()
                .filter(|n| !n.is_empty())
                .map(str::to_lowercase),
        })
    }

    /// Whether no condition is set (every job matches).
    pub fn is_empty(&self) -> bool {
        self.states.is_none()
            && self.owner.is_none()
            && self.words.is_empty()
            && self.name.is_none()
            && self.priority.is_none()
    }

    /// Whether `job` matches.
    pub fn matches(&self, job: &Job) -> bool {
        if let Some(owner) = &self.owner {
            if job.owner != *owner {
                return false;
            }
        }
        if self.priority.is_some_and(|p| p != job.priority) {
            return false;
        }
        if let Some(states) = &self.states {
            if !states.contains(&job.situation.status().job_state) {
                return false;
            }
        }
        if let Some(name) = &self.name {
            if !job.name.to_lowercase().contains(name.as_str()) {
                return false;
            }
        }
        if self.words.is_empty() {
            return true;
        }
        let text = format!(
            "{}\n{}\n{}",
            job.name,
            job.command_line.join(" "),
            job.job_status().unwrap_or("")
        )
        .to_lowercase();
        self.words.iter().all(|word| text.contains(word.as_str()))
    }
}

/// The JobState a client named: its number, or its name (`shutting-down`, `Query Pending`).
fn state_named(text: &str) -> Result<JobState, String> {
    let known = || {
        JobState::ALL
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    text.parse::<u16>()
        .ok()
        .and_then(JobState::from_number)
        .or_else(|| JobState::from_name(text))
        .ok_or_else(|| {
            format!(
                "state {text:?} is not a JobState: give a number or one of {}",
                known()
            )
        })
}
