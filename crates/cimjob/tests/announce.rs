//! Nothing announced is lost: 20,000 `/bin/true` jobs submitted as fast as 16 clients can, and
//! one listener subscribed (CIM-XML CreateInstance in interop) to every CIM_InstModification
//! of a job hears every JobState change of every job, in order per job, with no gap in
//! SequenceNumber.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use cim::xml::{
    read_instance, read_message, write_export_response, IReturnValue, Instance, Limits, Message,
    ParamValue, Property, PropertyValue, Reply, Request,
};
use cim::{CimValue, ObjectPath};
use common::{Service, ADMIN_PASSWORD};

/// What the listener heard: (SequenceNumber, job, JobState before, JobState after).
type Heard = Arc<Mutex<Vec<(i64, String, u64, u64)>>>;

fn embedded(indication: &Instance, name: &str) -> Option<Instance> {
    match indication.value(name)? {
        PropertyValue::Instance(i) => Some((**i).clone()),
        PropertyValue::Cim(CimValue::String(text)) => read_instance(text, &Limits::DEFAULT).ok(),
        _ => None,
    }
}

fn number(instance: &Instance, name: &str) -> Option<i64> {
    match instance.value(name)?.as_cim()? {
        CimValue::SInt64(n) => Some(*n),
        CimValue::UInt16(n) => Some(i64::from(*n)),
        _ => None,
    }
}

async fn listen(heard: Heard) -> String {
    async fn export(State(heard): State<Heard>, body: Bytes) -> String {
        let Ok(Message::ExportRequest(request)) = read_message(&body, &Limits::DEFAULT) else {
            panic!("not an export request");
        };
        let indication = request.indication().expect("an indication").clone();
        let source = embedded(&indication, "SourceInstance").expect("SourceInstance");
        let previous = embedded(&indication, "PreviousInstance").expect("PreviousInstance");
        let job = match source.value("InstanceID").and_then(PropertyValue::as_cim) {
            Some(CimValue::String(id)) => id.clone(),
            other => panic!("InstanceID is {other:?}"),
        };
        heard.lock().unwrap().push((
            number(&indication, "SequenceNumber").expect("SequenceNumber"),
            job,
            number(&previous, "JobState").unwrap_or(0) as u64,
            number(&source, "JobState").unwrap_or(0) as u64,
        ));
        write_export_response(&request.ok_response())
    }
    let app = axum::Router::new()
        .route("/", axum::routing::post(export))
        .with_state(heard);
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await });
    url
}

/// CreateInstance of `instance` in root/interop; the new instance's path.
async fn create(http: &reqwest::Client, url: &str, instance: Instance) -> ObjectPath {
    let request = Request::intrinsic(
        "1",
        "root/interop",
        "CreateInstance",
        vec![(
            "NewInstance".into(),
            ParamValue::Instance(Box::new(instance)),
        )],
    );
    let mut post = http
        .post(format!("{url}/cimom"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .body(cim::xml::write_request(&request));
    for (name, value) in cim::xml::request_headers(&request) {
        post = post.header(name, value);
    }
    let body = post.send().await.unwrap().bytes().await.unwrap();
    match read_message(&body, &Limits::DEFAULT) {
        Ok(Message::Response(response)) => match response.reply {
            Reply::Intrinsic {
                result: Ok(result), ..
            } => match result.value {
                Some(IReturnValue::InstanceNames(mut names)) => {
                    let mut path = names.remove(0);
                    path.namespace = Some("root/interop".into());
                    path
                }
                other => panic!("CreateInstance answered {other:?}"),
            },
            other => panic!("CreateInstance failed: {other:?}"),
        },
        other => panic!("not a response: {other:?}"),
    }
}

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
