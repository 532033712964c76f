//! Event-based gateway: the first of its catch events wins, the others are closed.

mod support;

use expect_test::expect;
use serde_json::json;
use support::*;

fn model() -> String {
    let timer = r#"<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>"#;
    let bpmn = Bpmn::process("p")
        .start("start")
        .element("eventBasedGateway", "wait", "", "")
        .element("intermediateCatchEvent", "paid", "", r#"<bpmn:messageEventDefinition messageRef="m"/>"#)
        .element("intermediateCatchEvent", "timeout", "", timer)
        .end("done")
        .end("cancelled")
        .chain(&["start", "wait", "paid", "done"])
        .chain(&["wait", "timeout", "cancelled"]);
    with_messages(&bpmn, &[("m", "payment-received", "=orderId")])
}

#[test]
fn the_message_wins_and_the_timer_is_canceled() {
    let mut t = TestEngine::new();
    assert_eq!(t.deploy(&model()).rejection, None);
    let pi = t.create("p", json!({"orderId": "o-1"}));
    assert_eq!(t.state().timers.len(), 1);
    assert_eq!(t.state().message_subscriptions.len(), 1);
    t.mark();
    t.publish("payment-received", "o-1", 0, "", json!({"amount": 10}));
    expect![[r#"
        C MESSAGE PUBLISH payment-received key="o-1" ttl=0 {"amount":10}
        E MESSAGE PUBLISHED payment-received key="o-1" ttl=0 {"amount":10}
        E MESSAGE_SUBSCRIPTION CORRELATED paid payment-received key="o-1" {"amount":10}
        E PROCESS_INSTANCE ELEMENT_COMPLETING EVENT_BASED_GATEWAY wait
        E TIMER CANCELED timeout due=1700003600000
        E PROCESS_INSTANCE ELEMENT_COMPLETED EVENT_BASED_GATEWAY wait
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_2
        E PROCESS_EVENT TRIGGERING paid {"amount":10}
        C PROCESS_INSTANCE ACTIVATE_ELEMENT INTERMEDIATE_CATCH_EVENT paid
        E MESSAGE EXPIRED payment-received key="o-1" ttl=0 {"amount":10}
        E PROCESS_INSTANCE ELEMENT_ACTIVATING INTERMEDIATE_CATCH_EVENT paid
        E PROCESS_INSTANCE ELEMENT_ACTIVATED INTERMEDIATE_CATCH_EVENT paid
        E PROCESS_EVENT TRIGGERED paid {"amount":10}
        E VARIABLE CREATED amount=10
        C PROCESS_INSTANCE COMPLETE_ELEMENT INTERMEDIATE_CATCH_EVENT paid
        E PROCESS_INSTANCE ELEMENT_COMPLETING INTERMEDIATE_CATCH_EVENT paid
        E PROCESS_INSTANCE ELEMENT_COMPLETED INTERMEDIATE_CATCH_EVENT paid
        E PROCESS_INSTANCE SEQUENCE_FLOW_TAKEN SEQUENCE_FLOW flow_3
        C PROCESS_INSTANCE ACTIVATE_ELEMENT END_EVENT done
        E PROCESS_INSTANCE ELEMENT_ACTIVATING END_EVENT done
        E PROCESS_INSTANCE ELEMENT_ACTIVATED END_EVENT done
        C PROCESS_INSTANCE COMPLETE_ELEMENT END_EVENT done
        E PROCESS_INSTANCE ELEMENT_COMPLETING END_EVENT done
        E PROCESS_INSTANCE ELEMENT_COMPLETED END_EVENT done
        C PROCESS_INSTANCE COMPLETE_ELEMENT PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETING PROCESS p
        E PROCESS_INSTANCE ELEMENT_COMPLETED PROCESS p
    "#]]
    .assert_eq(&t.rendered());
    assert!(t.is_completed(pi));
    assert_eq!(t.final_variables(pi)["amount"], json!(10));
    assert!(t.state().timers.is_empty());
}

#[test]
fn the_timer_wins_and_the_subscription_is_closed() {
    let mut t = TestEngine::new();
    assert_eq!(t.deploy(&model()).rejection, None);
    let pi = t.create("p", json!({"orderId": "o-1"}));
    t.advance(3_600_000);
    assert!(t.is_completed(pi));
    assert!(t.lifecycle().contains("ELEMENT_COMPLETED END_EVENT cancelled"));
    assert!(t.state().message_subscriptions.is_empty());
    t.publish("payment-received", "o-1", 0, "", json!({}));
    assert!(!t.lifecycle().contains("END_EVENT done"));
}

#[test]
fn an_event_based_gateway_must_lead_to_catch_events() {
    let mut t = TestEngine::new();
    let model = Bpmn::process("p")
        .start("start")
        .element("eventBasedGateway", "wait", "", "")
        .service("task", "x")
        .end("a")
        .chain(&["start", "wait", "task", "a"]);
    let reason = t.deploy(&model.xml()).rejection.expect("rejected").reason;
    assert!(reason.contains("element 'wait': an event-based gateway must have at least two outgoing"), "{reason}");
    assert!(reason.contains("must be unconditional and lead to an intermediate catch event"), "{reason}");
}
