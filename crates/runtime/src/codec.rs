//! The record codec: how a [`Record`] is stored as a log payload.
//!
//! A payload is one format byte followed by the record as MessagePack with field names
//! (`rmp_serde::encode::write_named`). Named fields keep the format self-describing, which
//! `serde_json::Value` in variable documents needs and which lets a later build add fields; the
//! format byte lets a later build change the encoding and still read old logs.

use baton_engine::Record;

/// The first byte of every payload this build writes.
const FORMAT_MSGPACK_NAMED: u8 = 1;

/// Appends the payload of `record` to `buffer` (reused across a batch to avoid allocations).
pub fn encode_into(record: &Record, buffer: &mut Vec<u8>) -> Result<(), String> {
    buffer.push(FORMAT_MSGPACK_NAMED);
    rmp_serde::encode::write_named(buffer, record)
        .map_err(|error| format!("cannot encode record at position {}: {error}", record.position))
}

/// Decodes a payload written by [`encode_into`].
pub fn decode(payload: &[u8]) -> Result<Record, String> {
    match payload.split_first() {
        Some((&FORMAT_MSGPACK_NAMED, body)) => {
            rmp_serde::from_slice(body).map_err(|error| format!("cannot decode record: {error}"))
        }
        Some((&other, _)) => {
            Err(format!("record has format {other}, but this build only reads format {FORMAT_MSGPACK_NAMED}"))
        }
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
    fn refuses_an_unknown_format() {
        let error = decode(&[9, 1, 2]).expect_err("must refuse");
        assert!(error.contains("format 9"), "{error}");
    }
}
