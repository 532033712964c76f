//! Messages between partitions: a message lives on the partition of its correlation key, a
//! subscription on the partition of its instance; the two exchange commands (delivered here by
//! hand, as the runtime does once a batch is durable). Every command may arrive twice.

mod support;

use baton_engine::state::partition_of_correlation_key;
use baton_engine::*;
use expect_test::expect;
use serde_json::json;
use support::*;

/// Partitions of one node; `parts[0]` is partition 1.
struct Node {
    parts: Vec<TestEngine>,
}

impl Node {
    fn new(count: u32, xml: &str) -> Node {
        let mut parts: Vec<TestEngine> = (1..=count).map(|id| TestEngine::on_partition(id, count)).collect();
        for part in &mut parts {
            assert_eq!(part.deploy(xml).rejection, None, "deployment rejected");
            part.mark();
        }
        Node { parts }
    }

    fn p(&mut self, id: u32) -> &mut TestEngine {
        &mut self.parts[id as usize - 1]
    }

    /// Takes the commands sent between partitions, without delivering them.
    fn in_flight(&mut self) -> Vec<(u32, Command)> {
        self.parts.iter_mut().flat_map(|part| part.take_sent()).collect()
    }

    fn deliver(&mut self, sent: Vec<(u32, Command)>) {
        for (to, command) in sent {
            self.p(to).run(command);
        }
    }

    /// Delivers commands between partitions until none is left.
    fn settle(&mut self) {
        loop {
            let sent = self.in_flight();
            if sent.is_empty() {
                return;
            }
            self.deliver(sent);
        }
    }
}

/// A correlation key whose messages live on `partition` of 2.
fn key_on(partition: u32) -> String {
    (0..).map(|n| format!("order-{n}")).find(|k| partition_of_correlation_key(k, 2) == partition).unwrap()
}

