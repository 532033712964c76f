//! Snapshot encoding of a partition's [`State`]: what lets recovery skip replaying the log from
//! the beginning.
//!
//! The format is one version byte followed by the state as JSON. JSON because it is the only
//! self-describing format this crate already depends on, and a snapshot is written rarely; the
//! version byte lets a later build switch formats and still read old snapshots.
//!
//! Two things are encoded by hand, below:
//! - [`DeployedProcess`]: only its [`ProcessRecord`] is stored; the executable graph is derived
//!   data and is rebuilt by parsing the resource again when the snapshot is read (the same thing
//!   replaying the `PROCESS CREATED` event does).
//! - [`DeployedDecisions`]: likewise, only its [`DecisionRequirementsRecord`]; the decisions are
//!   compiled again from the resource.
//! - [`ElementInstance`]: its join tokens are keyed by tuples, which JSON object keys cannot be,
//!   so they are stored as a list of entries.

use std::collections::{BTreeMap, BTreeSet};

use baton_model::{ElementIdx, FlowIdx};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::record::{DecisionRequirementsRecord, ProcessInstanceRecord, ProcessRecord};
use crate::state::{DeployedDecisions, DeployedProcess, ElementInstance, EventTrigger, LifecycleState, State};

/// The first byte of every snapshot this build writes.
const FORMAT_VERSION: u8 = 1;

/// Encodes `state` for a snapshot file.
pub fn encode(state: &State) -> Vec<u8> {
    let mut bytes = vec![FORMAT_VERSION];
    // Serializing plain data into a Vec cannot fail: every map key is a string or an integer.
    serde_json::to_writer(&mut bytes, state).expect("the state cannot be encoded as JSON. This is a bug.");
    bytes
}

/// Decodes a snapshot written by [`encode`], rebuilding every executable graph.
pub fn decode(bytes: &[u8]) -> Result<State, String> {
    let Some((&version, json)) = bytes.split_first() else {
        return Err("the snapshot is empty".to_string());
    };
    if version != FORMAT_VERSION {
        return Err(format!(
            "the snapshot has format version {version}, but this build only reads version {FORMAT_VERSION}"
        ));
    }
    serde_json::from_slice(json).map_err(|error| format!("the snapshot cannot be decoded: {error}"))
}

/// A map whose keys are not strings or numbers (JSON object keys cannot be tuples), stored as a
/// list of entries.
pub(crate) mod map_as_entries {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, K: Serialize, V: Serialize>(
        map: &BTreeMap<K, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter())
    }

    pub fn deserialize<'de, D, K, V>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        D: Deserializer<'de>,
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
    {
        Vec::<(K, V)>::deserialize(deserializer).map(|entries| entries.into_iter().collect())
    }
}

impl Serialize for DeployedProcess {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.record.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DeployedProcess {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let record = ProcessRecord::deserialize(deserializer)?;
        let definitions = baton_model::parse(&record.resource).map_err(|error| {
            serde::de::Error::custom(format!(
                "process {} (key {}) no longer parses: {error}",
                record.bpmn_process_id, record.process_definition_key
            ))
        })?;
        let graph = definitions.processes.into_iter().find(|p| p.id == record.bpmn_process_id).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "resource {} no longer contains process {}",
                record.resource_name, record.bpmn_process_id
            ))
        })?;
        Ok(DeployedProcess { record, graph })
    }
}

impl Serialize for DeployedDecisions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.record.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DeployedDecisions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let record = DecisionRequirementsRecord::deserialize(deserializer)?;
        let decisions = baton_feel::dmn::Decisions::parse(&record.resource).map_err(|error| {
            serde::de::Error::custom(format!(
                "decision requirements {} (key {}) no longer parse: {error}",
                record.metadata.decision_requirements_id, record.metadata.decision_requirements_key
            ))
        })?;
        Ok(DeployedDecisions { record, decisions })
    }
}

/// [`ElementInstance`] as stored: the same fields, join tokens as a list.
#[derive(Deserialize)]
struct StoredElementInstance {
    key: i64,
    state: LifecycleState,
    value: ProcessInstanceRecord,
    element_idx: ElementIdx,
    children: BTreeSet<i64>,
    active_flows: u32,
    join_tokens: Vec<(ElementIdx, FlowIdx, u32)>,
    job_key: i64,
    incident_key: i64,
    interrupted: bool,
    event_trigger: Option<EventTrigger>,
    #[serde(default)]
    listeners_done: u32,
}

/// The borrowed twin of [`StoredElementInstance`], so writing a snapshot copies nothing big.
#[derive(Serialize)]
struct StoredElementInstanceRef<'a> {
    key: i64,
    state: LifecycleState,
    value: &'a ProcessInstanceRecord,
    element_idx: ElementIdx,
    children: &'a BTreeSet<i64>,
    active_flows: u32,
    join_tokens: Vec<(ElementIdx, FlowIdx, u32)>,
    job_key: i64,
    incident_key: i64,
    interrupted: bool,
    event_trigger: &'a Option<EventTrigger>,
    listeners_done: u32,
}

impl Serialize for ElementInstance {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Destructured so that a new field does not compile until it is stored here too.
        let ElementInstance {
            key,
            state,
            value,
            element_idx,
            children,
            active_flows,
            join_tokens,
            job_key,
            incident_key,
            interrupted,
            event_trigger,
            listeners_done,
        } = self;
        StoredElementInstanceRef {
            key: *key,
            state: *state,
            value,
            element_idx: *element_idx,
            children,
            active_flows: *active_flows,
            join_tokens: join_tokens.iter().map(|(&(element, flow), &count)| (element, flow, count)).collect(),
            job_key: *job_key,
            incident_key: *incident_key,
            interrupted: *interrupted,
            event_trigger,
            listeners_done: *listeners_done,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ElementInstance {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = StoredElementInstance::deserialize(deserializer)?;
        Ok(ElementInstance {
            key: stored.key,
            state: stored.state,
            value: stored.value,
            element_idx: stored.element_idx,
            children: stored.children,
            active_flows: stored.active_flows,
            join_tokens: stored
                .join_tokens
                .into_iter()
                .map(|(element, flow, count)| ((element, flow), count))
                .collect::<BTreeMap<_, _>>(),
            job_key: stored.job_key,
            incident_key: stored.incident_key,
            interrupted: stored.interrupted,
            event_trigger: stored.event_trigger,
            listeners_done: stored.listeners_done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_state_round_trips() {
        let state = State::new(3);
        let decoded = decode(&encode(&state)).expect("decodes");
        assert_eq!(decoded, state);
        assert_eq!(decoded.last_position(), 0);
    }

    #[test]
    fn unknown_version_is_refused() {
        let mut bytes = encode(&State::new(1));
        bytes[0] = 99;
        let error = decode(&bytes).expect_err("must refuse");
        assert!(error.contains("format version 99"), "{error}");
    }
}
