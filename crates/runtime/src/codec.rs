//! The record codec: how a [`Record`] is stored as a log payload.
//!
//! A payload is one format byte followed by the record as MessagePack. This build writes structs
//! as arrays (`rmp_serde::encode::write`): a record of the hot path is then well under half its
//! size with field names, and the log's bytes are what a durable partition syncs. MessagePack
//! stays self-describing for what needs it (`serde_json::Value` in variable documents), and a
//! field a later build appends with `#[serde(default)]` reads as its default from older logs.
//! Format 1 (structs as maps with field names) is still read, so logs written before stay
//! readable; the format byte lets a later build change the encoding again.

use baton_engine::Record;

/// Structs as maps with field names (written by earlier builds; still read).
const FORMAT_MSGPACK_NAMED: u8 = 1;
/// Structs as arrays: what this build writes.
const FORMAT_MSGPACK_COMPACT: u8 = 2;

/// Appends the payload of `record` to `buffer` (reused across a batch to avoid allocations).
pub fn encode_into(record: &Record, buffer: &mut Vec<u8>) -> Result<(), String> {
    buffer.push(FORMAT_MSGPACK_COMPACT);
    rmp_serde::encode::write(buffer, record)
        .map_err(|error| format!("cannot encode record at position {}: {error}", record.position))
}

/// Decodes a payload written by [`encode_into`] (or by an earlier build).
pub fn decode(payload: &[u8]) -> Result<Record, String> {
    match payload.split_first() {
        Some((&(FORMAT_MSGPACK_COMPACT | FORMAT_MSGPACK_NAMED), body)) => {
            rmp_serde::from_slice(body).map_err(|error| format!("cannot decode record: {error}"))
        }
        Some((&other, _)) => Err(format!(
            "record has format {other}, but this build only reads formats {FORMAT_MSGPACK_NAMED} and \
             {FORMAT_MSGPACK_COMPACT}"
        )),
        None => Err("record payload is empty".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_engine::{Intent, RecordType, RecordValue, VariableRecord};
    use serde_json::json;

    #[test]
    fn round_trips_a_record_with_json_values() {
        let record = Record {
            position: 7,
            source_position: 3,
            key: 42,
            timestamp_ms: 1_700_000_000_000,
            record_type: RecordType::Event,
            intent: Intent::Created,
            value: RecordValue::Variable(VariableRecord {
                name: "order".into(),
                value: json!({"id": 1, "items": [1.5, "two", null, true], "big": u64::MAX}),
                scope_key: 1,
                process_instance_key: 1,
                process_definition_key: 2,
                bpmn_process_id: "p".into(),
            }),
            request_id: Some(9),
            rejection: None,
        };
        let mut buffer = Vec::new();
        encode_into(&record, &mut buffer).expect("encodes");
        assert_eq!(decode(&buffer).expect("decodes"), record);
    }

    #[test]
    fn reads_records_written_with_field_names() {
        let record = Record {
            position: 1,
            source_position: 0,
            key: 5,
            timestamp_ms: 1_700_000_000_000,
            record_type: RecordType::Event,
            intent: Intent::Created,
            value: RecordValue::Variable(VariableRecord {
                name: "x".into(),
                value: json!({"nested": [1, 2.5]}),
                scope_key: 1,
                process_instance_key: 1,
                process_definition_key: 2,
                bpmn_process_id: "p".into(),
            }),
            request_id: None,
            rejection: None,
        };
        let mut named = vec![FORMAT_MSGPACK_NAMED];
        rmp_serde::encode::write_named(&mut named, &record).expect("encodes");
        assert_eq!(decode(&named).expect("decodes"), record);
        let mut compact = Vec::new();
        encode_into(&record, &mut compact).expect("encodes");
        assert!(compact.len() * 2 < named.len(), "{} bytes against {}", compact.len(), named.len());
    }

    #[test]
    fn refuses_an_unknown_format() {
        let error = decode(&[9, 1, 2]).expect_err("must refuse");
        assert!(error.contains("format 9"), "{error}");
    }
}
