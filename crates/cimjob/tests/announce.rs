//! Nothing announced is lost: 20,000 `/bin/true` jobs submitted as fast as 16 clients can, and
//! one listener subscribed (CIM-XML CreateInstance in interop) to every CIM_InstModification
//! of a job hears every JobState change of every job, in order per job, with no gap in
//! SequenceNumber.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cim::xml::{Instance, Property};
use cim::CimValue;
use common::listener::{create, listen, Heard};
use common::{Service, ADMIN_PASSWORD};

#[test]
fn a_listener_hears_every_job_state_change_of_20000_jobs_in_order_with_no_gap() {
    let jobs = 20_000;
    let s = Service::start(&["--max-running", "2"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let heard: Heard = Arc::default();
    runtime.block_on(async {
        let listener = listen(heard.clone()).await;
        let http = reqwest::Client::new();
        let filter = create(
            &http,
            &s.url,
            Instance::new("CIM_IndicationFilter")
                .with_property(Property::new("Name", "every-job-change"))
                .with_property(Property::new("QueryLanguage", "DMTF:CQL"))
                .with_property(Property::new(
                    "Query",
                    "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob",
                )),
        )
        .await;
        let destination = create(
            &http,
            &s.url,
            Instance::new("CIM_ListenerDestinationCIMXML")
                .with_property(Property::new("Name", "listener"))
                .with_property(Property::new("Destination", listener.as_str())),
        )
        .await;
        create(
            &http,
            &s.url,
            Instance::new("CIM_IndicationSubscription")
                .with_property(Property::new("Filter", CimValue::Reference(filter)))
                .with_property(Property::new("Handler", CimValue::Reference(destination))),
        )
        .await;

        // 16 clients, each submitting its share as fast as it is answered
        let mut clients = Vec::new();
        for _ in 0..16 {
            let (http, url) = (http.clone(), s.url.clone());
            clients.push(tokio::spawn(async move {
                for _ in 0..jobs / 16 {
                    let answer = http
                        .post(format!("{url}/api/v1/jobs"))
                        .basic_auth("admin", Some(ADMIN_PASSWORD))
                        .json(&serde_json::json!({"properties": {"Name": "t", "CommandLine": ["/bin/true"]}}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(answer.status(), 201);
                }
            }));
        }
        for client in clients {
            client.await.unwrap();
        }
        // every job: New -> Starting -> Running -> Completed
        let expected = jobs * 3;
        for _ in 0..6_000 {
            let count = heard
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, _, before, after)| before != after)
                .count();
            if count >= expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });

    // (a copy: the listener may still be answering while this test fails)
    let heard = heard.lock().unwrap().clone();
    let numbers: Vec<i64> = heard.iter().map(|(n, ..)| *n).collect();
    assert_eq!(
        numbers,
        (0..heard.len() as i64).collect::<Vec<_>>(),
        "SequenceNumber 0, 1, 2… with no gap"
    );
    let mut per_job: HashMap<&str, Vec<(u64, u64)>> = HashMap::new();
    for (_, job, before, after) in heard.iter() {
        if before != after {
            per_job.entry(job).or_default().push((*before, *after));
        }
    }
    assert_eq!(per_job.len(), jobs, "every job was heard of");
    for (job, changes) in &per_job {
        assert_eq!(
            changes,
            &[(2, 3), (3, 4), (4, 7)],
            "{job}: every JobState change, in order"
        );
    }
}