fn catch_model() -> String {
    let model = Bpmn::process("p")
        .start("start")
        .element("intermediateCatchEvent", "wait", "", r#"<bpmn:messageEventDefinition messageRef="m"/>"#)
        .end("end")
        .chain(&["start", "wait", "end"]);
    with_messages(&model, &[("m", "paid", "=orderId")])
}

#[test]
fn a_message_on_another_partition_correlates_through_it() {
    let key = key_on(2);
    let mut node = Node::new(2, &catch_model());
    let pi = node.p(1).create("p", json!({ "orderId": key }));
    node.p(1).mark();
    node.settle();
    node.p(2).publish("paid", &key, 0, "", json!({"amount": 7}));
    node.settle();
    assert!(node.p(1).is_completed(pi));
    assert_eq!(node.p(1).final_variables(pi)["amount"], json!(7));
    // The message partition: the subscription's copy, the offer, the answer.
    expect![[r#"
        C MESSAGE_SUBSCRIPTION CREATE wait paid key="order-1"
        E MESSAGE_SUBSCRIPTION CREATED wait paid key="order-1"
        C MESSAGE PUBLISH paid key="order-1" ttl=0 {"amount":7}
        E MESSAGE PUBLISHED paid key="order-1" ttl=0 {"amount":7}
        E MESSAGE_SUBSCRIPTION CORRELATING wait paid key="order-1" {"amount":7}
        E MESSAGE EXPIRED paid key="order-1" ttl=0 {"amount":7}
        C MESSAGE_SUBSCRIPTION CORRELATE wait paid key="order-1" {"amount":7}
        E MESSAGE_SUBSCRIPTION CORRELATED wait paid key="order-1" {"amount":7}
    "#]]
    .assert_eq(&node.p(2).rendered());
    assert!(node.p(2).state().message_subscriptions.is_empty());
    assert!(node.p(2).state().correlating.is_empty());
    // The instance's partition: the offer is taken like a local message.
    expect![[r#"
        C PROCESS_MESSAGE_SUBSCRIPTION CORRELATE wait paid key="order-1" {"amount":7}
        E MESSAGE_SUBSCRIPTION CORRELATED wait paid key="order-1" {"amount":7}
        E VARIABLE CREATED amount=7
        C PROCESS_INSTANCE COMPLETE_ELEMENT INTERMEDIATE_CATCH_EVENT wait
        E PROCESS_MESSAGE_SUBSCRIPTION CORRELATED wait paid key="order-1" {"amount":7}
        E PROCESS_INSTANCE ELEMENT_COMPLETING INTERMEDIATE_CATCH_EVENT wait
        E PROCESS_INSTANCE ELEMENT_COMPLETED INTERMEDIATE_CATCH_EVENT wait
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_2
        C PROCESS_INSTANCE ACTIVATE_ELEMENT END_EVENT end
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT end
        C PROCESS_INSTANCE COMPLETE_ELEMENT END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT end
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT end
        C PROCESS_INSTANCE COMPLETE_ELEMENT PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p
        C PROCESS_MESSAGE_SUBSCRIPTION DELETE wait paid key="order-1" {"amount":7}
        E PROCESS_MESSAGE_SUBSCRIPTION DELETED wait paid key="order-1" {"amount":7}
    "#]]
    .assert_eq(&node.p(1).rendered());
    assert!(node.p(1).state().delivered.is_empty(), "forgotten once the message partition had the answer");
}

#[test]
fn a_buffered_message_is_offered_when_the_subscription_arrives() {
    let key = key_on(2);
    let mut node = Node::new(2, &catch_model());
    node.p(2).publish("paid", &key, 60_000, "", json!({"n": 1}));
    let pi = node.p(1).create("p", json!({ "orderId": key }));
    assert!(!node.p(1).is_completed(pi));
    node.settle();
    assert!(node.p(1).is_completed(pi));
    assert_eq!(node.p(1).final_variables(pi)["n"], json!(1));
    // Buffered, but taken once by process `p`: the next instance waits.
    let next = node.p(1).create("p", json!({ "orderId": key }));
    node.settle();
    assert!(!node.p(1).is_completed(next));
    assert_eq!(node.p(2).state().message_subscriptions.len(), 1);
}

#[test]
fn a_message_goes_to_one_instance_per_process() {
    let key = key_on(2);
    let mut node = Node::new(2, &catch_model());
    let first = node.p(1).create("p", json!({ "orderId": key }));
    let second = node.p(1).create("p", json!({ "orderId": key }));
    node.settle();
    node.p(2).publish("paid", &key, 0, "", json!({}));
    node.settle();
    assert!(node.p(1).is_completed(first));
    assert!(!node.p(1).is_completed(second));
    node.p(2).publish("paid", &key, 0, "", json!({}));
    node.settle();
    assert!(node.p(1).is_completed(second));
}

#[test]
fn a_rejected_offer_goes_to_the_next_subscription() {
    let key = key_on(2);
    let mut node = Node::new(2, &catch_model());
    let first = node.p(1).create("p", json!({ "orderId": key }));
    let second = node.p(1).create("p", json!({ "orderId": key }));
    node.settle();
    node.p(2).publish("paid", &key, 60_000, "", json!({}));
    let offer = node.in_flight();
    assert_eq!(offer.len(), 1, "one offer, to the first subscription");
    // The first instance is canceled while the offer travels.
    node.p(1).cancel(first);
    node.p(1).mark();
    node.deliver(offer);
    expect![[r#"
        C PROCESS_MESSAGE_SUBSCRIPTION CORRELATE wait paid key="order-1"
        R PROCESS_MESSAGE_SUBSCRIPTION CORRELATE wait paid key="order-1" !INVALID_STATE "Expected to correlate message '4503599627370499' to subscription '2251799813685256' of element 'wait', but the element no longer waits for it"
    "#]]
    .assert_eq(&node.p(1).rendered());
    node.settle();
    assert!(node.p(1).is_completed(second), "the message went to the other instance");
    assert!(node.p(2).state().correlating.is_empty());
    assert!(node.p(2).state().message_subscriptions.is_empty(), "both copies are gone");
}

#[test]
fn commands_sent_again_after_a_crash_are_carried_out_once() {
    let key = key_on(2);
    let mut node = Node::new(2, &catch_model());
    let pi = node.p(1).create("p", json!({ "orderId": key }));
    let create = node.in_flight();
    // The subscription's partition would send its copy again after a crash.
    assert_eq!(node.p(1).engine.pending_commands(), create);
    node.deliver(create.clone());
    node.deliver(create);
    assert_eq!(node.p(2).state().message_subscriptions.len(), 1);

    node.p(2).publish("paid", &key, 60_000, "", json!({"n": 1}));
    let offer = node.in_flight();
    assert_eq!(node.p(2).engine.pending_commands(), offer, "an unanswered offer is sent again");
    node.deliver(offer.clone());
    node.deliver(offer);
    let answers = node.in_flight();
    assert_eq!(answers.len(), 2, "both offers are answered");
    assert!(answers.iter().all(|(_, c)| c.intent == Intent::Correlate), "both as taken");
    node.deliver(answers);
    node.settle();
    assert!(node.p(1).is_completed(pi));
    let correlations =
        node.p(1).log.iter().filter(|r| r.intent == Intent::Correlated && r.record_type == RecordType::Event).count();
    assert_eq!(correlations, 2, "one MESSAGE_SUBSCRIPTION and one PROCESS_MESSAGE_SUBSCRIPTION CORRELATED");
    assert!(node.p(2).engine.pending_commands().is_empty());
    assert!(node.p(1).engine.pending_commands().is_empty());
}

#[test]
fn a_non_interrupting_boundary_event_takes_every_message_in_turn() {
    let key = key_on(2);
    let model = Bpmn::process("p")
        .start("start")
        .service("task", "work")
        .element(
            "boundaryEvent",
            "nudge",
            r#"attachedToRef="task" cancelActivity="false""#,
            r#"<bpmn:messageEventDefinition messageRef="m"/>"#,
        )
        .service("noted", "note")
        .end("end")
        .end("noted_end")
        .chain(&["start", "task", "end"])
        .chain(&["nudge", "noted", "noted_end"]);
    let xml = with_messages(&model, &[("m", "nudge", "=orderId")]);
    let mut node = Node::new(2, &xml);
    let pi = node.p(1).create("p", json!({ "orderId": key }));
    node.settle();
    for n in 0..3 {
        node.p(2).publish("nudge", &key, 60_000, "", json!({ "n": n }));
    }
    node.settle();
    let notes = node.p(1).activate("note", 10);
    assert_eq!(notes.len(), 3, "each message triggered the boundary event once");
    node.p(1).work("work", json!({}));
    node.settle();
    assert!(node.p(2).state().message_subscriptions.is_empty(), "closed with the task");
    for (job, _) in notes {
        node.p(1).complete(job, json!({}));
    }
    assert!(node.p(1).is_completed(pi));
}
